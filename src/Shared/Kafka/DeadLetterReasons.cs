namespace Pipeline.Shared.Kafka;

/// <summary>
/// Machine codes for why a frame was dead-lettered (header <c>dead-letter-reason</c>); the human
/// explanation goes in <c>dead-letter-detail</c>. Stable: dashboards and replay tools match on them.
/// </summary>
public static class DeadLetterReasons
{
    /// <summary>The message has no key; the key must be the camera id.</summary>
    public const string MissingKey = "missing-key";

    /// <summary>A required header (frame-id, camera-id, captured-at, content-type) is absent or empty.</summary>
    public const string MissingHeader = "missing-header";

    /// <summary>A header's value is not UTF-8 text.</summary>
    public const string InvalidHeader = "invalid-header";

    /// <summary>The key and the camera-id header name different cameras.</summary>
    public const string CameraIdMismatch = "camera-id-mismatch";

    /// <summary>captured-at is neither ISO 8601 nor epoch milliseconds.</summary>
    public const string InvalidCapturedAt = "invalid-captured-at";

    /// <summary>The label header is present but not good or defect.</summary>
    public const string UnknownLabel = "unknown-label";

    /// <summary>content-type is not one of <see cref="FrameContentTypes"/>.</summary>
    public const string UnsupportedContentType = "unsupported-content-type";

    /// <summary>The value could not be decoded as an image of its content type.</summary>
    public const string UndecodableImage = "undecodable-image";

    /// <summary>The value or the decoded picture is larger than the configured maximum.</summary>
    public const string Oversized = "oversized";

    /// <summary>The model failed on every batch the frame was in, as often as the ingest options allow.</summary>
    public const string ScoringFailed = "scoring-failed";

    /// <summary>Scoring refused the prepared frame (it does not fit the model) as often as the ingest options allow.</summary>
    public const string ScoringRefused = "scoring-refused";

    /// <summary>The frame's product header names no product this deployment knows (not configured, no model in the registry) or is not a product name.</summary>
    public const string UnknownProduct = "unknown-product";

    /// <summary>The frame's product is known, but the registry has no current model for it yet (import its v1).</summary>
    public const string NoModelForProduct = "no-model-for-product";
}
