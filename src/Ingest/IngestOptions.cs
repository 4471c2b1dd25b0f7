using Microsoft.Extensions.Options;
using Pipeline.Shared.Kafka;

namespace Pipeline.Ingest;

/// <summary>
/// How an ingest node reads and hands on frames; bound from <see cref="Section"/> (appsettings.json, environment
/// variables such as <c>Pipeline__Ingest__MaxInFlightFrames</c>). Checked by <see cref="Problems"/> before anything starts.
/// </summary>
public sealed class IngestOptions
{
    public const string Section = "Pipeline:Ingest";

    /// <summary>
    /// Frames read from Kafka whose result is not yet acknowledged, at most; at the limit the consumer pauses
    /// (backpressure) instead of buffering. Bounds the memory of a node: each frame holds its encoded bytes and
    /// its prepared image until it is done.
    /// </summary>
    public int MaxInFlightFrames { get; set; } = 64;

    /// <summary>
    /// Threads that decode and prepare frames, at most at once (<see cref="FrameDecodeWorkers"/>): threads of their own,
    /// never the thread pool the actors run on. One per processor core by default.
    /// </summary>
    public int DecodeWorkers { get; set; } = Environment.ProcessorCount;

    /// <summary>Largest encoded frame accepted; larger ones are dead-lettered as <c>oversized</c>.</summary>
    public int MaxFrameBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Largest decoded picture accepted (width × height); larger ones are dead-lettered as <c>oversized</c> before decoding.</summary>
    public long MaxImagePixels { get; set; } = 50_000_000;

    /// <summary>
    /// Largest key, <c>frame-id</c> and <c>camera-id</c> accepted, in bytes (UTF-8): every result and dead letter
    /// repeats them. Larger ones are dead-lettered as <c>invalid-header</c>, without the oversized value.
    /// </summary>
    public int MaxIdBytes { get; set; } = FrameHeaderLimits.DefaultMaxIdBytes;

    /// <summary>Largest value of any other header (and name of any header) accepted, in bytes; larger ones are dead-lettered likewise.</summary>
    public int MaxHeaderBytes { get; set; } = FrameHeaderLimits.DefaultMaxHeaderBytes;

    /// <summary>
    /// How often a frame is sent again after the model failed on its batch, before it is dead-lettered as
    /// <c>scoring-failed</c>. Frames interrupted by a scorer that stopped, or unanswered, are retried without limit:
    /// the frame is not at fault.
    /// </summary>
    public int MaxScoringAttempts { get; set; } = 3;

    /// <summary>How long a frame waits for its score before it is sent again (the scoring node may be gone).</summary>
    public int ScoringTimeoutMilliseconds { get; set; } = 30_000;

    /// <summary>Pause before a retry (scoring or publishing); doubles per attempt up to ten times this.</summary>
    public int RetryDelayMilliseconds { get; set; } = 500;

    /// <summary>The key and header limits as <see cref="FrameHeaders.Parse(Confluent.Kafka.Headers?, string?, FrameHeaderLimits)"/> takes them.</summary>
    public FrameHeaderLimits HeaderLimits => new(MaxIdBytes, MaxHeaderBytes);

    /// <summary>
    /// How long the frames consumer may read nothing while it holds partitions with frames waiting and has room for
    /// them (not held by scoring, below <see cref="MaxInFlightFrames"/>) before the node reports not ready
    /// (<c>/readyz</c> check <c>ingest</c>), so that an operator is told. 60 s by default.
    /// </summary>
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

    /// <summary>What is wrong with these options, one sentence each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MaxInFlightFrames < 1)
            problems.Add($"{Section}:MaxInFlightFrames is {MaxInFlightFrames}; use at least 1 (64 by default).");
        if (DecodeWorkers is < 1 or > 256)
            problems.Add($"{Section}:DecodeWorkers is {DecodeWorkers}; use 1 to 256 (one per processor core, {Environment.ProcessorCount} here, by default).");
        if (MaxFrameBytes < 1)
            problems.Add($"{Section}:MaxFrameBytes is {MaxFrameBytes}; use at least 1 (10 MiB by default).");
        if (MaxImagePixels < 1)
            problems.Add($"{Section}:MaxImagePixels is {MaxImagePixels}; use at least 1 (50 megapixels by default).");
        if (MaxIdBytes < 1)
            problems.Add($"{Section}:MaxIdBytes is {MaxIdBytes}; use at least 1 ({FrameHeaderLimits.DefaultMaxIdBytes} by default).");
        if (MaxHeaderBytes < 1)
            problems.Add($"{Section}:MaxHeaderBytes is {MaxHeaderBytes}; use at least 1 ({FrameHeaderLimits.DefaultMaxHeaderBytes} by default).");
        if (MaxScoringAttempts < 1)
            problems.Add($"{Section}:MaxScoringAttempts is {MaxScoringAttempts}; use at least 1.");
        if (ScoringTimeoutMilliseconds < 100)
            problems.Add($"{Section}:ScoringTimeoutMilliseconds is {ScoringTimeoutMilliseconds}; use at least 100 (a batch on a CPU takes seconds).");
        if (RetryDelayMilliseconds < 0)
            problems.Add($"{Section}:RetryDelayMilliseconds is {RetryDelayMilliseconds}; use 0 or more.");
        if (NotReadyAfterStalledSeconds < 1)
            problems.Add($"{Section}:NotReadyAfterStalledSeconds is {NotReadyAfterStalledSeconds}; use at least 1 (60 by default).");
        if (NotLiveAfterStalledSeconds < Math.Max(1, NotReadyAfterStalledSeconds))
            problems.Add($"{Section}:NotLiveAfterStalledSeconds is {NotLiveAfterStalledSeconds}; use at least {Section}:NotReadyAfterStalledSeconds ({NotReadyAfterStalledSeconds}), so that a stalled node is taken out of service before it is restarted (300 by default).");
        return problems;
    }

    /// <summary>These options when they are usable; otherwise an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public IngestOptions Validated()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new OptionsValidationException(Section, typeof(IngestOptions), problems);
    }
}

/// <summary>Checks <see cref="IngestOptions"/> at start.</summary>
public sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestOptions options)
    {
        var problems = options.Problems();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
