namespace Pipeline.Ingest;

/// <summary>Asks a <see cref="FrameIngestActor"/> for its <see cref="IngestStatus"/> (health endpoints, tests).</summary>
public sealed record GetIngestStatus
{
    public static readonly GetIngestStatus Instance = new();
}

/// <summary>An ingest actor's state.</summary>
/// <param name="FramesInFlight">Frames read whose outcome Kafka has not yet acknowledged.</param>
/// <param name="FrameSize">The frame size of the default product's model (of the first product served when the default has none); null until scoring has told one.</param>
/// <param name="KafkaConnected">The consumer has joined its group and brokers are reachable.</param>
/// <param name="ConsumerLag">Messages in the assigned partitions not yet read.</param>
/// <param name="WaitingForBusyScorers">Frames busy scorers refused, waiting for their room.</param>
/// <param name="ReadingHeld">Reading is paused because <paramref name="WaitingForBusyScorers"/> reached its bound (half the in-flight frames).</param>
public sealed record IngestStatus(int FramesInFlight, int? FrameSize, bool KafkaConnected, long ConsumerLag, int WaitingForBusyScorers = 0, bool ReadingHeld = false);
