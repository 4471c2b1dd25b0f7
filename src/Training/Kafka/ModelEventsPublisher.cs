using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Training.Kafka;

/// <summary>Where the training side tells the world what happened to a model (<see cref="ModelEvent"/>).</summary>
public interface IModelEventSink
{
    /// <summary>Sends the event; never blocks and never throws (a failed delivery is logged).</summary>
    void Publish(ModelEvent modelEvent);
}

/// <summary>Publishes model events to the model-events topic with an idempotent producer; delivery failures are logged.</summary>
public sealed class ModelEventsPublisher(KafkaOptions options, ILogger logger) : IModelEventSink, IDisposable
{
    private readonly IProducer<string, byte[]> producer = KafkaClients.CreateProducer(options, "model-events", PipelineTopic.ModelEvents, logger);
    private readonly string topic = options.Topics.ModelEvents;

    public void Publish(ModelEvent modelEvent)
    {
        try
        {
            producer.Produce(topic, InspectionEvents.ToMessage(modelEvent), report =>
            {
                if (report.Error.IsError)
                    logger.LogWarning("Model event {Kind} {Version} was not delivered to {Topic}: {Reason}", modelEvent.Kind, modelEvent.Version, topic, report.Error.Reason);
            });
        }
        catch (KafkaException e)
        {
            logger.LogWarning("Model event {Kind} {Version} could not be sent to {Topic}: {Reason}", modelEvent.Kind, modelEvent.Version, topic, e.Error.Reason);
        }
    }

    public void Dispose()
    {
        producer.Flush(TimeSpan.FromSeconds(5));
        producer.Dispose();
    }
}
