using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>An event read from Kafka is not valid JSON of its contract, or has a schema version this build does not read.</summary>
public sealed class EventFormatException : PipelineInputException
{
    public EventFormatException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The one place where the pipeline's JSON events (<see cref="InspectionResult"/>,
/// <see cref="LabelFeedback"/>, <see cref="ModelEvent"/>) are written and read: snake_case, enums as snake_case text, times as
/// ISO 8601, and a <c>schema_version</c> a reader checks before anything else.
/// </summary>
public static partial class InspectionEvents
{
    /// <summary>Content type of the JSON events, in their <c>content-type</c> header.</summary>
    public const string JsonContentType = "application/json";

    private const string SchemaVersionProperty = "schema_version";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectNullableAnnotations = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    public static byte[] Serialize(InspectionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!double.IsFinite(result.Score) || !double.IsFinite(result.Threshold))
        {
            throw new ArgumentException(
                $"The result for frame '{result.FrameId}' has score {result.Score} and threshold {result.Threshold}; " +
                "both must be finite numbers to be published.",
                nameof(result));
        }

        return JsonSerializer.SerializeToUtf8Bytes(result, Json);
    }

    public static byte[] Serialize(LabelFeedback feedback)
    {
        ArgumentNullException.ThrowIfNull(feedback);
        return JsonSerializer.SerializeToUtf8Bytes(feedback, Json);
    }

    public static byte[] Serialize(ModelEvent modelEvent)
    {
        ArgumentNullException.ThrowIfNull(modelEvent);
        return JsonSerializer.SerializeToUtf8Bytes(modelEvent, Json);
    }

    /// <summary>The message for the model-events topic: key the version, value the JSON.</summary>
    public static Message<string, byte[]> ToMessage(ModelEvent modelEvent) =>
        new()
        {
            Key = modelEvent.Version,
            Value = Serialize(modelEvent),
            Headers = new Headers { { FrameHeaderNames.ContentType, Encoding.UTF8.GetBytes(JsonContentType) } },
        };

    /// <summary>Reads a result; throws <see cref="EventFormatException"/> saying what is wrong.</summary>
    public static InspectionResult DeserializeInspectionResult(ReadOnlySpan<byte> json) =>
        Deserialize<InspectionResult>(json, InspectionResult.CurrentSchemaVersion, "inspection result");

    /// <summary>Reads label feedback; throws <see cref="EventFormatException"/> saying what is wrong.</summary>
    public static LabelFeedback DeserializeLabelFeedback(ReadOnlySpan<byte> json) =>
        Deserialize<LabelFeedback>(json, LabelFeedback.CurrentSchemaVersion, "label feedback");

    /// <summary>Reads a model event; throws <see cref="EventFormatException"/> saying what is wrong.</summary>
    public static ModelEvent DeserializeModelEvent(ReadOnlySpan<byte> json) =>
        Deserialize<ModelEvent>(json, ModelEvent.CurrentSchemaVersion, "model event");

    /// <summary>The message for the results (and anomalies) topic: key camera id, value the JSON, headers frame-id and content-type.</summary>
    public static Message<string, byte[]> ToMessage(InspectionResult result) =>
        new() { Key = result.CameraId, Value = Serialize(result), Headers = EventHeaders(result.FrameId) };

    /// <summary>Content type of the anomaly maps, in their <c>content-type</c> header.</summary>
    public const string MapContentType = "image/png";

    /// <summary>
    /// The message for the anomaly-maps topic: key camera id, value the grayscale PNG (0 = map value 0, 255 = the
    /// peak), headers <c>frame-id</c>, <c>content-type: image/png</c>, <c>map-peak</c> and <c>region-level</c> (invariant decimal numbers).
    /// </summary>
    public static Message<string, byte[]> ToMapMessage(string cameraId, string frameId, byte[] png, double peak, double regionLevel)
    {
        var headers = new Headers
        {
            { FrameHeaderNames.FrameId, Encoding.UTF8.GetBytes(frameId) },
            { FrameHeaderNames.ContentType, Encoding.UTF8.GetBytes(MapContentType) },
            { MapPeakHeader, Encoding.UTF8.GetBytes(peak.ToString("R", System.Globalization.CultureInfo.InvariantCulture)) },
            { RegionLevelHeader, Encoding.UTF8.GetBytes(regionLevel.ToString("R", System.Globalization.CultureInfo.InvariantCulture)) },
        };
        return new Message<string, byte[]> { Key = cameraId, Value = png, Headers = headers };
    }

    /// <summary>Header of an anomaly map: the map value that 255 stands for.</summary>
    public const string MapPeakHeader = "map-peak";

    /// <summary>Header of an anomaly map: the level its regions are above.</summary>
    public const string RegionLevelHeader = "region-level";

    /// <summary>The message for the labels topic: key <paramref name="cameraId"/>, value the JSON.</summary>
    public static Message<string, byte[]> ToMessage(string cameraId, LabelFeedback feedback)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cameraId);
        return new() { Key = cameraId, Value = Serialize(feedback), Headers = EventHeaders(feedback.FrameId) };
    }

    private static Headers EventHeaders(string frameId) => new()
    {
        { FrameHeaderNames.FrameId, Encoding.UTF8.GetBytes(frameId) },
        { FrameHeaderNames.ContentType, Encoding.UTF8.GetBytes(JsonContentType) },
    };

    private static T Deserialize<T>(ReadOnlySpan<byte> json, int readableVersion, string what)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new EventFormatException($"The {what} is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object.");
            }

            if (!root.TryGetProperty(SchemaVersionProperty, out var versionElement)
                || versionElement.ValueKind != JsonValueKind.Number
                || !versionElement.TryGetInt32(out var version))
            {
                throw new EventFormatException($"The {what} has no integer '{SchemaVersionProperty}'.");
            }

            if (version < 1 || version > readableVersion)
            {
                throw new EventFormatException(
                    $"The {what} has schema version {version}; this build reads versions 1 to {readableVersion}. " +
                    "Upgrade this consumer to read newer events.");
            }

            return root.Deserialize<T>(Json)
                ?? throw new EventFormatException($"The {what} is JSON null.");
        }
        catch (JsonException e)
        {
            throw new EventFormatException($"The {what} is not valid: {e.Message}", e);
        }
    }
}
