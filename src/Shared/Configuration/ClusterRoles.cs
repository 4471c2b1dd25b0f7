namespace Pipeline.Shared.Configuration;

/// <summary>
/// The cluster roles a node can take; the only place their names are spelled. A node runs the actors of
/// each role it has (see <c>ClusterOptions.Roles</c>); one node may have all three.
/// </summary>
public static class ClusterRoles
{
    /// <summary>Consumes frames from Kafka, prepares them and hands them to scoring.</summary>
    public const string Ingest = "ingest";

    /// <summary>Runs the model on prepared frames and produces results to Kafka.</summary>
    public const string Scoring = "scoring";

    /// <summary>Fits new models beside the stream.</summary>
    public const string Training = "training";

    /// <summary>Every role, in the order data flows.</summary>
    public static IReadOnlyList<string> All { get; } = [Ingest, Scoring, Training];
}
