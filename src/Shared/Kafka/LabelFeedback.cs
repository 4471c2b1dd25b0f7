namespace Pipeline.Shared.Kafka;

/// <summary>
/// An operator's verdict on a frame, on the labels topic keyed by camera id; JSON through
/// <see cref="InspectionEvents"/> (docs/events.md). Used to collect good images for retraining and to
/// measure the live false-alarm rate.
/// </summary>
public sealed record LabelFeedback
{
    /// <summary>Version of this schema; readers refuse a newer one.</summary>
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string FrameId { get; init; }

    public required FrameLabel Label { get; init; }
}
