using Microsoft.Extensions.Options;

namespace Pipeline.Host.OperatorConsole;

/// <summary>
/// The operator console on the training role's nodes (docs/console.md), from configuration section
/// <c>Pipeline:Console</c>. What it keeps is bounded: the newest <see cref="RecentAnomalies"/> anomalies, the newest
/// <see cref="ReviewQueue"/> good frames that scored near the threshold, the newest <see cref="RecentModelEvents"/>
/// model events; frame images are never kept (they are read from the frames topic when a page asks).
/// </summary>
public sealed class ConsoleOptions
{
    public const string SectionName = "Pipeline:Console";

    /// <summary>Serve the console (the page, its feed and its label endpoint) on this node's HTTP port.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The console's own consumer group on the anomalies, results and model-events topics; default
    /// <c>&lt;Pipeline:Kafka:ConsumerGroup&gt;-console</c>. A new group starts at the earliest offsets.
    /// </summary>
    public string? ConsumerGroup { get; set; }

    /// <summary>Anomalies the live page holds (the newest).</summary>
    public int RecentAnomalies { get; set; } = 100;

    /// <summary>Good frames near the threshold the review queue holds (the newest).</summary>
    public int ReviewQueue { get; set; } = 50;

    /// <summary>A good frame enters the review queue when its score is at least this share of its threshold.</summary>
    public double ReviewScoreFraction { get; set; } = 0.5;

    /// <summary>Model events (published, rejected, adopted, ...) the models page holds (the newest).</summary>
    public int RecentModelEvents { get; set; } = 100;

    /// <summary>The window over which frames/s and the anomaly rate per camera are computed, in seconds.</summary>
    public double RateWindowSeconds { get; set; } = 60;

    /// <summary>How long a request for a frame image waits for the frames topic, in seconds.</summary>
    public double FrameFetchTimeoutSeconds { get; set; } = 5;

    /// <summary>The consumer group <see cref="ConsumerGroup"/> names, or its default for <paramref name="framesGroup"/>.</summary>
    public string GroupFor(string framesGroup) => string.IsNullOrWhiteSpace(ConsumerGroup) ? $"{framesGroup.Trim()}-console" : ConsumerGroup.Trim();
}

/// <summary>Checks <see cref="ConsoleOptions"/>, naming the bad key and its value.</summary>
public sealed class ConsoleOptionsValidator : IValidateOptions<ConsoleOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        string Key(string setting) => $"{ConsoleOptions.SectionName}:{setting}";
        var problems = new List<string>();
        if (options.RecentAnomalies < 1) problems.Add($"{Key(nameof(options.RecentAnomalies))} is {options.RecentAnomalies}; keep at least 1.");
        if (options.ReviewQueue < 0) problems.Add($"{Key(nameof(options.ReviewQueue))} is {options.ReviewQueue}; use 0 (no review queue) or more.");
        if (options.RecentModelEvents < 1) problems.Add($"{Key(nameof(options.RecentModelEvents))} is {options.RecentModelEvents}; keep at least 1.");
        if (options.ReviewScoreFraction is < 0 or > 1 || double.IsNaN(options.ReviewScoreFraction))
            problems.Add($"{Key(nameof(options.ReviewScoreFraction))} is {options.ReviewScoreFraction}; use a share of the threshold from 0 to 1.");
        if (!(options.RateWindowSeconds > 0)) problems.Add($"{Key(nameof(options.RateWindowSeconds))} is {options.RateWindowSeconds}; use more than 0 seconds.");
        if (!(options.FrameFetchTimeoutSeconds > 0)) problems.Add($"{Key(nameof(options.FrameFetchTimeoutSeconds))} is {options.FrameFetchTimeoutSeconds}; use more than 0 seconds.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
