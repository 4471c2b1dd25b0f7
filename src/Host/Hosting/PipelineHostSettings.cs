namespace Pipeline.Host.Hosting;

/// <summary>Where a <see cref="PipelineHostBuilder"/> reads its configuration from.</summary>
public sealed record PipelineHostSettings
{
    /// <summary>
    /// Read the .NET default sources: appsettings.json and appsettings.{Environment}.json next to the executable,
    /// then environment variables (<c>Pipeline__Cluster__Port</c>); and log to the console as the <c>Logging</c>
    /// section says. Tests turn this off to be independent of the machine they run on.
    /// </summary>
    public bool UseDefaultSources { get; init; } = true;

    /// <summary>Configuration values that win over every other source (the command line's options), by key such as <c>Pipeline:Cluster:Port</c>.</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();
}
