namespace Pipeline.Host.Hosting;

/// <summary>
/// Entry point for a cluster node: <c>PipelineHost.CreateBuilder(settings)</c>, add role actors and readiness
/// checks to the <see cref="PipelineHostBuilder"/>, <c>Build()</c>, run.
/// </summary>
public static class PipelineHost
{
    public static PipelineHostBuilder CreateBuilder(PipelineHostSettings? settings = null) => new(settings ?? new PipelineHostSettings());
}
