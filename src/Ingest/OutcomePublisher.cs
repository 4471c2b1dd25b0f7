using Akka.Actor;
using Akka.Event;
using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Scoring;

namespace Pipeline.Ingest;

/// <summary>
/// Publishes each frame's outcome, a result (to the results topic, the anomalies topic when anomalous, and its anomaly map when it has one) or a dead
/// letter, in its camera's read order (<see cref="OrderedPublication"/>), and follows Kafka's acknowledgements until
/// the outcome is safely in Kafka; a publish Kafka refused is retried after a back-off. Used by the ingest actor, on its
/// thread: Kafka's reports come back to the owner as <see cref="OutcomeAcknowledged"/> messages and its retry timers as
/// <see cref="RetryPublishing"/>, which the owner hands back here.
/// </summary>
public sealed class OutcomePublisher(
    KafkaOptions kafka, TopicProducers producers, IngestOptions options, IngestMetrics metrics, TimeProvider clock, ClockTimers timers, IActorRef owner, ILoggingAdapter log)
{
    private readonly OrderedPublication order = new();
    private readonly Dictionary<long, Finished> outcomes = [];

    /// <summary>The frame of <paramref name="ticket"/> was read from <paramref name="camera"/> (null: its headers were refused, no order to keep).</summary>
    public void Read(long ticket, string? camera) => order.Read(ticket, camera);

    /// <summary>The frame has its outcome: publishes what may go out now (its camera's done frames, in read order).</summary>
    /// <param name="name">How logs name the frame.</param>
    public void Publish(long ticket, ConsumeResult<string, byte[]> source, string name, FrameOutcome outcome)
    {
        outcomes[ticket] = new Finished(source, name, outcome);
        foreach (var due in order.Done(ticket))
            Publish(due);
    }

    /// <summary>A publish Kafka refused is due to be tried again.</summary>
    public void Retry(RetryPublishing retry)
    {
        if (outcomes.ContainsKey(retry.Ticket)) Publish(retry.Ticket);
    }

    /// <summary>
    /// One of Kafka's reports. Returns the frame's source once every message of its outcome is acknowledged (commit it);
    /// null while messages are outstanding, when the publish is retried, or for a report of an earlier attempt.
    /// </summary>
    public ConsumeResult<string, byte[]>? Acknowledge(OutcomeAcknowledged acknowledged)
    {
        if (!outcomes.TryGetValue(acknowledged.Ticket, out var frame)) return null;
        var state = order.Acknowledged(acknowledged.Ticket, acknowledged.Attempt, delivered: !acknowledged.Error.IsError);
        if (state == PublicationState.Stale) return null;
        if (acknowledged.Error.IsError)
            log.Warning("Kafka did not take the outcome of {0} on {1}: {2}; publishing it again", frame.Name, acknowledged.Topic, acknowledged.Error.Reason);
        if (state == PublicationState.Waiting) return null;
        if (state == PublicationState.Failed)
        {
            timers.StartSingle(RetryKey(acknowledged.Ticket), new RetryPublishing(acknowledged.Ticket), options.RetryDelayFor(acknowledged.Attempt));
            return null;
        }

        outcomes.Remove(acknowledged.Ticket);
        switch (frame.Outcome)
        {
            case ResultOutcome result:
                metrics.ResultPublished(result.Result, clock.GetUtcNow());
                break;
            case DeadLetterOutcome dead:
                metrics.FrameDeadLettered(dead.Why.ReasonCode, dead.Product);
                log.Warning("Frame {0} went to {1}: {2} ({3})", frame.Name, kafka.Topics.DeadLetter, dead.Why.Detail, dead.Why.ReasonCode);
                break;
        }

        return frame.Source;
    }

    private void Publish(long ticket)
    {
        var frame = outcomes[ticket];
        var messages = frame.Outcome switch
        {
            ResultOutcome result => ResultMessages(result.Result with { PublishedAt = clock.GetUtcNow() }, result.Map),
            DeadLetterOutcome dead => [(kafka.Topics.DeadLetter, DeadLetters.Create(frame.Source, dead.Why, clock.GetUtcNow()))],
            _ => throw new InvalidOperationException($"The outcome of {frame.Name} is neither a result nor a dead letter."),
        };
        var attempt = order.Publishing(ticket, messages.Count);
        var self = owner;
        try
        {
            foreach (var (topic, message) in messages)
                producers.Produce(topic, message, report => self.Tell(new OutcomeAcknowledged(ticket, attempt, topic, report.Error)));
        }
        catch (KafkaException e)
        {
            log.Warning("Publishing the outcome of {0} failed ({1}); trying again", frame.Name, e.Error.Reason);
            timers.StartSingle(RetryKey(ticket), new RetryPublishing(ticket), options.RetryDelayFor(attempt));
        }
    }

    /// <summary>
    /// The result's message (serialized once) for each topic it goes to, and its anomaly map's when it has one: all
    /// acknowledged before the frame is committed.
    /// </summary>
    private List<(string Topic, Message<string, byte[]> Message)> ResultMessages(InspectionResult result, FrameAnomalyMap? map)
    {
        var message = InspectionEvents.ToMessage(result);
        var messages = kafka.Topics.DestinationsOf(result).Select(topic => (topic, message)).ToList();
        if (map is not null)
            messages.Add((kafka.Topics.AnomalyMaps, InspectionEvents.ToMapMessage(result.CameraId, result.FrameId, map.Png, map.Peak, map.RegionLevel)));
        return messages;
    }

    private static string RetryKey(long ticket) => $"retry-publishing-{ticket}";

    private sealed record Finished(ConsumeResult<string, byte[]> Source, string Name, FrameOutcome Outcome);
}

/// <summary>What became of a frame: what <see cref="OutcomePublisher"/> publishes.</summary>
public abstract record FrameOutcome;

/// <summary>The frame was scored; <paramref name="Map"/> is its anomaly map when it got one (published to the anomaly-maps topic with the result).</summary>
public sealed record ResultOutcome(InspectionResult Result, FrameAnomalyMap? Map = null) : FrameOutcome;

/// <summary>The frame cannot be inspected: it goes to the dead-letter topic, as it came, with the reason.</summary>
/// <param name="Product">The frame's product, for metrics; null when its headers were refused before it was known.</param>
public sealed record DeadLetterOutcome(FrameRejection Why, string? Product = null) : FrameOutcome;

/// <summary>Kafka's report on one message of publish attempt <paramref name="Attempt"/> of a frame's outcome.</summary>
public sealed record OutcomeAcknowledged(long Ticket, int Attempt, string Topic, Confluent.Kafka.Error Error);

/// <summary>Publish the frame's outcome again (Kafka refused it).</summary>
public sealed record RetryPublishing(long Ticket);
