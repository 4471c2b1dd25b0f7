using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;

namespace Pipeline.Ingest;

/// <summary>
/// How an ingest node reads and hands on frames; bound from <see cref="Section"/> (appsettings.json, environment
/// variables such as <c>Pipeline__Ingest__MaxInFlightFrames</c>). Checked before anything starts by the rules on its
/// settings and <see cref="Validate(ValidationContext)"/> for the rule between two of them, through the generated
/// <see cref="IngestOptionsValidator"/>.
/// </summary>
public sealed class IngestOptions : IValidatableObject
{
    public const string Section = "Pipeline:Ingest";

    /// <summary>
    /// Frames read from Kafka whose result is not yet acknowledged, at most; at the limit the consumer pauses
    /// (backpressure) instead of buffering. Bounds the memory of a node: each frame holds its encoded bytes and
    /// its prepared image until it is done.
    /// </summary>
    [AtLeast(1, Note = "64 by default")]
    public int MaxInFlightFrames { get; set; } = 64;

    /// <summary>
    /// Threads that decode and prepare frames, at most at once (<see cref="FrameDecodeWorkers"/>): threads of their own,
    /// never the thread pool the actors run on. One per processor core by default.
    /// </summary>
    [Between(1, 256, Note = "one per processor core by default")]
    public int DecodeWorkers { get; set; } = Environment.ProcessorCount;

    /// <summary>Largest encoded frame accepted; larger ones are dead-lettered as <c>oversized</c>.</summary>
    [AtLeast(1, Note = "10 MiB by default")]
    public int MaxFrameBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Largest decoded picture accepted (width × height); larger ones are dead-lettered as <c>oversized</c> before decoding.</summary>
    [AtLeast(1, Note = "50 megapixels by default")]
    public long MaxImagePixels { get; set; } = 50_000_000;

    /// <summary>
    /// Largest key, <c>frame-id</c> and <c>camera-id</c> accepted, in bytes (UTF-8): every result and dead letter
    /// repeats them. Larger ones are dead-lettered as <c>invalid-header</c>, without the oversized value.
    /// </summary>
    [AtLeast(1, Note = "256 by default")]
    public int MaxIdBytes { get; set; } = FrameHeaderLimits.DefaultMaxIdBytes;

    /// <summary>Largest value of any other header (and name of any header) accepted, in bytes; larger ones are dead-lettered likewise.</summary>
    [AtLeast(1, Note = "8192 by default")]
    public int MaxHeaderBytes { get; set; } = FrameHeaderLimits.DefaultMaxHeaderBytes;

    /// <summary>
    /// How often a frame is sent again after the model failed on its batch, before it is dead-lettered as
    /// <c>scoring-failed</c>. Frames interrupted by a scorer that stopped, or unanswered, are retried without limit:
    /// the frame is not at fault.
    /// </summary>
    [AtLeast(1, Note = "3 by default")]
    public int MaxScoringAttempts { get; set; } = 3;

    /// <summary>How long a frame waits for its score before it is sent again (the scoring node may be gone).</summary>
    [AtLeast(100, Note = "a batch on a CPU takes seconds")]
    public int ScoringTimeoutMilliseconds { get; set; } = 30_000;

    /// <summary>Pause before a retry (scoring or publishing); doubles per attempt up to ten times this.</summary>
    [AtLeast(0, Note = "500 by default")]
    public int RetryDelayMilliseconds { get; set; } = 500;

    /// <summary>The key and header limits as <see cref="FrameHeaders.Parse(Confluent.Kafka.Headers?, string?, FrameHeaderLimits)"/> takes them.</summary>
    public FrameHeaderLimits HeaderLimits => new(MaxIdBytes, MaxHeaderBytes);

    /// <summary>
    /// How long the frames consumer may read nothing while it holds partitions with frames waiting and has room for
    /// them (not held by scoring, below <see cref="MaxInFlightFrames"/>) before the node reports not ready
    /// (<c>/readyz</c> check <c>ingest</c>), so that an operator is told. 60 s by default.
    /// </summary>
    [AtLeast(1, Note = "60 by default")]
    public int NotReadyAfterStalledSeconds { get; set; } = 60;

    /// <summary>
    /// How long such a stall may last before the node reports not live (<c>/healthz</c> check
    /// <c>ingest-consuming</c>), so that Kubernetes restarts it; not while the brokers are unreachable, which a
    /// restart would not mend. At least <see cref="NotReadyAfterStalledSeconds"/>; 300 s (5 min) by default.
    /// </summary>
    public int NotLiveAfterStalledSeconds { get; set; } = 300;

    public TimeSpan NotReadyAfterStalled => TimeSpan.FromSeconds(NotReadyAfterStalledSeconds);

    public TimeSpan NotLiveAfterStalled => TimeSpan.FromSeconds(NotLiveAfterStalledSeconds);

    public TimeSpan ScoringTimeout => TimeSpan.FromMilliseconds(ScoringTimeoutMilliseconds);

    public TimeSpan RetryDelay => TimeSpan.FromMilliseconds(RetryDelayMilliseconds);

    /// <summary>The pause before retry number <paramref name="attempt"/> (1 for the first retry).</summary>
    public TimeSpan RetryDelayFor(int attempt) =>
        TimeSpan.FromMilliseconds(RetryDelayMilliseconds * Math.Min(10, Math.Pow(2, Math.Max(0, attempt - 1))));

    /// <summary>The rule between two settings, which no attribute on one of them can say.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (NotLiveAfterStalledSeconds < Math.Max(1, NotReadyAfterStalledSeconds))
            yield return new ValidationResult($"{Section}:NotLiveAfterStalledSeconds is {NotLiveAfterStalledSeconds}; use at least {Section}:NotReadyAfterStalledSeconds ({NotReadyAfterStalledSeconds}), so that a stalled node is taken out of service before it is restarted (300 by default).");
    }

    /// <summary>What is wrong with these options, one sentence each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems() =>
        new IngestOptionsValidator().Validate(null, this) is { Failed: true, Failures: { } failures } ? [.. failures] : [];

    /// <summary>These options when they are usable; otherwise an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public IngestOptions Validated()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new OptionsValidationException(Section, typeof(IngestOptions), problems);
    }
}

/// <summary>Checks <see cref="IngestOptions"/> at start: generated from the rules on its settings.</summary>
[OptionsValidator]
public sealed partial class IngestOptionsValidator : IValidateOptions<IngestOptions>;
