using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>
/// The node's Kafka options as the console uses them: its own consumer group (<see cref="ConsoleOptions.GroupFor"/>),
/// and the group of the frames consumers (<see cref="FramesGroup"/>), whose lag the health page shows.
/// </summary>
internal sealed class ConsoleKafka(KafkaOptions node, ConsoleOptions console)
{
    public KafkaOptions Options { get; } = node.WithConsumerGroup(console.GroupFor(node.ConsumerGroup));

    /// <summary>The consumer group of the ingest role, reading the frames topic.</summary>
    public string FramesGroup { get; } = node.ConsumerGroup.Trim();
}
