namespace Pipeline.Shared.Health;

/// <summary>
/// A readiness check that something else switches: an actor calls <see cref="MarkReady"/> once its resource is
/// usable (e.g. when the model load it piped to itself succeeded) and <see cref="MarkNotReady"/> when it is lost.
/// Starts not ready. Safe to switch from any thread.
/// </summary>
public sealed class ReadinessFlag(string name, string initialReason) : IReadinessCheck
{
    private volatile ReadinessCheckResult state = ReadinessCheckResult.NotReady(initialReason);

    public string Name => name;

    public bool IsReady => state.IsReady;

    public void MarkReady() => state = ReadinessCheckResult.Ready;

    public void MarkNotReady(string reason) => state = ReadinessCheckResult.NotReady(reason);

    public ValueTask<ReadinessCheckResult> CheckAsync(CancellationToken cancellation) => ValueTask.FromResult(state);
}
