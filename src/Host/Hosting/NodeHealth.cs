using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The node's health checks are ASP.NET Core health checks, registered through Akka.Hosting (its
/// <c>WithActorSystemLivenessCheck</c>, and <c>WithHealthCheck</c> for ours) and told apart by tag:
/// <c>/healthz</c> runs those tagged <see cref="Liveness"/>, <c>/readyz</c> those tagged <see cref="Readiness"/>.
/// </summary>
public static class NodeHealth
{
    /// <summary>Checks that fail when the process should be restarted (Akka.Hosting's own liveness tag).</summary>
    public const string Liveness = "liveness";

    /// <summary>Checks that fail while the node should not take work (Akka.Cluster.Hosting's own readiness tag).</summary>
    public const string Readiness = "ready";

    /// <summary>How long one check may take before it counts as failing; below the probes' timeouts (k8s/).</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a liveness check may take; below the liveness probe's 3 s timeout.</summary>
    public static readonly TimeSpan LivenessCheckTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Runs the readiness checks (what <c>/readyz</c> answers), e.g. to wait for a node in a demo or a test.</summary>
    public static Task<HealthReport> CheckReadinessAsync(this HealthCheckService health, CancellationToken cancellation = default) =>
        health.CheckHealthAsync(check => check.Tags.Contains(Readiness), cancellation);

    /// <summary>Runs the liveness checks (what <c>/healthz</c> answers).</summary>
    public static Task<HealthReport> CheckLivenessAsync(this HealthCheckService health, CancellationToken cancellation = default) =>
        health.CheckHealthAsync(check => check.Tags.Contains(Liveness), cancellation);

    /// <summary>The failing checks of <paramref name="report"/>, each with its reason: "name: reason; …".</summary>
    public static string Failing(this HealthReport report) =>
        string.Join("; ", FailingEntries(report).Select(check => $"{check.Name}: {check.Reason}"));

    internal static IEnumerable<(string Name, string? Reason)> FailingEntries(HealthReport report) =>
        report.Entries.Where(entry => entry.Value.Status != HealthStatus.Healthy)
            .OrderBy(entry => entry.Key, StringComparer.Ordinal)
            .Select(entry => (entry.Key, entry.Value.Description ?? entry.Value.Exception?.Message));

    internal static IEnumerable<string> PassingNames(HealthReport report) =>
        report.Entries.Where(entry => entry.Value.Status == HealthStatus.Healthy).Select(entry => entry.Key).Order(StringComparer.Ordinal);
}
