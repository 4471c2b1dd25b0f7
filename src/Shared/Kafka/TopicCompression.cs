using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// The compression codec the pipeline's producers use on each topic, bound from section <see cref="SectionName"/>
/// (as <see cref="KafkaOptions.Compression"/>): <c>none</c>, <c>gzip</c>, <c>snappy</c>, <c>lz4</c> or <c>zstd</c>.
/// Whoever reads a topic must be able to decompress it; the defaults are codecs every common Kafka client reads
/// without plugins (kafkajs, for one, has only gzip built in). docs/events.md says why each default is what it is.
/// </summary>
public sealed class TopicCompression
{
    public const string SectionName = KafkaOptions.SectionName + ":Compression";

    /// <summary>The codecs in librdkafka's spelling (<c>compression.type</c>).</summary>
    public static IReadOnlyList<string> Codecs { get; } = ["none", "gzip", "snappy", "lz4", "zstd"];

    /// <summary>Frames the camera simulator and the demo send: JPEG and PNG are compressed already, so none.</summary>
    public string Frames { get; set; } = "none";

    /// <summary>Every result: small JSON that gzip shrinks several times over in a batch.</summary>
    public string Results { get; set; } = "gzip";

    /// <summary>Anomalous results: the same JSON as <see cref="Results"/>.</summary>
    public string Anomalies { get; set; } = "gzip";

    /// <summary>Refused frames, as they came (images, or bytes that are not one): none, as for frames.</summary>
    public string DeadLetter { get; set; } = "none";

    /// <summary>Label feedback, for a producer of the pipeline's own (tests, tools); small JSON.</summary>
    public string Labels { get; set; } = "gzip";

    /// <summary>Model lifecycle events: small JSON.</summary>
    public string ModelEvents { get; set; } = "gzip";

    /// <summary>Anomaly maps: small PNGs, compressed already, so none.</summary>
    public string AnomalyMaps { get; set; } = "none";

    /// <summary>The codec of <paramref name="topic"/>; the options must be valid (<see cref="Validate"/>).</summary>
    public CompressionType CodecOf(PipelineTopic topic)
    {
        var name = NameOf(topic);
        return Parse(name) ?? throw new ArgumentException(Problem(topic, name));
    }

    /// <summary>What is wrong with the codecs, one message per problem; empty when they can be used.</summary>
    public IReadOnlyList<string> Validate() =>
        Enum.GetValues<PipelineTopic>()
            .Where(topic => Parse(NameOf(topic)) is null)
            .Select(topic => Problem(topic, NameOf(topic)))
            .ToArray();

    private string NameOf(PipelineTopic topic) => topic switch
    {
        PipelineTopic.Frames => Frames,
        PipelineTopic.Results => Results,
        PipelineTopic.Anomalies => Anomalies,
        PipelineTopic.DeadLetter => DeadLetter,
        PipelineTopic.Labels => Labels,
        PipelineTopic.ModelEvents => ModelEvents,
        PipelineTopic.AnomalyMaps => AnomalyMaps,
        _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, "Not one of the pipeline's topics."),
    };

    private static CompressionType? Parse(string? codec) => codec?.Trim().ToLowerInvariant() switch
    {
        "none" => CompressionType.None,
        "gzip" => CompressionType.Gzip,
        "snappy" => CompressionType.Snappy,
        "lz4" => CompressionType.Lz4,
        "zstd" => CompressionType.Zstd,
        _ => null,
    };

    private static string Problem(PipelineTopic topic, string? codec) =>
        $"{SectionName}:{topic} '{codec}' is not a compression codec; use one of {string.Join(", ", Codecs)} " +
        "(readers must support it: kafkajs, for one, reads only none and gzip without plugins).";
}
