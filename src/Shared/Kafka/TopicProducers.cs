using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// The producers of one role that writes several topics (<see cref="KafkaClients.CreateProducers"/>): each message
/// goes out through the producer of its topic's codec. Disposing disposes them all.
/// </summary>
public sealed class TopicProducers : IDisposable
{
    private readonly IReadOnlyDictionary<string, IProducer<string, byte[]>> byTopic;

    internal TopicProducers(IReadOnlyDictionary<string, IProducer<string, byte[]>> byTopic) => this.byTopic = byTopic;

    /// <summary>The distinct producers (one per codec).</summary>
    public IReadOnlyList<IProducer<string, byte[]>> Producers => byTopic.Values.Distinct().ToArray();

    /// <summary>Produces <paramref name="message"/> to <paramref name="topic"/> (see <see cref="IProducer{TKey,TValue}.Produce(string,Message{TKey,TValue},Action{DeliveryReport{TKey,TValue}})"/>).</summary>
    /// <exception cref="ArgumentException">The topic is not one these producers were made for.</exception>
    public void Produce(string topic, Message<string, byte[]> message, Action<DeliveryReport<string, byte[]>> deliveryHandler) =>
        ProducerOf(topic).Produce(topic, message, deliveryHandler);

    /// <summary>The producer that writes <paramref name="topic"/>.</summary>
    public IProducer<string, byte[]> ProducerOf(string topic) =>
        byTopic.TryGetValue(topic, out var producer)
            ? producer
            : throw new ArgumentException($"No producer was made for topic '{topic}'; these write {string.Join(", ", byTopic.Keys)}.", nameof(topic));

    /// <summary>Waits up to <paramref name="timeout"/> in all for every producer's messages to be delivered; returns how many are not.</summary>
    public int Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        return Producers.Sum(producer => producer.Flush(Max(TimeSpan.Zero, deadline - DateTime.UtcNow)));
    }

    public void Dispose()
    {
        foreach (var producer in Producers) producer.Dispose();
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
