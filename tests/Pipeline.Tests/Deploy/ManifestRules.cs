using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Pipeline.Host.Hosting;
using Pipeline.Ingest;
using Pipeline.Scoring;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Products;
using Pipeline.Shared.Kafka;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// Our rules for the rendered manifests, beyond the Kubernetes schemas (<see cref="KubernetesSchema"/>): what the
/// app needs to run (its settings, ports, probes, topics) and how we run it (non-root, limits, no secrets in files,
/// selectors that select, a network policy that lets through only what the pipeline needs, mutual TLS and access tokens
/// whose files come from where the settings say: ManifestRules.Security.cs). Each problem is one sentence naming the object.
/// </summary>
internal static partial class ManifestRules
{
    private const string PartOf = "app.kubernetes.io/part-of";
    private const string Component = "app.kubernetes.io/component";
    private const string PipelineLabel = "inspection-pipeline";
    private const string Gpu = "nvidia.com/gpu";

    /// <summary>The host allows this long for a graceful shutdown (.NET's default HostOptions.ShutdownTimeout); the pod must allow more.</summary>
    private static readonly TimeSpan HostShutdownTimeout = new HostOptions().ShutdownTimeout;

    /// <summary>A readiness check gets this long to answer (docs/operations.md); the probe must wait longer.</summary>
    private const int ReadinessCheckSeconds = 5;

