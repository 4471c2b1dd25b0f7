using Pipeline.Shared.Health;

namespace Pipeline.Host.Hosting;

/// <summary>Asks every registered <see cref="IReadinessCheck"/> at once; a check that throws or does not answer in time fails.</summary>
public sealed class ReadinessProbe(IEnumerable<IReadinessCheck> checks)
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyList<IReadinessCheck> checks = checks.ToArray();

    public async Task<ReadinessReport> CheckAsync(CancellationToken cancellation)
    {
        var outcomes = await Task.WhenAll(checks.Select(check => RunAsync(check, cancellation)));
        return new ReadinessReport(outcomes);
    }

    private static async Task<ReadinessOutcome> RunAsync(IReadinessCheck check, CancellationToken cancellation)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(CheckTimeout);
        try
        {
            var result = await check.CheckAsync(deadline.Token);
            return new ReadinessOutcome(check.Name, result.IsReady, result.Reason);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return new ReadinessOutcome(check.Name, false, $"no answer within {CheckTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ReadinessOutcome(check.Name, false, $"{e.GetType().Name}: {e.Message}");
        }
    }
}

/// <summary>One check's answer in a readiness probe.</summary>
public sealed record ReadinessOutcome(string Name, bool IsReady, string? Reason);

/// <summary>The answers of all checks; the node is ready when every one is.</summary>
public sealed record ReadinessReport(IReadOnlyList<ReadinessOutcome> Checks)
{
    public bool IsReady => Checks.All(check => check.IsReady);

    public IEnumerable<ReadinessOutcome> Failing => Checks.Where(check => !check.IsReady);
}
