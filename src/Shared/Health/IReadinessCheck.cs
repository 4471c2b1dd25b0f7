namespace Pipeline.Shared.Health;

/// <summary>
/// One condition for this node to take work, asked on every <c>/readyz</c> probe: "model loaded" on a scoring
/// node, "Kafka reachable" on an ingest node. The node is ready when it is Up in the cluster and every
/// registered check says ready. Checks must answer quickly (they are given a few seconds) and must not throw
/// for an expected "not yet": return <see cref="ReadinessCheckResult.NotReady"/> with the reason instead.
/// </summary>
public interface IReadinessCheck
{
    /// <summary>Short, stable name shown in the probe's answer, e.g. <c>model-loaded</c>.</summary>
    string Name { get; }

    ValueTask<ReadinessCheckResult> CheckAsync(CancellationToken cancellation);
}

/// <summary>A check's answer: ready, or not ready with a reason an operator can act on.</summary>
public sealed record ReadinessCheckResult(bool IsReady, string? Reason)
{
    public static ReadinessCheckResult Ready { get; } = new(true, null);

    public static ReadinessCheckResult NotReady(string reason) => new(false, reason);
}
