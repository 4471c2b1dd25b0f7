using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Demo;

/// <summary>What the streaming demo measured; written as JSON with <c>--json</c> (snake_case, documented in README.md).</summary>
public sealed record StreamingDemoSummary
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Frames the cameras sent (corrupt ones included).</summary>
    public int FramesSent { get; init; }

    public int CorruptFramesSent { get; init; }

    /// <summary>Messages on the results topic (a frame delivered twice counts twice).</summary>
    public int Results { get; init; }

    /// <summary>Frames with at least one result.</summary>
    public int DistinctFrameIds { get; init; }

    /// <summary>Frames on the anomalies topic.</summary>
    public int Anomalies { get; init; }

    /// <summary>Maps received on the anomaly-maps topic (distinct frame ids).</summary>
    public int AnomalyMaps { get; init; }

    /// <summary>Anomalies (distinct frame ids) whose event carries at least one region.</summary>
    public int AnomaliesWithRegions { get; init; }

    /// <summary>Frames on the dead-letter topic.</summary>
    public int DeadLettered { get; init; }

    /// <summary>Image-level AUROC of the streamed scores against the cameras' truth (0..1); null without both kinds of frames.</summary>
    public double? Auroc { get; init; }

    public int DefectsFlagged { get; init; }

    public int DefectiveFrames { get; init; }

    public int FalseAlarms { get; init; }

    public int GoodFrames { get; init; }

    public string ModelVersion { get; init; } = "";

    /// <summary>Results per second, from the first frame's capture to the last result's publication.</summary>
    public double FramesPerSecond { get; init; }

    /// <summary>The rate the cameras were asked to send at; 0 is as fast as possible.</summary>
    public double SendRateFramesPerSecond { get; init; }

    /// <summary>Frames per second of the model alone (with <c>--measure-bare-model</c>).</summary>
    public double? BareModelFramesPerSecond { get; init; }

    /// <summary>From <c>captured-at</c> to the result handed to Kafka, median.</summary>
    public double LatencyP50Ms { get; init; }

    public double LatencyP99Ms { get; init; }

    /// <summary>Model versions that scored frames, in order of first use (more than one when a refit swapped a new one in).</summary>
    public IReadOnlyList<string> ModelVersions { get; init; } = [];

    /// <summary>Frames scored by each version.</summary>
    public IReadOnlyDictionary<string, int> ResultsPerVersion { get; init; } = new Dictionary<string, int>();

    /// <summary>Longest time between two consecutive results (by publication time) in the whole run.</summary>
    public double LongestResultGapMs { get; init; }

    /// <summary>Longest time between the last result of a version and the first of the next (null: no swap).</summary>
    public double? LongestSwapGapMs { get; init; }

    /// <summary>Largest working set of the process while the frames streamed (sampled every 100 ms).</summary>
    public double PeakWorkingSetMb { get; init; }

    /// <summary>Working set of the process when the last result had come (the last 100 ms sample): what the serving setup holds once loads are done.</summary>
    public double EndWorkingSetMb { get; init; }

    /// <summary>Largest working set before a model was published mid-stream (<c>benchmark swap</c>); null otherwise.</summary>
    public double? PeakWorkingSetBeforeSwapMb { get; init; }

    /// <summary>With a separate scoring node (<c>benchmark swap --scoring-node separate</c>): its largest working set while the frames streamed; null otherwise.</summary>
    public double? ScoringNodePeakWorkingSetMb { get; init; }

    /// <summary>With a separate scoring node: its largest working set before a model was published mid-stream.</summary>
    public double? ScoringNodePeakWorkingSetBeforeSwapMb { get; init; }

    /// <summary>With <c>--products N</c> (N ≥ 2): the products streamed, in order; null (left out) for the single-product demo.</summary>
    public IReadOnlyList<string>? Products { get; init; }

    /// <summary>Frames with a result, per product the results name (<see cref="ProductFigures"/>); null for the single-product demo.</summary>
    public IReadOnlyDictionary<string, int>? ResultsPerProduct { get; init; }

    /// <summary>Image-level AUROC (0..1) of each product's results against the cameras' truth; null for the single-product demo.</summary>
    public IReadOnlyDictionary<string, double?>? AurocPerProduct { get; init; }

    /// <summary>The versions of each product's model that scored its frames, in order of first use; null for the single-product demo.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? ModelVersionsPerProduct { get; init; }

    /// <summary>Every frame has exactly one outcome: a result or a dead letter.</summary>
    [JsonIgnore]
    public bool Complete => DistinctFrameIds + DeadLettered == FramesSent;

    /// <summary>A summary <see cref="WriteJson"/> wrote (a child process's, for the benchmark that started it).</summary>
    public static StreamingDemoSummary ReadJson(string path) =>
        JsonSerializer.Deserialize<StreamingDemoSummary>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"'{path}' holds no demo summary.");

    public void WriteJson(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + Environment.NewLine);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"frames sent        {FramesSent} ({CorruptFramesSent} corrupt on purpose)");
        text.AppendLine(invariant, $"results            {Results} for {DistinctFrameIds} distinct frames");
        text.AppendLine(invariant, $"dead-lettered      {DeadLettered}");
        text.AppendLine(invariant, $"anomalies          {Anomalies}: {DefectsFlagged} of {DefectiveFrames} defective frames flagged, {FalseAlarms} false alarms on {GoodFrames} good frames");
        text.AppendLine(invariant, $"anomaly maps       {AnomalyMaps} on the maps topic; {AnomaliesWithRegions} anomalies with regions");
        text.AppendLine(Auroc is { } auroc ? string.Create(invariant, $"AUROC              {auroc * 100:0.0} % (streamed scores against the cameras' truth)") : "AUROC              n/a (needs good and defective frames)");
        text.AppendLine(invariant, $"throughput         {FramesPerSecond:0.0} frames/s{(BareModelFramesPerSecond is { } bare ? string.Create(invariant, $" (bare model {bare:0.0} frames/s: {FramesPerSecond / bare * 100:0} %)") : "")}");
        text.AppendLine(invariant, $"latency            p50 {LatencyP50Ms:0} ms, p99 {LatencyP99Ms:0} ms (captured-at to result)");
        text.AppendLine(invariant, $"model versions     {string.Join(" → ", ModelVersions.Select(v => $"{v} ({ResultsPerVersion.GetValueOrDefault(v)} frames)"))}");
        text.Append(invariant, $"result gaps        longest {LongestResultGapMs:0} ms{(LongestSwapGapMs is { } swap ? string.Create(invariant, $", at the swap {swap:0} ms") : "")}; peak memory {PeakWorkingSetMb:0} MB");
        if (Products is { } products)
        {
            text.Append(invariant, $"{Environment.NewLine}products           {string.Join(", ", products)}");
            foreach (var product in (ResultsPerProduct?.Keys ?? products).Union(products))
            {
                var productAuroc = AurocPerProduct?.GetValueOrDefault(product) is { } value ? string.Create(invariant, $"AUROC {value * 100:0.0} %") : "AUROC n/a";
                var versions = ModelVersionsPerProduct?.GetValueOrDefault(product) is { Count: > 0 } used ? string.Join(" → ", used) : "none";
                text.Append(invariant, $"{Environment.NewLine}  {product,-16} {ResultsPerProduct?.GetValueOrDefault(product) ?? 0} results, {productAuroc}, model versions {versions}");
            }
        }
        if (ScoringNodePeakWorkingSetMb is { } scoringPeak)
            text.Append(invariant, $"{Environment.NewLine}scoring node       peak memory {scoringPeak:0} MB{(ScoringNodePeakWorkingSetBeforeSwapMb is { } before ? string.Create(invariant, $" ({before:0} MB before the swap)") : "")}");
        return text.ToString();
    }
}
