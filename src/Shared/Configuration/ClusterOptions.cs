namespace Pipeline.Shared.Configuration;

/// <summary>
/// How this node joins the Akka.NET cluster: its roles, where it listens, whom it asks to join, and how large
/// one remote message may be. Bound from the <c>Pipeline:Cluster</c> section (appsettings.json, environment
/// variables such as <c>Pipeline__Cluster__Port</c>, command-line overrides) and checked by
/// <see cref="ClusterOptionsValidator"/> before anything starts.
/// </summary>
/// <remarks>
/// The list settings (<see cref="Roles"/>, <see cref="SeedNodes"/>) take a JSON array or one comma-separated
/// value (<c>Pipeline__Cluster__Roles=ingest,scoring</c>), which replaces the whole list. They default to empty,
/// meaning "all roles" and "this node alone": the configuration binder appends to a list that already has
/// elements, so a default written into the list could never be replaced.
/// </remarks>
public sealed class ClusterOptions
{
    public const string Section = "Pipeline:Cluster";

    /// <summary>Bytes of one prepared frame at the largest input size: 448 × 448 pixels × 3 channels.</summary>
    public const int PreparedFrameBytes = 448 * 448 * 3;

    /// <summary>Room around one frame for the message envelope, its metadata and the transport's framing.</summary>
    public const int FrameOverheadBytes = 64 * 1024;

    /// <summary>The smallest <see cref="MaximumFrameSizeBytes"/> that still carries one prepared frame.</summary>
    public const long MinimumFrameSizeBytes = PreparedFrameBytes + FrameOverheadBytes;

    /// <summary>Split-brain strategy that keeps the side with more than half of the members (the default).</summary>
    public const string KeepMajority = "keep-majority";

    /// <summary>Split-brain strategy that keeps the side with the oldest member.</summary>
    public const string KeepOldest = "keep-oldest";

    /// <summary>Discovery by the configured <see cref="SeedNodes"/> (or none: a cluster of its own); the default.</summary>
    public const string SeedNodesDiscovery = "seed-nodes";

    /// <summary>
    /// Discovery through the Kubernetes API: Akka.Management's cluster bootstrap finds the pods that match
    /// <see cref="KubernetesPodLabelSelector"/> and probes their <see cref="ManagementPort"/>.
    /// </summary>
    public const string KubernetesDiscovery = "kubernetes";

    /// <summary>Name of the pods' container port that serves <see cref="ManagementPort"/>; cluster bootstrap looks for it.</summary>
    public const string ManagementPortName = "management";

    /// <summary>Roles of this node, a subset of <see cref="ClusterRoles.All"/>; empty means all of them.</summary>
    public string[] Roles { get; set; } = [];

    /// <summary>Address the remoting transport binds to.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Remoting TCP port; 0 lets the operating system pick a free one.</summary>
    public int Port { get; set; } = 4053;

    /// <summary>
    /// Address other nodes use to reach this one when it differs from <see cref="Hostname"/> (a pod IP or DNS
    /// name while binding to 0.0.0.0). Required when <see cref="Hostname"/> is a wildcard address.
    /// </summary>
    public string? PublicHostname { get; set; }

    /// <summary>
    /// Nodes to contact when joining, as <c>host:port</c> or <c>akka.tcp://system@host:port</c> (<c>akka.ssl.tcp://…</c>
    /// with <see cref="ClusterTlsOptions"/>); empty means this
    /// node forms a cluster of its own. Every node should list the same seeds in the same order.
    /// </summary>
    public string[] SeedNodes { get; set; } = [];

    /// <summary>Name of the actor system; nodes only join a cluster of the same name.</summary>
    public string ActorSystemName { get; set; } = "inspection";

    /// <summary>Largest remote message in bytes (Akka.Remote's maximum-frame-size); also the socket buffer size.</summary>
    public long MaximumFrameSizeBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How a network partition is resolved: <see cref="KeepMajority"/> or <see cref="KeepOldest"/>.</summary>
    public string SplitBrainStrategy { get; set; } = KeepMajority;

    /// <summary>How this node finds the others: <see cref="SeedNodesDiscovery"/> or <see cref="KubernetesDiscovery"/>.</summary>
    public string Discovery { get; set; } = SeedNodesDiscovery;

    /// <summary>
    /// Port of Akka.Management's HTTP endpoint, which cluster bootstrap probes on the other pods (Kubernetes discovery
    /// only; the container port named <see cref="ManagementPortName"/>).
    /// </summary>
    public int ManagementPort { get; set; } = 8558;

    /// <summary>Kubernetes label selector of every pod of this cluster, whatever its role (Kubernetes discovery only).</summary>
    public string KubernetesPodLabelSelector { get; set; } = "app.kubernetes.io/part-of=inspection-pipeline";

    /// <summary>
    /// Pods that discovery must see before the one with the lowest address forms a new cluster (Kubernetes discovery
    /// only). Nodes always join an existing cluster when one answers.
    /// </summary>
    public int RequiredContactPoints { get; set; } = 2;

    /// <summary>The roles this node takes: <see cref="Roles"/> without repeats, or all roles when none are set.</summary>
    public IReadOnlyList<string> ActiveRoles => Roles.Length == 0 ? ClusterRoles.All : Roles.Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>The address other nodes reach this node at (without the port when it is chosen at start).</summary>
    public string AdvertisedHostname => string.IsNullOrWhiteSpace(PublicHostname) ? Hostname : PublicHostname;

    /// <summary>
    /// <see cref="SeedNodes"/> as full Akka addresses (<c>akka.tcp://system@host:port</c>, or <c>akka.ssl.tcp://…</c> when
    /// remoting runs over <paramref name="tls"/>). Call after validation: an entry that is neither form is returned as it is.
    /// </summary>
    public IReadOnlyList<string> SeedNodeAddresses(bool tls = false) =>
        SeedNodes.Select(seed => SeedNode.TryParse(seed, out var parsed) ? parsed.ToAddress(ActorSystemName, tls) : seed).ToArray();
}
