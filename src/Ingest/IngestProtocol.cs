namespace Pipeline.Ingest;

/// <summary>Asks a <see cref="FrameIngestActor"/> for its <see cref="IngestStatus"/> (health endpoints, tests).</summary>
public sealed record GetIngestStatus
{
    public static readonly GetIngestStatus Instance = new();
}

/// <summary>An ingest actor's state.</summary>
/// <param name="FramesInFlight">Frames read whose outcome Kafka has not yet acknowledged.</param>
/// <param name="FrameSize">The model's frame size frames are prepared to; null until scoring has told it.</param>
/// <param name="KafkaConnected">The consumer has joined its group and brokers are reachable.</param>
/// <param name="ConsumerLag">Messages in the assigned partitions not yet read.</param>
public sealed record IngestStatus(int FramesInFlight, int? FrameSize, bool KafkaConnected, long ConsumerLag);
