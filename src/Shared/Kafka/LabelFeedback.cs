namespace Pipeline.Shared.Kafka;

/// <summary>
/// An operator's verdict on a frame, on the labels topic keyed by camera id; JSON through
/// <see cref="InspectionEvents"/> (docs/events.md). Used to collect good images for retraining and to
/// measure the live false-alarm rate.
/// </summary>
public sealed record LabelFeedback
{
    /// <summary>Version of this schema; readers refuse a newer one.</summary>
    /// <remarks>2 added <see cref="Product"/> (additive).</remarks>
    public const int CurrentSchemaVersion = 2;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string FrameId { get; init; }

    public required FrameLabel Label { get; init; }

    /// <summary>The frame's product, as its result named it; absent in version 1 (then the product of the frame's features decides).</summary>
    public string? Product { get; init; }
}
