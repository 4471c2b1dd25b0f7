using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>
/// Fills the <see cref="ConsoleFeed"/> from Kafka on a thread of its own (never an actor's): the anomalies topic (the
/// live page), the results topic (review queue, rates, versions seen), the anomaly-maps topic (the maps drawn over the
/// frames) and the model-events topic (refit outcomes, what each node serves), in the console's own consumer group (<see cref="ConsoleOptions.GroupFor"/>). Anomalies and results
/// continue from the group's committed offsets (committed every few seconds: the console shows what arrives, not the
/// whole history); a new group starts at the earliest. The model-events topic is small (a few events per refit or swap)
/// and is read from its beginning at every start, so that what each node serves survives a restart of the console.
/// </summary>
internal sealed class ConsoleFeedConsumer(ConsoleFeed feed, ConsoleKafka kafka, ILogger<ConsoleFeedConsumer> log) : IHostedService
{
    private static readonly TimeSpan CommitEvery = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource stopping = new();
    private Thread? thread;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        thread = new Thread(Run) { IsBackground = true, Name = "console feed consumer" };
        thread.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        stopping.Cancel();
        return Task.Run(() => thread?.Join(), cancellationToken);
    }

    private void Run()
    {
        var topics = kafka.Options.Topics;
        try
        {
            using var consumer = KafkaClients.CreateConsumer(kafka.Options, log, builder => builder.SetPartitionsAssignedHandler((_, assigned) =>
                assigned.Select(partition => partition.Topic == topics.ModelEvents
                    ? new TopicPartitionOffset(partition, Offset.Beginning)
                    : new TopicPartitionOffset(partition, Offset.Unset))));
            consumer.Subscribe([topics.Anomalies, topics.Results, topics.ModelEvents, topics.AnomalyMaps]);
            log.LogInformation("Console reads {Anomalies}, {Results}, {Maps} and {ModelEvents} in consumer group {Group}", topics.Anomalies, topics.Results, topics.AnomalyMaps, topics.ModelEvents, kafka.Options.ConsumerGroup);
            var lastCommit = DateTime.UtcNow;
            while (!stopping.IsCancellationRequested)
            {
                ConsumeResult<string, byte[]>? message;
                try
                {
                    message = consumer.Consume(TimeSpan.FromMilliseconds(200));
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    continue;
                }

                if (message?.Message is not null)
                {
                    Read(message.Topic, message.Message);
                    if (message.Topic != topics.ModelEvents) consumer.StoreOffset(message);
                }

                if (DateTime.UtcNow - lastCommit > CommitEvery)
                {
                    lastCommit = DateTime.UtcNow;
                    Commit(consumer);
                }
            }

            Commit(consumer);
            consumer.Close();
        }
        catch (Exception e) when (e is KafkaException or ArgumentException)
        {
            log.LogError(e, "The console's consumer stopped: {Problem}; the console shows nothing new until the node restarts", e.Message);
        }
    }

    private void Read(string topic, Message<string, byte[]> message)
    {
        var topics = kafka.Options.Topics;
        var value = message.Value;
        try
        {
            if (topic == topics.AnomalyMaps)
            {
                if (InspectionEvents.ReadMapMessage(message) is { } map) feed.AddMap(new ConsoleMap(map.FrameId, map.Png, map.Peak, map.RegionLevel));
                else feed.CountUnreadable();
            }
            else if (topic == topics.ModelEvents) feed.AddModelEvent(InspectionEvents.DeserializeModelEvent(value));
            else if (topic == topics.Anomalies) feed.AddAnomaly(InspectionEvents.DeserializeInspectionResult(value));
            else feed.AddResult(InspectionEvents.DeserializeInspectionResult(value));
        }
        catch (EventFormatException e)
        {
            feed.CountUnreadable();
            log.LogDebug("Console skipped a message on {Topic}: {Problem}", topic, e.Message);
        }
    }

    private void Commit(IConsumer<string, byte[]> consumer)
    {
        try
        {
            consumer.Commit();
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_NoOffset)
        {
        }
        catch (KafkaException e)
        {
            log.LogDebug("Console could not commit its offsets (it reads on): {Problem}", e.Message);
        }
    }
}
