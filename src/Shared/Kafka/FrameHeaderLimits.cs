namespace Pipeline.Shared.Kafka;

/// <summary>
/// The largest key and header values a frame may carry (<see cref="FrameHeaders.Parse(Confluent.Kafka.Headers?, string?, FrameHeaderLimits)"/>);
/// larger ones are refused as <c>invalid-header</c> before anything is read from them, so that no oversized value is
/// copied into results or dead letters. Set from <c>Pipeline:Ingest:MaxIdBytes</c> and <c>Pipeline:Ingest:MaxHeaderBytes</c>.
/// </summary>
/// <param name="MaxIdBytes">The key, <c>frame-id</c> and <c>camera-id</c>: the values every result and dead letter repeats.</param>
/// <param name="MaxHeaderBytes">Every other header's value and every header's name.</param>
public sealed record FrameHeaderLimits(int MaxIdBytes = FrameHeaderLimits.DefaultMaxIdBytes, int MaxHeaderBytes = FrameHeaderLimits.DefaultMaxHeaderBytes)
{
    /// <summary>Room for a UUID, a path-like camera name or a long run prefix several times over.</summary>
    public const int DefaultMaxIdBytes = 256;

    /// <summary>The W3C's limit for <c>baggage</c>, the largest header a tracing gateway is likely to add.</summary>
    public const int DefaultMaxHeaderBytes = 8192;

    public static FrameHeaderLimits Default { get; } = new();
}
