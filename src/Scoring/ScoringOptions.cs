using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Model;

namespace Pipeline.Scoring;

/// <summary>
/// How a scoring node runs its models; bound from the configuration section <see cref="SectionName"/>. Checked by the
/// rules on its settings, through the generated <see cref="ScoringOptionsValidator"/>.
/// </summary>
public sealed class ScoringOptions
{
    public const string SectionName = "Pipeline:Scoring";

    /// <summary>
    /// "auto" (every visible CUDA device, else the CPU), "cpu", "cuda" (every visible CUDA device) or "cuda:N"
    /// (that one). One scorer runs per CUDA device; on the CPU, <see cref="CpuWorkers"/> scorers.
    /// </summary>
    [Matches(@"auto|cpu|cuda|cuda:\d+", "use auto, cpu, cuda or cuda:N")]
    public string Device { get; set; } = "auto";

    /// <summary>CPU threads for tensor work, split evenly over the CPU scorers; null leaves libtorch's choice (all cores).</summary>
    [AtLeast(1, Note = "or leave it out for all cores")]
    public int? CpuThreads { get; set; }

    /// <summary>Scorers on the CPU (used when the device is the CPU). One, using all threads, batches best.</summary>
    [AtLeast(1, Note = "1 by default")]
    public int CpuWorkers { get; set; } = 1;

    /// <summary>
    /// Most views (frames × test views) of one product in one batch, and most views the backbone takes in one pass; a
    /// frame with more views is scored alone. A batch with frames of several products holds up to this many views of
    /// each, so every flow runs on full batches; the backbone goes over such a batch in passes of at most this size.
    /// </summary>
    [AtLeast(1, Note = "a frame's test views, or a multiple of them")]
    public int MaxBatchViews { get; set; } = 64;

    /// <summary>Longest a frame waits for a batch to fill while its device is idle.</summary>
    [AtLeast(0, Note = "0 waits not at all; 20 by default")]
    public int MaxWaitMilliseconds { get; set; } = 20;

    /// <summary>Frames a scorer keeps waiting; beyond this it answers <c>ScoringBusy</c> so the requester pauses.</summary>
    [AtLeast(1, Note = "256 by default")]
    public int MaxQueuedFrames { get; set; } = 256;

    /// <summary>
    /// The model artifact (a <c>.dnfm</c> file, or a folder holding <c>model.dnfm</c>) the scorers load at start. Without
    /// one they wait, not ready, for a model to be sent to them.
    /// </summary>
    [ModelArtifactPath(Note = "train one with `pipeline train`")]
    public string? ModelPath { get; set; }

    /// <summary>
    /// Unlabelled frames whose test-view features this node keeps, so that a label published later on the labels topic
    /// can still make them a training sample; 0 keeps none. Each costs views × 3 KB (16 views: 48 KB).
    /// </summary>
    [AtLeast(0, Note = "0 keeps none; 1000 by default")]
    public int RecentFeatureFrames { get; set; } = 1000;

    /// <summary>
    /// Off (null) by default. When set, unlabelled frames scored below this share of the threshold are taken as known
    /// good for refits. Risky: a slowly creeping defect can be learned as normal (docs/continuous-learning.md).
    /// </summary>
    [Between(0, 1, MinimumIsExclusive = true, MaximumIsExclusive = true, Note = "a share such as 0.3, or leave it out to accept only labelled frames")]
    public double? AutoAcceptBelowThresholdFraction { get; set; }

    /// <summary>How often a scoring node asks the training node which model version is current (besides hearing announcements).</summary>
    [Between(0, 3600, MinimumIsExclusive = true, Note = "5 by default")]
    public double ModelCheckSeconds { get; set; } = 5;

    /// <summary>
    /// Which frames get an anomaly map (docs/anomaly-maps.md): <c>anomalous</c> (frames over the threshold, the
    /// default), <c>all</c>, or <c>off</c>. A map costs about three scorings of its frame.
    /// </summary>
    [Matches("anomalous|all|off", "use anomalous (maps for frames over the threshold), all or off")]
    public string AnomalyMaps { get; set; } = "anomalous";

    /// <summary>
    /// Most scored frames that wait for their map on one device. A map costs about three scorings, so when many frames
    /// are anomalous (or <c>all</c> get maps) the maps can ask more of the device than it has; a frame scored while
    /// this many wait is answered at once without a map (its result has no regions), so results never fall behind the
    /// cameras because of maps. Counted in <c>pipeline_scoring_maps_skipped</c>.
    /// </summary>
    [AtLeast(0, Note = "0 answers every frame without waiting for a map; 4 by default")]
    public int MaxQueuedMaps { get; set; } = 4;

    /// <summary>Most regions a frame's result carries, highest peak first.</summary>
    [Between(0, 100, Note = "5 by default")]
    public int MaxRegions { get; set; } = 5;

    /// <summary>The map level above which an area is a region; null: the model's calibrated level (half of each map's peak for models without one).</summary>
    [AtLeast(0, Note = "leave it out for the model's calibrated level")]
    public double? RegionLevel { get; set; }

    /// <summary>Longer side of the grayscale map PNG published on the anomaly-maps topic, in pixels; the shorter follows the frame's aspect.</summary>
    [Between(8, 1024, Note = "64 pixels by default")]
    public int MapPngLongSide { get; set; } = 64;

    /// <summary>Whether a frame of this score against this threshold gets a map.</summary>
    public bool WantsMap(double score, double threshold) => AnomalyMaps.Trim().ToLowerInvariant() switch
    {
        "all" => true,
        "anomalous" => score > threshold,
        _ => false,
    };

    public TimeSpan MaxWait => TimeSpan.FromMilliseconds(MaxWaitMilliseconds);

    /// <summary>The model file <see cref="ModelPath"/> names: itself, or <c>model.dnfm</c> in it when it is a folder.</summary>
    public string? ModelFile => ModelPath is { } path && Directory.Exists(path) ? Path.Combine(path, Shared.Model.ModelArtifact.DefaultFileName) : ModelPath;

    /// <summary>Threads each CPU scorer asks libtorch for; null when <see cref="CpuThreads"/> is not set.</summary>
    public int? ThreadsPerCpuWorker => CpuThreads is { } threads ? Math.Max(1, threads / Math.Max(1, CpuWorkers)) : null;

    /// <summary>What is wrong with these options, one sentence each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems() =>
        new ScoringOptionsValidator().Validate(null, this) is { Failed: true, Failures: { } failures } ? [.. failures] : [];

    /// <summary>These options when they are usable; otherwise an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public ScoringOptions Validated()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new OptionsValidationException(SectionName, typeof(ScoringOptions), problems);
    }
}

/// <summary>Checks <see cref="ScoringOptions"/> at start: generated from the rules on its settings.</summary>
[OptionsValidator]
public sealed partial class ScoringOptionsValidator : IValidateOptions<ScoringOptions>;