    /// <summary>Configuration sections of the app and the options types they bind to.</summary>
    private static readonly Dictionary<string, Type> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        [ClusterOptions.Section] = typeof(ClusterOptions),
        [HttpOptions.Section] = typeof(HttpOptions),
        [KafkaOptions.SectionName] = typeof(KafkaOptions),
        [IngestOptions.Section] = typeof(IngestOptions),
        [ScoringOptions.SectionName] = typeof(ScoringOptions),
        [Pipeline.Training.ContinuousTrainingOptions.SectionName] = typeof(Pipeline.Training.ContinuousTrainingOptions),
    };

    /// <summary>Sections nested in one of <see cref="Sections"/>, bound to options types of their own.</summary>
    private static readonly Dictionary<string, Type> NestedSections = new(StringComparer.OrdinalIgnoreCase)
    {
        [Pipeline.Training.Refit.RefitOptions.SectionName] = typeof(Pipeline.Training.Refit.RefitOptions),
        [ClusterTlsOptions.Section] = typeof(ClusterTlsOptions),
        [HttpAuthOptions.Section] = typeof(HttpAuthOptions),
    };

    private static readonly string[] KafkaConnectionSettings =
        ["BootstrapServers", "SecurityProtocol", "SaslMechanism", "SaslUsername", "SaslPassword", "SslCaLocation"];

    /// <summary>Every problem of <paramref name="objects"/>, rendered from an overlay whose Kafka Secret holds <paramref name="kafkaSecret"/>.</summary>
    public static List<string> Check(IEnumerable<JsonObject> objects, IReadOnlyDictionary<string, string> kafkaSecret)
    {
        var problems = new List<string>();
        var typed = new List<object>();
        foreach (var obj in objects)
        {
            if (KubernetesSchema.Read(obj, out var problem) is { } model) typed.Add(model);
            else problems.Add(problem!);
        }

        var workloads = typed.Select(Workload.From).OfType<Workload>().ToList();
        var pipeline = workloads.Where(w => w.PodLabels.TryGetValue(PartOf, out var value) && value == PipelineLabel).ToList();
        if (pipeline.Count == 0) problems.Add($"no workload is labelled {PartOf}={PipelineLabel}.");

        foreach (var secret in typed.OfType<V1Secret>().Where(s => s.Data?.Count > 0 || s.StringData?.Count > 0))
            problems.Add($"Secret {secret.Metadata.Name} carries values in the manifests; create Secrets with kubectl (docs/deploy.md) and reference them.");

        foreach (var workload in workloads)
        {
            CheckSelectors(workload, problems);
            CheckPodSecurity(workload, problems);
            foreach (var container in workload.Pod.Containers ?? []) CheckContainer(workload, container, problems);
        }

        var roles = new Dictionary<string, List<Workload>>();
        var configs = new Dictionary<Workload, IReadOnlyDictionary<string, string?>>();
        foreach (var workload in pipeline)
        {
            var config = Configuration(workload, kafkaSecret, typed, problems);
            if (config is null) continue;
            configs[workload] = config;
            var role = Setting(config, ClusterOptions.Section, "Roles") ?? "";
            foreach (var single in role.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                (roles.TryGetValue(single, out var list) ? list : roles[single] = []).Add(workload);
            CheckSettings(workload, typed, problems);
            CheckRole(workload, role, config, problems);
            CheckPorts(workload, config, problems);
            CheckClusterFormation(workload, config, pipeline, typed, problems);
            CheckSecretsStaySecret(workload, problems);
            CheckAccessTokens(workload, role, config, typed, problems);
            CheckTheNodeAcceptsIt(workload, config, typed, problems);
        }
        CheckClusterTls(configs, typed, problems);

        foreach (var role in ClusterRoles.All.Where(role => !roles.ContainsKey(role)))
            problems.Add($"no workload has the role {role} (Pipeline__Cluster__Roles).");

        CheckServices(typed.OfType<V1Service>(), workloads, problems);
        CheckDisruptionBudgets(typed.OfType<V1PodDisruptionBudget>().ToList(), workloads, problems);
        CheckPodMonitors(typed.OfType<PodMonitor>(), pipeline, problems);
        CheckNetworkPolicy(typed.OfType<V1NetworkPolicy>().ToList(), pipeline, typed.OfType<KafkaTopic>().ToList(), kafkaSecret, problems);
        CheckKafka(typed, roles, kafkaSecret, problems);
        return problems;
    }

    // ---- labels and selectors ----

    private static void CheckSelectors(Workload workload, List<string> problems)
    {
        if (workload.Selector?.MatchExpressions?.Count > 0)
            problems.Add($"{workload}: use matchLabels only in its selector (the rules check those).");
        if (workload.Selector?.MatchLabels is not { Count: > 0 } selector)
            problems.Add($"{workload} has no selector labels.");
        else if (!Selects(selector, workload.PodLabels))
            problems.Add($"{workload}: its selector {Text(selector)} does not match its pod template's labels {Text(workload.PodLabels)}.");
    }

    private static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && labels is not null && selector.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);

    private static bool Selects(V1LabelSelector? selector, IDictionary<string, string>? labels) =>
        selector is { MatchExpressions: null or { Count: 0 } } && Selects(selector.MatchLabels, labels);

    // ---- security, resources, images ----

    private static void CheckPodSecurity(Workload workload, List<string> problems)
    {
        var pod = workload.Pod.SecurityContext;
        foreach (var container in workload.Pod.Containers ?? [])
        {
            var own = container.SecurityContext;
            if ((own?.RunAsNonRoot ?? pod?.RunAsNonRoot) != true)
                problems.Add($"{workload} container {container.Name}: set runAsNonRoot: true (pod or container securityContext).");
            if ((own?.RunAsUser ?? pod?.RunAsUser) is 0)
                problems.Add($"{workload} container {container.Name} runs as user 0.");
        }
        if (workload.Pod.HostNetwork == true || workload.Pod.HostPID == true || workload.Pod.HostIPC == true)
            problems.Add($"{workload} shares the node's network, PID or IPC namespace.");
        if (workload.Pod.TerminationGracePeriodSeconds is not { } grace || grace <= HostShutdownTimeout.TotalSeconds)
            problems.Add($"{workload}: terminationGracePeriodSeconds is {workload.Pod.TerminationGracePeriodSeconds?.ToString(CultureInfo.InvariantCulture) ?? "30 (default)"}; " +
                         $"the node takes up to {HostShutdownTimeout.TotalSeconds} s to leave the cluster gracefully, so allow more.");
    }

    private static void CheckContainer(Workload workload, V1Container container, List<string> problems)
    {
        var name = $"{workload} container {container.Name}";
        var (_, tag, digest) = ImageReference.Parse(container.Image ?? "");
        if (string.IsNullOrEmpty(container.Image)) problems.Add($"{name} has no image.");
        else if (tag == "latest") problems.Add($"{name} uses :latest ({container.Image}); pin a version.");
        else if (tag is null && digest is null) problems.Add($"{name}: image {container.Image} has no tag, which means :latest; pin a version.");

        var security = container.SecurityContext;
        if (security?.AllowPrivilegeEscalation != false) problems.Add($"{name}: set allowPrivilegeEscalation: false.");
        if (security?.Privileged == true) problems.Add($"{name} is privileged.");
        if (security?.ReadOnlyRootFilesystem != true) problems.Add($"{name}: set readOnlyRootFilesystem: true.");
        if (security?.Capabilities?.Drop?.Contains("ALL") != true) problems.Add($"{name}: drop ALL capabilities.");
        if (security?.ReadOnlyRootFilesystem == true && container.VolumeMounts?.Any(mount => mount.MountPath == "/tmp") != true)
            problems.Add($"{name} has a read-only root filesystem but no volume at /tmp, which .NET writes to.");

        var requests = container.Resources?.Requests ?? new Dictionary<string, ResourceQuantity>();
        var limits = container.Resources?.Limits ?? new Dictionary<string, ResourceQuantity>();
        foreach (var resource in new[] { "cpu", "memory" })
        {
            if (!requests.ContainsKey(resource)) problems.Add($"{name} requests no {resource}.");
            if (!limits.ContainsKey(resource)) problems.Add($"{name} has no {resource} limit.");
            if (requests.TryGetValue(resource, out var request) && limits.TryGetValue(resource, out var limit) && request.ToDecimal() > limit.ToDecimal())
                problems.Add($"{name} requests more {resource} ({request}) than its limit ({limit}).");
        }
        if (requests.TryGetValue(Gpu, out var gpuRequest) && (!limits.TryGetValue(Gpu, out var gpuLimit) || gpuRequest.ToDecimal() != gpuLimit.ToDecimal()))
            problems.Add($"{name}: GPUs are set as limits ({Gpu}); a request must equal the limit.");
    }

    // ---- the app's settings ----

    /// <summary>
    /// The pod's configuration as the node would read it: appsettings.json, then the environment: the ConfigMaps of
    /// <c>envFrom</c> (in the rendered objects), then <c>env</c>, which wins over them as in Kubernetes (the pod IP for
    /// status.podIP, a pod name for metadata.name, the overlay's Kafka Secret for secretKeyRef). Null when a required
    /// value cannot be had.
    /// </summary>
    private static Dictionary<string, string?>? Configuration(Workload workload, IReadOnlyDictionary<string, string> kafkaSecret, List<object> typed, List<string> problems)
    {
        var config = new Dictionary<string, string?>(DeployFiles.AppSettings, StringComparer.OrdinalIgnoreCase);
        foreach (var source in Node(workload).EnvFrom ?? [])
        {
            if (source.ConfigMapRef is not { } reference)
            {
                problems.Add($"{workload}: envFrom {JsonSerializer.Serialize(source)}; the rules know ConfigMaps of the manifests only.");
                return null;
            }

            var map = typed.OfType<V1ConfigMap>().FirstOrDefault(c => c.Metadata.Name == reference.Name && c.Metadata.NamespaceProperty == workload.Namespace);
            if (map is null)
            {
                if (reference.Optional == true) continue;
                problems.Add($"{workload}: envFrom ConfigMap {reference.Name} is in no manifest of namespace {workload.Namespace}; the pod would not start.");
                return null;
            }

            foreach (var (name, value) in map.Data ?? new Dictionary<string, string>())
                if (IsAppSetting(name)) config[name.Replace("__", ":")] = value;
        }

        foreach (var env in Node(workload).Env ?? [])
        {
            string? value;
            if (env.Name.Equals("Pipeline__Kafka__GroupInstanceId", StringComparison.OrdinalIgnoreCase) && env.ValueFrom?.FieldRef?.FieldPath != "metadata.name")
                problems.Add($"{workload}: Pipeline__Kafka__GroupInstanceId must be the pod's name (valueFrom fieldRef metadata.name); replicas that share a static member name fence each other out of the group.");
            if (env.ValueFrom?.FieldRef is { } field)
                value = field.FieldPath switch
                {
                    "status.podIP" => "10.1.2.3",
                    "metadata.name" => $"{workload.Name}-5f7c9d8b6-x2k4q",
                    _ => $"<{field.FieldPath}>",
                };
            else if (env.ValueFrom?.SecretKeyRef is { } reference)
            {
                if (reference.Name != "pipeline-kafka")
                {
                    problems.Add($"{workload}: {env.Name} comes from Secret {reference.Name}, which the deployment does not describe (docs/deploy.md).");
                    return null;
                }
                if (!kafkaSecret.TryGetValue(reference.Key, out value) && reference.Optional != true)
                {
                    problems.Add($"{workload}: {env.Name} needs key {reference.Key} of Secret {reference.Name}, which docs/deploy.md does not put there.");
                    return null;
                }
            }
            else if (env.ValueFrom is not null)
            {
                problems.Add($"{workload}: {env.Name} comes from {JsonSerializer.Serialize(env.ValueFrom)}; the rules know status.podIP, metadata.name and the Kafka Secret.");
                return null;
            }
            else value = env.Value;

            if (value is not null && IsAppSetting(env.Name)) config[env.Name.Replace("__", ":")] = value;
        }
        return config;
    }

    private static bool IsAppSetting(string name) =>
        name.StartsWith("Pipeline__", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase);

    /// <summary>The node's container: the one running <c>pipeline serve</c>.</summary>
    private static V1Container Node(Workload workload) => workload.Pod.Containers?.FirstOrDefault() ?? new V1Container { Name = "(none)" };

    private static string? Setting(IReadOnlyDictionary<string, string?> config, string section, string key) =>
        config.TryGetValue($"{section}:{key}", out var value) ? value : null;

    /// <summary>The setting's value, else the default of its options type.</summary>
    private static string EffectiveSetting<T>(IReadOnlyDictionary<string, string?> config, string section, string key, T defaults) =>
        Setting(config, section, key) ?? Convert.ToString(typeof(T).GetProperty(key)!.GetValue(defaults), CultureInfo.InvariantCulture)!;

    /// <summary>Every <c>Pipeline__…</c> variable (of <c>env</c>, or of an <c>envFrom</c> ConfigMap) names a setting the app reads, spelt with double underscores.</summary>
    private static void CheckSettings(Workload workload, List<object> typed, List<string> problems)
    {
        var fromConfigMaps = (Node(workload).EnvFrom ?? []).Select(source => source.ConfigMapRef?.Name)
            .SelectMany(name => typed.OfType<V1ConfigMap>().Where(c => c.Metadata.Name == name && c.Metadata.NamespaceProperty == workload.Namespace))
            .SelectMany(map => (map.Data ?? new Dictionary<string, string>()).Keys.Select(key => $"{key} (ConfigMap {map.Metadata.Name})"));
        foreach (var variable in (Node(workload).Env ?? []).Select(env => env.Name).Concat(fromConfigMaps))
        {
            var name = variable.Split(' ')[0];
            if (name.StartsWith("Pipeline", StringComparison.OrdinalIgnoreCase) && !name.StartsWith("Pipeline__", StringComparison.OrdinalIgnoreCase))
                problems.Add($"{workload}: {variable} is not read by the app; settings are Pipeline__Section__Key, with double underscores.");
            else if (name.StartsWith("Pipeline__", StringComparison.OrdinalIgnoreCase) && !IsKnownSetting(name.Replace("__", ":")))
                problems.Add($"{workload}: {variable} is not a setting the app reads (docs/operations.md lists them).");
        }
    }

    private static bool IsKnownSetting(string key)
    {
        // Pipeline:Products:<name>:Cameras[:<n>]: one section per product, named by the product.
        var product = key.Split(':');
        if (product.Length >= 4 && string.Equals($"{product[0]}:{product[1]}", ProductCatalog.Section, StringComparison.OrdinalIgnoreCase))
            return string.Equals(product[3], nameof(ProductOptions.Cameras), StringComparison.OrdinalIgnoreCase)
                   && (product.Length == 4 || (product.Length == 5 && int.TryParse(product[4], out _)));

        // Pipeline:Training:Refit:* belongs to RefitOptions, a section nested in the training role's; likewise
        // Pipeline:Cluster:Tls:* and Pipeline:Http:Auth:*.
        var parts = key.Split(':');
        if (parts.Length > 3 && NestedSections.TryGetValue(string.Join(':', parts[..3]), out var nested))
            return IsSettingOf(nested, parts[3..]);
        if (parts.Length < 3 || !Sections.TryGetValue($"{parts[0]}:{parts[1]}", out var type)) return false;
        return IsSettingOf(type, parts[2..]);
    }

    private static bool IsSettingOf(Type type, string[] path)
    {
        var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(p => p.CanWrite && string.Equals(p.Name, path[0], StringComparison.OrdinalIgnoreCase));
        if (property is null) return false;
        var rest = path[1..];
        var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>)) return rest.Length == 1;
        if (propertyType.IsArray) return rest.Length == 0 || (rest.Length == 1 && int.TryParse(rest[0], out _));
        if (propertyType == typeof(string) || propertyType.IsPrimitive || propertyType.IsEnum || propertyType == typeof(decimal)) return rest.Length == 0;
        return rest.Length > 0 && IsSettingOf(propertyType, rest);
    }

    /// <summary>What each role needs set, and how each role runs.</summary>
    private static void CheckRole(Workload workload, string role, IReadOnlyDictionary<string, string?> config, List<string> problems)
    {
        if (!ClusterRoles.All.Contains(role))
        {
            problems.Add($"{workload}: Pipeline__Cluster__Roles is '{role}'; each workload runs exactly one role of {string.Join(", ", ClusterRoles.All)}.");
            return;
        }
        if (!workload.PodLabels.TryGetValue(Component, out var component) || component != role)
            problems.Add($"{workload}: its pods run the role {role} but are labelled {Component}={component}.");

        var container = Node(workload);
        var gpus = container.Resources?.Limits?.TryGetValue(Gpu, out var gpu) == true ? gpu.ToDecimal() : 0;
        if (role is ClusterRoles.Ingest or ClusterRoles.Training && Setting(config, KafkaOptions.SectionName, "BootstrapServers") is null or "")
            problems.Add($"{workload}: the {role} role reads Kafka; set Pipeline__Kafka__BootstrapServers (from the Secret pipeline-kafka).");

        if (role == ClusterRoles.Scoring)
        {
            var device = EffectiveSetting(config, ScoringOptions.SectionName, "Device", new ScoringOptions());
            if (gpus > 0 && device is not ("cuda" or "auto"))
                problems.Add($"{workload} is given {gpus} GPU(s) but Pipeline__Scoring__Device is '{device}'; use cuda (one scorer per GPU).");
            if (gpus == 0 && device.StartsWith("cuda", StringComparison.Ordinal))
                problems.Add($"{workload}: Pipeline__Scoring__Device is '{device}' but the pod asks for no {Gpu}.");
            if (gpus > 0)
            {
                if (workload.Pod.NodeSelector is not { Count: > 0 } && workload.Pod.Affinity?.NodeAffinity is null)
                    problems.Add($"{workload} asks for GPUs but selects no nodes (nodeSelector or node affinity for GPU nodes).");
                if (workload.Pod.Tolerations?.Any(t => t.Key == Gpu && (t.OperatorProperty == "Exists" || t.Effect == "NoSchedule")) != true)
                    problems.Add($"{workload} asks for GPUs but has no toleration for the {Gpu} taint of GPU nodes.");
            }
        }
        else if (gpus > 0)
        {
            problems.Add($"{workload}: only scoring uses GPUs, but the {role} role asks for {gpus}.");
        }

        if (role == ClusterRoles.Training)
        {
            if (workload.StatefulSet is null || workload.Replicas != 1)
                problems.Add($"{workload}: training is one StatefulSet pod with its volume (it owns the model registry); it has kind {workload.Kind} and {workload.Replicas} replicas.");
            var claims = workload.StatefulSet?.VolumeClaimTemplates?.Select(claim => claim.Metadata.Name).ToHashSet() ?? [];
            foreach (var key in new[] { "RegistryPath", "SampleStorePath" })
            {
                var path = Setting(config, "Pipeline:Training", key);
                if (string.IsNullOrEmpty(path))
                    problems.Add($"{workload}: set Pipeline__Training__{key} (a directory on the training volume).");
                else if (!(container.VolumeMounts ?? []).Any(mount => claims.Contains(mount.Name) && IsUnder(path, mount.MountPath)))
                    problems.Add($"{workload}: Pipeline__Training__{key} is {path}, which is not on the pod's persistent volume.");
            }
        }
    }

    private static bool IsUnder(string path, string directory) =>
        path == directory || path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>Container ports named remoting, management and http carry the ports the node listens on; probes and scraping use them.</summary>
    private static void CheckPorts(Workload workload, IReadOnlyDictionary<string, string?> config, List<string> problems)
    {
        var container = Node(workload);
        var ports = (container.Ports ?? []).Where(p => p.Name is not null).ToDictionary(p => p.Name, p => p.ContainerPort);
        var cluster = new ClusterOptions();
        var expected = new Dictionary<string, (string Key, string Value)>
        {
            ["remoting"] = ("Pipeline__Cluster__Port", EffectiveSetting(config, ClusterOptions.Section, "Port", cluster)),
            ["http"] = ("Pipeline__Http__Port", EffectiveSetting(config, HttpOptions.Section, "Port", new HttpOptions())),
        };
        if (EffectiveSetting(config, ClusterOptions.Section, "Discovery", cluster) == ClusterOptions.KubernetesDiscovery)
            expected[ClusterOptions.ManagementPortName] = ("Pipeline__Cluster__ManagementPort", EffectiveSetting(config, ClusterOptions.Section, "ManagementPort", cluster));
        foreach (var (name, (key, value)) in expected)
        {
            if (!ports.TryGetValue(name, out var port))
                problems.Add($"{workload}: no container port named {name} (the node listens on {value}, {key}).");
            else if (port.ToString(CultureInfo.InvariantCulture) != value)
                problems.Add($"{workload}: container port {name} is {port} but the node listens on {value} ({key}).");
        }

        var http = ports.TryGetValue("http", out var httpPort) ? httpPort : -1;
        CheckProbe(workload, "liveness", container.LivenessProbe, "/healthz", http, ports, problems);
        CheckProbe(workload, "readiness", container.ReadinessProbe, "/readyz", http, ports, problems);
        if (container.StartupProbe is { } startup) CheckProbe(workload, "startup", startup, "/healthz", http, ports, problems);
        if (container.ReadinessProbe is { } readiness && (readiness.TimeoutSeconds ?? 1) <= ReadinessCheckSeconds)
            problems.Add($"{workload}: the readiness probe gives up after {readiness.TimeoutSeconds ?? 1} s, but a readiness check may take {ReadinessCheckSeconds} s to answer.");

        var annotations = workload.Template.Metadata?.Annotations ?? new Dictionary<string, string>();
        if (annotations.TryGetValue("prometheus.io/scrape", out var scrape) && scrape == "true")
        {
            if (!annotations.TryGetValue("prometheus.io/port", out var metricsPort) || metricsPort != http.ToString(CultureInfo.InvariantCulture))
                problems.Add($"{workload}: prometheus.io/port is {metricsPort ?? "unset"} but /metrics is on the http port {http}.");
            if (annotations.TryGetValue("prometheus.io/path", out var path) && path != "/metrics")
                problems.Add($"{workload}: prometheus.io/path is {path}; the node serves /metrics.");
        }
    }

    private static void CheckProbe(Workload workload, string kind, V1Probe? probe, string path, int httpPort, IReadOnlyDictionary<string, int> ports, List<string> problems)
    {
        if (probe?.HttpGet is not { } get)
        {
            problems.Add($"{workload}: no {kind} probe on {path} (the node's {kind} endpoint).");
            return;
        }
        if (get.Path != path) problems.Add($"{workload}: the {kind} probe asks {get.Path}; the node's {kind} endpoint is {path}.");
        var port = Resolve(get.Port, ports);
        if (port != httpPort) problems.Add($"{workload}: the {kind} probe goes to port {get.Port} ({port}), not to the http port {httpPort}.");
    }

    private static int? Resolve(IntOrString? port, IReadOnlyDictionary<string, int> named) => Resolve(port?.Value, named);

    private static int? Resolve(string? port, IReadOnlyDictionary<string, int> named) =>
        port is null ? null
        : int.TryParse(port, out var number) ? number
        : named.TryGetValue(port, out var byName) ? byName
        : null;

    // ---- cluster formation on Kubernetes ----

    private static void CheckClusterFormation(Workload workload, IReadOnlyDictionary<string, string?> config, List<Workload> pipeline, List<object> typed, List<string> problems)
    {
        var cluster = new ClusterOptions();
        if (EffectiveSetting(config, ClusterOptions.Section, "Discovery", cluster) != ClusterOptions.KubernetesDiscovery)
        {
            problems.Add($"{workload}: set Pipeline__Cluster__Discovery=kubernetes, so that the pods find each other.");
            return;
        }
        var publicHostname = Node(workload).Env?.FirstOrDefault(e => e.Name.Equals("Pipeline__Cluster__PublicHostname", StringComparison.OrdinalIgnoreCase));
        if (publicHostname?.ValueFrom?.FieldRef?.FieldPath != "status.podIP")
            problems.Add($"{workload}: Pipeline__Cluster__PublicHostname must be the pod's IP (valueFrom fieldRef status.podIP); cluster bootstrap finds pods by IP.");

        var selector = EffectiveSetting(config, ClusterOptions.Section, "KubernetesPodLabelSelector", cluster);
        var labels = selector.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(term => term.Split('=', 2))
            .ToArray();
        if (labels.Any(term => term.Length != 2))
            problems.Add($"{workload}: the rules read equality selectors only (key=value,…), not '{selector}'.");
        else
        {
            var wanted = labels.ToDictionary(term => term[0], term => term[1]);
            foreach (var other in pipeline.Where(other => !Selects(wanted, other.PodLabels)))
                problems.Add($"{workload} looks for its peers with [{selector}], which does not select the pods of {other}.");
        }

        if (string.IsNullOrEmpty(workload.Pod.ServiceAccountName) || workload.Pod.ServiceAccountName == "default")
            problems.Add($"{workload}: run as the pipeline's own service account (serviceAccountName), which may list pods.");
        else if (workload.Pod.AutomountServiceAccountToken == false)
            problems.Add($"{workload}: automountServiceAccountToken is false, but the node lists pods with that token.");
        else if (!MayListPods(workload.Pod.ServiceAccountName, workload.Namespace, typed))
            problems.Add($"{workload}: its service account {workload.Pod.ServiceAccountName} may not list pods in its namespace (Role and RoleBinding), which cluster bootstrap needs.");
    }

    private static bool MayListPods(string account, string? ns, List<object> typed) =>
        typed.OfType<V1ServiceAccount>().Any(sa => sa.Metadata.Name == account && sa.Metadata.NamespaceProperty == ns)
        && typed.OfType<V1RoleBinding>()
            .Where(binding => binding.Metadata.NamespaceProperty == ns && binding.RoleRef.Kind == "Role"
                              && (binding.Subjects ?? []).Any(s => s.Kind == "ServiceAccount" && s.Name == account && s.NamespaceProperty == ns))
            .Any(binding => typed.OfType<V1Role>().Any(role => role.Metadata.Name == binding.RoleRef.Name && role.Metadata.NamespaceProperty == ns
                && (role.Rules ?? []).Any(rule => (rule.ApiGroups ?? []).Contains("") && (rule.Resources ?? []).Contains("pods")
                                                  && (rule.Verbs ?? []).Contains("list") && (rule.Verbs ?? []).Contains("get"))));

    // ---- secrets ----

    private static void CheckSecretsStaySecret(Workload workload, List<string> problems)
    {
        foreach (var env in Node(workload).Env ?? [])
        {
            var kafkaConnection = KafkaConnectionSettings.Any(key => env.Name.Equals($"Pipeline__Kafka__{key}", StringComparison.OrdinalIgnoreCase));
            var secretLooking = new[] { "password", "secret", "token", "credential" }.Any(word => env.Name.Contains(word, StringComparison.OrdinalIgnoreCase));
            if ((kafkaConnection || secretLooking) && env.ValueFrom?.SecretKeyRef is null)
                problems.Add($"{workload}: {env.Name} must come from a Secret (valueFrom secretKeyRef), not from the manifest.");
        }
    }

    /// <summary>The node itself checks the configuration, as it does at start: building it must not fail.</summary>
    private static void CheckTheNodeAcceptsIt(Workload workload, IReadOnlyDictionary<string, string?> config, List<object> typed, List<string> problems)
    {
        using var volumes = new TempFolder();
        var standIns = new MountedFileStandIns(workload, typed, volumes.Path);
        var settings = config.ToDictionary(entry => entry.Key, entry => standIns.For(entry.Value));
        try
        {
            using var host = PipelineHost.CreateBuilder(new PipelineHostSettings { UseDefaultSources = false, Overrides = settings })
                .WithPipelineRoles()
                .Build(); // builds only: no actor system, no sockets
        }
        catch (Exception e) when (e is PipelineInputException or OptionsValidationException)
        {
            problems.Add($"{workload}: the node refuses its configuration: {e.Message}");
        }
    }

    // ---- services, budgets, monitors ----

    private static void CheckServices(IEnumerable<V1Service> services, List<Workload> workloads, List<string> problems)
    {
        foreach (var service in services)
        {
            var selected = workloads.Where(w => w.Namespace == service.Metadata.NamespaceProperty && Selects(service.Spec.Selector, w.PodLabels)).ToList();
            if (selected.Count == 0)
            {
                problems.Add($"Service {service.Metadata.Name}: its selector {Text(service.Spec.Selector)} selects no pods.");
                continue;
            }
            foreach (var port in service.Spec.Ports ?? [])
            {
                foreach (var workload in selected)
                {
                    var named = (Node(workload).Ports ?? []).Where(p => p.Name is not null).ToDictionary(p => p.Name, p => p.ContainerPort);
                    var target = Resolve(port.TargetPort?.Value ?? port.Port.ToString(CultureInfo.InvariantCulture), named);
                    if (target is null || !(Node(workload).Ports ?? []).Any(p => p.ContainerPort == target))
                        problems.Add($"Service {service.Metadata.Name}: port {port.Name} targets {port.TargetPort}, which {workload}'s container does not expose.");
                }
            }
        }
        foreach (var statefulSet in workloads.Where(w => w.StatefulSet is not null))
        {
            var governing = services.FirstOrDefault(s => s.Metadata.Name == statefulSet.StatefulSet!.ServiceName && s.Metadata.NamespaceProperty == statefulSet.Namespace);
            if (governing is null || governing.Spec.ClusterIP != "None" || !Selects(governing.Spec.Selector, statefulSet.PodLabels))
                problems.Add($"{statefulSet}: serviceName {statefulSet.StatefulSet!.ServiceName} must be a headless Service (clusterIP: None) selecting its pods, for their stable DNS names.");
        }
    }

    private static void CheckDisruptionBudgets(List<V1PodDisruptionBudget> budgets, List<Workload> workloads, List<string> problems)
    {
        foreach (var budget in budgets)
        {
            var selected = workloads.Where(w => w.Namespace == budget.Metadata.NamespaceProperty && Selects(budget.Spec.Selector, w.PodLabels)).ToList();
            if (selected.Count != 1)
                problems.Add($"PodDisruptionBudget {budget.Metadata.Name} selects {selected.Count} workloads; it should select one ({Text(budget.Spec.Selector?.MatchLabels)}).");
        }
        foreach (var workload in workloads.Where(w => w.Kind == "Deployment" && w.Replicas > 1))
        {
            if (!budgets.Any(b => b.Metadata.NamespaceProperty == workload.Namespace && Selects(b.Spec.Selector, workload.PodLabels)))
                problems.Add($"{workload} has {workload.Replicas} replicas but no PodDisruptionBudget, so a node drain may take them all at once.");
        }
    }

    private static void CheckPodMonitors(IEnumerable<PodMonitor> monitors, List<Workload> pipeline, List<string> problems)
    {
        foreach (var monitor in monitors)
        {
            var selected = pipeline.Where(w => Selects(monitor.Spec.Selector, w.PodLabels)).ToList();
            if (selected.Count != pipeline.Count)
                problems.Add($"PodMonitor {monitor.Metadata.Name} scrapes {selected.Count} of the {pipeline.Count} pipeline workloads.");
            foreach (var endpoint in monitor.Spec.PodMetricsEndpoints)
            {
                if (endpoint.Path is not (null or "/metrics")) problems.Add($"PodMonitor {monitor.Metadata.Name}: path {endpoint.Path}; the node serves /metrics.");
                foreach (var workload in selected.Where(w => !(Node(w).Ports ?? []).Any(p => p.Name == endpoint.Port)))
                    problems.Add($"PodMonitor {monitor.Metadata.Name}: port {endpoint.Port} is not a named port of {workload}.");
            }
        }
    }

    // ---- network policy ----

    private static void CheckNetworkPolicy(List<V1NetworkPolicy> policies, List<Workload> pipeline, List<KafkaTopic> topics, IReadOnlyDictionary<string, string> kafkaSecret, List<string> problems)
    {
        if (pipeline.Count == 0) return;
        var policy = policies.FirstOrDefault(p => pipeline.All(w => w.Namespace == p.Metadata.NamespaceProperty && Selects(p.Spec.PodSelector, w.PodLabels)));
        if (policy is null)
        {
            problems.Add("no NetworkPolicy selects every pipeline pod.");
            return;
        }
        var name = $"NetworkPolicy {policy.Metadata.Name}";
        if (!(policy.Spec.PolicyTypes ?? []).Contains("Ingress") || !(policy.Spec.PolicyTypes ?? []).Contains("Egress"))
            problems.Add($"{name} must restrict both Ingress and Egress (policyTypes).");

        var podPorts = pipeline.SelectMany(w => Node(w).Ports ?? []).Where(p => p.Name is not null)
            .GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First().ContainerPort);
        int? Port(V1NetworkPolicyPort port) => Resolve(port.Port, podPorts);
        bool IsPipeline(V1NetworkPolicyPeer peer) => peer.NamespaceSelector is null && peer.IpBlock is null && pipeline.All(w => Selects(peer.PodSelector, w.PodLabels));
        var nodePorts = new[] { "remoting", "management", "http" }.Where(podPorts.ContainsKey).Select(p => podPorts[p]).ToHashSet();

        var betweenPods = new HashSet<int>();
        foreach (var rule in policy.Spec.Ingress ?? [])
        {
            if (rule.FromProperty is not { Count: > 0 } from)
            {
                problems.Add($"{name} has an ingress rule without 'from', which lets any source in.");
                continue;
            }
            foreach (var peer in from.Where(peer => !IsPipeline(peer)))
            {
                var monitoring = peer.IpBlock is null && peer.NamespaceSelector?.MatchLabels is { Count: > 0 } && peer.PodSelector?.MatchLabels is { Count: > 0 };
                var onlyHttp = rule.Ports is { Count: > 0 } ports && ports.All(p => Port(p) == podPorts.GetValueOrDefault("http"));
                if (!monitoring || !onlyHttp)
                    problems.Add($"{name} lets in {JsonSerializer.Serialize(peer)}; only the pipeline's pods (and a named scraper, on the http port) may connect.");
            }
            if (from.Any(IsPipeline))
            {
                foreach (var port in (rule.Ports ?? []).Select(Port).OfType<int>()) betweenPods.Add(port);
            }
        }
        if (!nodePorts.IsSubsetOf(betweenPods))
            problems.Add($"{name} does not let the pipeline's pods reach each other on ports {string.Join(", ", nodePorts.Order())} (remoting, management, http).");

        var kafkaCluster = topics.Select(t => Label(t.Metadata.Labels, "strimzi.io/cluster")).FirstOrDefault();
        var kafkaNamespace = topics.Select(t => t.Metadata.NamespaceProperty).FirstOrDefault();
        var kafkaPort = kafkaSecret.TryGetValue("bootstrap.servers", out var servers) && int.TryParse(servers.Split(',')[0].Split(':')[^1], out var bootstrapPort) ? bootstrapPort : -1;
        var outToPods = new HashSet<int>();
        var reachesKafka = false;
        foreach (var rule in policy.Spec.Egress ?? [])
        {
            var ports = (rule.Ports ?? []).Select(Port).ToList();
            if (rule.To is not { Count: > 0 } to)
            {
                if (ports.Count == 0 || ports.Any(p => p is not (443 or 6443)))
                    problems.Add($"{name} has an egress rule to any destination on ports [{string.Join(", ", ports)}]; only the Kubernetes API's ports (443, 6443) may go anywhere.");
                continue;
            }
            foreach (var peer in to)
            {
                var peerNamespace = Label(peer.NamespaceSelector?.MatchLabels, "kubernetes.io/metadata.name");
                var peerPods = peer.PodSelector?.MatchLabels;
                if (IsPipeline(peer))
                {
                    foreach (var port in ports.OfType<int>()) outToPods.Add(port);
                }
                else if (peerNamespace is not null && peerNamespace == kafkaNamespace && Label(peerPods, "strimzi.io/cluster") == kafkaCluster)
                    reachesKafka |= ports.Contains(kafkaPort);
                else if (Label(peerPods, "k8s-app") == "kube-dns" && ports.Count > 0 && ports.All(p => p == 53))
                    continue;
                else
                    problems.Add($"{name} lets the pods out to {JsonSerializer.Serialize(peer)}; only to each other, the Kafka cluster {kafkaCluster} in {kafkaNamespace}, DNS and the Kubernetes API.");
            }
        }
        if (!nodePorts.IsSubsetOf(outToPods))
            problems.Add($"{name} does not let the pipeline's pods out to each other on ports {string.Join(", ", nodePorts.Order())}.");
        if (!reachesKafka)
            problems.Add($"{name} does not let the pods reach the brokers of the Kafka cluster {kafkaCluster} in namespace {kafkaNamespace} on port {kafkaPort} (bootstrap.servers {servers}).");
    }

    // ---- Kafka topics and user ----

    private static void CheckKafka(List<object> typed, Dictionary<string, List<Workload>> roles, IReadOnlyDictionary<string, string> kafkaSecret, List<string> problems)
    {
        var topics = typed.OfType<KafkaTopic>().ToList();
        var clusters = topics.Select(t => Label(t.Metadata.Labels, "strimzi.io/cluster")).Distinct().ToList();
        if (clusters.Count != 1 || clusters[0] is null)
            problems.Add($"every KafkaTopic must carry the same strimzi.io/cluster label; found {string.Join(", ", clusters.Select(c => c ?? "none"))}.");
        var cluster = clusters.FirstOrDefault();
        var ns = topics.Select(t => t.Metadata.NamespaceProperty).FirstOrDefault();
        if (kafkaSecret.TryGetValue("bootstrap.servers", out var servers) && !servers.StartsWith($"{cluster}-kafka-bootstrap.{ns}.", StringComparison.Ordinal))
            problems.Add($"the Kafka Secret's bootstrap.servers {servers} is not the bootstrap Service of the Strimzi cluster {cluster} in namespace {ns} that the topics are for.");

        var configs = roles.Values.SelectMany(w => w).Distinct()
            .Select(w => (Workload: w, Config: Configuration(w, kafkaSecret, typed, [])))
            .Where(entry => entry.Config is not null)
            .ToList();
        // Topic names as the roles read them: TopicNames' defaults, unless a pod renames them.
        var names = typeof(TopicNames).GetProperties().Where(p => p.PropertyType == typeof(string) && p.CanWrite)
            .ToDictionary(p => p.Name, p => (string)p.GetValue(new TopicNames())!);
        foreach (var key in names.Keys.ToArray())
        {
            var renamed = configs.Select(c => Setting(c.Config!, TopicNames.SectionName, key)).Where(v => v is not null).Distinct().ToList();
            if (renamed.Count > 1) problems.Add($"the pods disagree on the name of topic {key}: {string.Join(", ", renamed)}.");
            if (renamed.Count > 0) names[key] = renamed[0]!;
        }

        var byName = topics.GroupBy(t => t.TopicName).ToDictionary(g => g.Key, g => g.First());
        foreach (var (key, name) in names)
        {
            if (!byName.TryGetValue(name, out var topic))
            {
                problems.Add($"no KafkaTopic declares topic {name} (Pipeline:Kafka:Topics:{key}).");
                continue;
            }
            var minInSync = Number(topic, "min.insync.replicas");
            if (minInSync > topic.Spec.Replicas)
                problems.Add($"KafkaTopic {topic.Metadata.Name}: min.insync.replicas {minInSync} is more than its {topic.Spec.Replicas} replicas; producers with acks=all would fail.");
            if (topic.Spec.Partitions < 1 || topic.Spec.Replicas < 1)
                problems.Add($"KafkaTopic {topic.Metadata.Name} needs at least one partition and replica.");
            if (Text(topic, "compression.type") is not "producer")
                problems.Add($"KafkaTopic {topic.Metadata.Name} {(Text(topic, "compression.type") is { } codec ? $"has compression.type {codec}" : "sets no compression.type, so the broker's default applies")}; set producer, so that the topic keeps the codec of Pipeline:Kafka:Compression, which readers expect (docs/events.md).");
        }

        var maxMessageBytes = configs.Select(c => long.Parse(EffectiveSetting(c.Config!, KafkaOptions.SectionName, "MaxMessageBytes", new KafkaOptions()), CultureInfo.InvariantCulture)).DefaultIfEmpty(KafkaOptions.DefaultMaxMessageBytes).Max();
        foreach (var key in new[] { "Frames", "DeadLetter" })
        {
            if (byName.TryGetValue(names[key], out var topic) && (Number(topic, "max.message.bytes") ?? 1048588) < maxMessageBytes)
                problems.Add($"KafkaTopic {topic.Metadata.Name} allows messages of {Number(topic, "max.message.bytes") ?? 1048588} bytes (max.message.bytes), but frames may be {maxMessageBytes} (Pipeline:Kafka:MaxMessageBytes).");
        }

        if (byName.TryGetValue(names["Frames"], out var frames))
        {
            foreach (var ingest in roles.GetValueOrDefault(ClusterRoles.Ingest) ?? [])
                if (ingest.Replicas > frames.Spec.Partitions)
                    problems.Add($"{ingest} has {ingest.Replicas} replicas but topic {frames.TopicName} only {frames.Spec.Partitions} partitions; the extra consumers would sit idle.");
        }

        foreach (var user in typed.OfType<KafkaUser>())
        {
            var acls = user.Spec.Authorization?.Acls ?? [];
            bool Allows(string topicKey, string operation) => acls.Any(acl => acl.Resource.Type == "topic"
                && (acl.Resource.Name == names[topicKey] || acl.Resource.Name == "*") && acl.Operations.Contains(operation) && acl.Type is null or "allow");
            var needs = new (string Topic, string Operation)[]
            {
                ("Frames", "Read"), ("Results", "Write"), ("Anomalies", "Write"), ("DeadLetter", "Write"), ("Labels", "Read"), ("ModelEvents", "Write"),
                // the operator console on the training node (docs/console.md)
                ("Results", "Read"), ("Anomalies", "Read"), ("ModelEvents", "Read"), ("Labels", "Write"),
            };
            foreach (var (topic, operation) in needs.Where(need => !Allows(need.Topic, need.Operation)))
                problems.Add($"KafkaUser {user.Metadata.Name} may not {operation} topic {names[topic]}, which the pipeline does.");
            if (!acls.Any(acl => acl.Resource.Type == "group" && acl.Operations.Contains("Read")))
                problems.Add($"KafkaUser {user.Metadata.Name} may not read any consumer group; consumers commit in theirs.");
            if (user.Spec.Authentication?.Type is not ("scram-sha-512" or "tls" or "tls-external"))
                problems.Add($"KafkaUser {user.Metadata.Name}: authentication type {user.Spec.Authentication?.Type} is not one Strimzi knows.");
            if (kafkaSecret.TryGetValue("sasl.username", out var username) && username != user.Metadata.Name)
                problems.Add($"KafkaUser {user.Metadata.Name} is not the user the Kafka Secret logs in as ({username}).");
        }
    }

    private static long? Number(KafkaTopic topic, string key) =>
        topic.Spec.Config?.TryGetValue(key, out var value) == true
            ? value.ValueKind == JsonValueKind.Number ? value.GetInt64() : long.Parse(value.GetString()!, CultureInfo.InvariantCulture)
            : null;

    private static string? Text(KafkaTopic topic, string key) =>
        topic.Spec.Config?.TryGetValue(key, out var value) == true ? value.ToString() : null;

    private static string? Label(IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) ? value : null;

    private static string Text(IDictionary<string, string>? labels) =>
        labels is null ? "{}" : "{" + string.Join(", ", labels.Select(pair => $"{pair.Key}={pair.Value}")) + "}";

    private static string Text(V1LabelSelector? selector) => Text(selector?.MatchLabels);
}
