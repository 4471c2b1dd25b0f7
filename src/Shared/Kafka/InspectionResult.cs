using Pipeline.Shared.Maps;

namespace Pipeline.Shared.Kafka;

/// <summary>The model's decision on a frame.</summary>
public enum InspectionVerdict
{
    /// <summary>Score at or below the threshold.</summary>
    Good,

    /// <summary>Score above the threshold: a likely defect.</summary>
    Anomalous,
}

/// <summary>
/// The outcome of inspecting one frame, published to the results topic (and, when anomalous, to the
/// anomalies topic), keyed by camera id. JSON in snake_case through <see cref="InspectionEvents"/>;
/// the schema is in docs/events.md. Delivery is at least once: a consumer may see the same
/// <see cref="FrameId"/> twice and de-duplicates on it.
/// </summary>
public sealed record InspectionResult
{
    /// <summary>Version of this schema; readers refuse a newer one.</summary>
    /// <remarks>
    /// 2 added <see cref="Regions"/>; 3 added <see cref="Product"/>. Both additive: a reader of version 1 fields that
    /// ignores unknown ones reads version 3 unchanged.
    /// </remarks>
    public const int CurrentSchemaVersion = 3;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string FrameId { get; init; }

    public required string CameraId { get; init; }

    /// <summary>The frame's product (<c>default</c> in a deployment that configures none); <see cref="ModelVersion"/> is a version of its model.</summary>
    public string Product { get; init; } = Pipeline.Shared.Products.ProductName.Default;

    /// <summary>Anomaly score: the mean of z² over the views (higher is more anomalous).</summary>
    public required double Score { get; init; }

    /// <summary>The model's calibrated threshold; anomalous when <see cref="Score"/> is above it.</summary>
    public required double Threshold { get; init; }

    public required InspectionVerdict Verdict { get; init; }

    /// <summary>Version of the model of <see cref="Product"/> that scored the frame.</summary>
    public required string ModelVersion { get; init; }

    /// <summary>When the camera took the picture (frame header <c>captured-at</c>).</summary>
    public required DateTimeOffset CapturedAt { get; init; }

    /// <summary>When the pipeline read the frame from Kafka.</summary>
    public required DateTimeOffset IngestedAt { get; init; }

    /// <summary>When the score was computed.</summary>
    public required DateTimeOffset ScoredAt { get; init; }

    /// <summary>When the result was handed to the producer; absent when not recorded.</summary>
    public DateTimeOffset? PublishedAt { get; init; }

    /// <summary>Partition of the frame message in the frames topic.</summary>
    public required int SourcePartition { get; init; }

    /// <summary>Offset of the frame message in its partition.</summary>
    public required long SourceOffset { get; init; }

    /// <summary>
    /// Where the frame looks anomalous, when the scorer made its anomaly map (<c>Pipeline:Scoring:AnomalyMaps</c>): up to K
    /// boxes in the frame's own pixels, highest peak first; empty when no area is above the region level; absent
    /// without a map. The map itself goes to the anomaly-maps topic.
    /// </summary>
    public IReadOnlyList<AnomalyRegion>? Regions { get; init; }

    /// <summary>The verdict for <paramref name="score"/> against <paramref name="threshold"/>: anomalous above it.</summary>
    public static InspectionVerdict VerdictFor(double score, double threshold) =>
        score > threshold ? InspectionVerdict.Anomalous : InspectionVerdict.Good;
}
