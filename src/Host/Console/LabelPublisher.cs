using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>Where a label landed on the labels topic.</summary>
public sealed record LabelDelivered(int Partition, long Offset);

/// <summary>
/// Publishes an operator's verdict on a frame as a <see cref="LabelFeedback"/> on the labels topic, keyed by camera id
/// (the contract in docs/events.md), with the idempotent producer every pipeline producer uses; it answers once Kafka
/// has acknowledged the label. The training singleton reads it from there like any other label.
/// </summary>
internal sealed class LabelPublisher(ConsoleKafka kafka, ILogger<LabelPublisher> log) : IDisposable
{
    private readonly Lazy<IProducer<string, byte[]>> producer = new(() => KafkaClients.CreateProducer(kafka.Options, "console-labels", PipelineTopic.Labels, log));

    /// <param name="product">The frame's product, as its result named it (null when the console does not hold the frame).</param>
    public async Task<LabelDelivered> PublishAsync(string cameraId, string frameId, FrameLabel label, string? product, CancellationToken cancellation)
    {
        var message = InspectionEvents.ToMessage(cameraId, new LabelFeedback { FrameId = frameId, Label = label, Product = product });
        var delivered = await producer.Value.ProduceAsync(kafka.Options.Topics.Labels, message, cancellation);
        return new LabelDelivered(delivered.Partition.Value, delivered.Offset.Value);
    }

    public void Dispose()
    {
        if (!producer.IsValueCreated) return;
        producer.Value.Flush(TimeSpan.FromSeconds(5));
        producer.Value.Dispose();
    }
}
