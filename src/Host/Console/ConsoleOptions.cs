using Microsoft.Extensions.Options;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.OperatorConsole;

/// <summary>
/// The operator console on the training role's nodes (docs/console.md), from configuration section
/// <c>Pipeline:Console</c>. What it keeps is bounded: the newest <see cref="RecentAnomalies"/> anomalies, the newest
/// <see cref="ReviewQueue"/> good frames that scored near the threshold, the newest <see cref="RecentModelEvents"/>
/// model events; frame images are never kept (they are read from the frames topic when a page asks). Checked by the
/// rules on its settings, through the generated <see cref="ConsoleOptionsValidator"/>.
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
    [AtLeast(1, Note = "100 by default")]
    public int RecentAnomalies { get; set; } = 100;

    /// <summary>Good frames near the threshold the review queue holds (the newest).</summary>
    [AtLeast(0, Note = "0 turns the review queue off; 50 by default")]
    public int ReviewQueue { get; set; } = 50;

    /// <summary>A good frame enters the review queue when its score is at least this share of its threshold.</summary>
    [Between(0, 1, Note = "a share of the threshold; 0.5 by default")]
    public double ReviewScoreFraction { get; set; } = 0.5;

    /// <summary>Model events (published, rejected, adopted, ...) the models page holds (the newest).</summary>
    [AtLeast(1, Note = "100 by default")]
    public int RecentModelEvents { get; set; } = 100;

    /// <summary>The window over which frames/s and the anomaly rate per camera are computed, in seconds.</summary>
    [MoreThan(0, Note = "60 by default")]
    public double RateWindowSeconds { get; set; } = 60;

    /// <summary>How long a request for a frame image waits for the frames topic, in seconds.</summary>
    [MoreThan(0, Note = "5 by default")]
    public double FrameFetchTimeoutSeconds { get; set; } = 5;

    /// <summary>The consumer group <see cref="ConsumerGroup"/> names, or its default for <paramref name="framesGroup"/>.</summary>
    public string GroupFor(string framesGroup) => string.IsNullOrWhiteSpace(ConsumerGroup) ? $"{framesGroup.Trim()}-console" : ConsumerGroup.Trim();
}

/// <summary>Checks <see cref="ConsoleOptions"/> at start: generated from the rules on its settings.</summary>
[OptionsValidator]
public sealed partial class ConsoleOptionsValidator : IValidateOptions<ConsoleOptions>;
