using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Pipeline.Scoring;

/// <summary>How a scoring node runs its models; bound from the configuration section <see cref="SectionName"/>.</summary>
public sealed partial class ScoringOptions
{
    public const string SectionName = "Pipeline:Scoring";

    /// <summary>
    /// "auto" (every visible CUDA device, else the CPU), "cpu", "cuda" (every visible CUDA device) or "cuda:N"
    /// (that one). One scorer runs per CUDA device; on the CPU, <see cref="CpuWorkers"/> scorers.
    /// </summary>
    public string Device { get; set; } = "auto";

    /// <summary>CPU threads for tensor work, split evenly over the CPU scorers; null leaves libtorch's choice (all cores).</summary>
    public int? CpuThreads { get; set; }

    /// <summary>Scorers on the CPU (used when the device is the CPU). One, using all threads, batches best.</summary>
    public int CpuWorkers { get; set; } = 1;

    /// <summary>Most views (frames × test views) in one batch; a frame with more views is scored alone.</summary>
    public int MaxBatchViews { get; set; } = 64;

    /// <summary>Longest a frame waits for a batch to fill while its device is idle.</summary>
    public int MaxWaitMilliseconds { get; set; } = 20;

    /// <summary>Frames a scorer keeps waiting; beyond this it answers <c>ScoringBusy</c> so the requester pauses.</summary>
    public int MaxQueuedFrames { get; set; } = 256;

    /// <summary>
    /// The model artifact (a <c>.dnfm</c> file, or a folder holding <c>model.dnfm</c>) the scorers load at start. Without
    /// one they wait, not ready, for a model to be sent to them.
    /// </summary>
    public string? ModelPath { get; set; }

    /// <summary>
    /// Unlabelled frames whose test-view features this node keeps, so that a label published later on the labels topic
    /// can still make them a training sample; 0 keeps none. Each costs views × 3 KB (16 views: 48 KB).
    /// </summary>
    public int RecentFeatureFrames { get; set; } = 1000;

    /// <summary>
    /// Off (null) by default. When set, unlabelled frames scored below this share of the threshold are taken as known
    /// good for refits. Risky: a slowly creeping defect can be learned as normal (docs/continuous-learning.md).
    /// </summary>
    public double? AutoAcceptBelowThresholdFraction { get; set; }

    /// <summary>How often a scoring node asks the training node which model version is current (besides hearing announcements).</summary>
    public double ModelCheckSeconds { get; set; } = 5;

    /// <summary>
    /// Which frames get an anomaly map (docs/anomaly-maps.md): <c>anomalous</c> (frames over the threshold, the
    /// default), <c>all</c>, or <c>off</c>. A map costs about three scorings of its frame.
    /// </summary>
    public string AnomalyMaps { get; set; } = "anomalous";

    /// <summary>Most regions a frame's result carries, highest peak first.</summary>
    public int MaxRegions { get; set; } = 5;

    /// <summary>The map level above which an area is a region; null: the model's calibrated level (half of each map's peak for models without one).</summary>
    public double? RegionLevel { get; set; }

    /// <summary>Longer side of the grayscale map PNG published on the anomaly-maps topic, in pixels; the shorter follows the frame's aspect.</summary>
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
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!DevicePattern().IsMatch(Device.Trim()))
            problems.Add($"{SectionName}:Device is '{Device}'; use auto, cpu, cuda or cuda:N.");
        if (CpuThreads is < 1)
            problems.Add($"{SectionName}:CpuThreads is {CpuThreads}; use at least 1, or leave it out for all cores.");
        if (CpuWorkers < 1)
            problems.Add($"{SectionName}:CpuWorkers is {CpuWorkers}; use at least 1.");
        if (MaxBatchViews < 1)
            problems.Add($"{SectionName}:MaxBatchViews is {MaxBatchViews}; use at least 1 (a frame's test views, or a multiple of them).");
        if (MaxWaitMilliseconds < 0)
            problems.Add($"{SectionName}:MaxWaitMilliseconds is {MaxWaitMilliseconds}; use 0 (no waiting) or more.");
        if (MaxQueuedFrames < 1)
            problems.Add($"{SectionName}:MaxQueuedFrames is {MaxQueuedFrames}; use at least 1.");
        if (RecentFeatureFrames < 0)
            problems.Add($"{SectionName}:RecentFeatureFrames is {RecentFeatureFrames}; use 0 (keep none) or more.");
        if (AutoAcceptBelowThresholdFraction is { } fraction && (fraction <= 0 || fraction >= 1 || !double.IsFinite(fraction)))
            problems.Add($"{SectionName}:AutoAcceptBelowThresholdFraction is {fraction}; use a share between 0 and 1 (such as 0.3), or leave it out to accept only labelled frames.");
        if (AnomalyMaps.Trim().ToLowerInvariant() is not ("anomalous" or "all" or "off"))
            problems.Add($"{SectionName}:AnomalyMaps is '{AnomalyMaps}'; use anomalous (maps for frames over the threshold), all or off.");
        if (MaxRegions is < 0 or > 100)
            problems.Add($"{SectionName}:MaxRegions is {MaxRegions}; use 0 to 100.");
        if (RegionLevel is { } level && (!double.IsFinite(level) || level < 0))
            problems.Add($"{SectionName}:RegionLevel is {level}; use a map value of 0 or more, or leave it out for the model's calibrated level.");
        if (MapPngLongSide is < 8 or > 1024)
            problems.Add($"{SectionName}:MapPngLongSide is {MapPngLongSide}; use 8 to 1024 pixels.");
        if (ModelCheckSeconds is <= 0 or > 3600 || !double.IsFinite(ModelCheckSeconds))
            problems.Add($"{SectionName}:ModelCheckSeconds is {ModelCheckSeconds}; use more than 0 and at most 3600.");
        if (ModelPath is { } path && !File.Exists(path) && !File.Exists(Path.Combine(path, Shared.Model.ModelArtifact.DefaultFileName)))
            problems.Add($"{SectionName}:ModelPath is '{path}', which is neither a model file nor a folder holding {Shared.Model.ModelArtifact.DefaultFileName}; train one with `pipeline train`.");
        return problems;
    }

    /// <summary>These options when they are usable; otherwise an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public ScoringOptions Validated()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new OptionsValidationException(SectionName, typeof(ScoringOptions), problems);
    }

    [GeneratedRegex(@"^(auto|cpu|cuda|cuda:\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex DevicePattern();
}

/// <summary>Checks <see cref="ScoringOptions"/> when they are first used (and at start with ValidateOnStart).</summary>
public sealed class ScoringOptionsValidator : IValidateOptions<ScoringOptions>
{
    public ValidateOptionsResult Validate(string? name, ScoringOptions options)
    {
        var problems = options.Problems();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
