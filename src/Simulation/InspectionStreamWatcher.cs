using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Simulation;

/// <summary>A frame found on the dead-letter topic: its id (when its headers had one) and why it is there.</summary>
public sealed record DeadLetterRecord(string? FrameId, string? CameraId, string Reason, string Detail, DateTimeOffset? CapturedAt);

/// <summary>
/// Reads what the pipeline publishes (results, anomalies, dead letters) from the beginning of those topics, on a
/// thread of its own, the way a downstream service would: for the embedded demo's live output and summary, for
/// end-to-end tests, and for a person checking a cluster. Uses its own consumer group and never commits.
/// </summary>
/// <summary>An anomaly map read from the anomaly-maps topic: its frame id (header), camera (key) and PNG.</summary>
public sealed record AnomalyMapRecord(string? FrameId, string CameraId, byte[] Png);

public sealed class InspectionStreamWatcher : IDisposable
{
    private readonly KafkaOptions kafka;
    private readonly Action<InspectionResult>? onAnomaly;
    private readonly Action<DeadLetterRecord>? onDeadLetter;
    private readonly ILogger? logger;
    private readonly Lock gate = new();
    private readonly List<InspectionResult> results = [];
    private readonly List<InspectionResult> anomalies = [];
    private readonly List<DeadLetterRecord> deadLetters = [];
    private readonly List<AnomalyMapRecord> maps = [];
    private readonly List<string> unreadable = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread thread;

    /// <param name="kafka">Brokers and topic names; the consumer group is replaced by a fresh one of the watcher's own.</param>
    /// <param name="onAnomaly">Told of every anomaly as it arrives, on the watcher's thread.</param>
    /// <param name="onDeadLetter">Told of every dead letter as it arrives, on the watcher's thread.</param>
    public InspectionStreamWatcher(KafkaOptions kafka, Action<InspectionResult>? onAnomaly = null, Action<DeadLetterRecord>? onDeadLetter = null, ILogger? logger = null)
    {
        this.kafka = kafka.WithConsumerGroup($"inspection-watcher-{Guid.NewGuid():N}");
        this.onAnomaly = onAnomaly;
        this.onDeadLetter = onDeadLetter;
        this.logger = logger;
        thread = new Thread(Run) { IsBackground = true, Name = "inspection stream watcher" };
        thread.Start();
    }

    /// <summary>Every result read so far (a frame delivered twice appears twice).</summary>
    public IReadOnlyList<InspectionResult> Results => Snapshot(results);

    public IReadOnlyList<InspectionResult> Anomalies => Snapshot(anomalies);

    public IReadOnlyList<DeadLetterRecord> DeadLetters => Snapshot(deadLetters);

    /// <summary>Messages read from the anomaly-maps topic.</summary>
    public IReadOnlyList<AnomalyMapRecord> Maps => Snapshot(maps);

    /// <summary>Messages on the results or anomalies topic that are not results of a schema this build reads, with why.</summary>
    public IReadOnlyList<string> Unreadable => Snapshot(unreadable);

    /// <summary>How many distinct frame ids have a result.</summary>
    public int DistinctResults
    {
        get
        {
            lock (gate) return results.Select(result => result.FrameId).Distinct(StringComparer.Ordinal).Count();
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (checked every 50 ms); false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitUntilAsync(Func<InspectionStreamWatcher, bool> condition, TimeSpan timeout, CancellationToken cancellation = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(this))
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(50, cancellation);
        }

        return true;
    }

    public void Dispose()
    {
        stopping.Cancel();
        thread.Join();
        stopping.Dispose();
    }

    private IReadOnlyList<T> Snapshot<T>(List<T> list)
    {
        lock (gate) return list.ToArray();
    }

    private void Run()
    {
        using var consumer = KafkaClients.CreateConsumer(kafka, logger);
        consumer.Subscribe([kafka.Topics.Results, kafka.Topics.Anomalies, kafka.Topics.DeadLetter, kafka.Topics.AnomalyMaps]);
        while (!stopping.IsCancellationRequested)
        {
            ConsumeResult<string, byte[]>? message;
            try
            {
                message = consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                continue;
            }

            if (message?.Message is null) continue;
            if (message.Topic == kafka.Topics.DeadLetter) Read(DeadLetterOf(message.Message));
            else if (message.Topic == kafka.Topics.AnomalyMaps) ReadMap(message.Message);
            else Read(message.Topic, message.Message.Value);
        }

        consumer.Close();
    }

    private void Read(string topic, byte[] value)
    {
        InspectionResult result;
        try
        {
            result = InspectionEvents.DeserializeInspectionResult(value);
        }
        catch (EventFormatException e)
        {
            lock (gate) unreadable.Add($"{topic}: {e.Message}");
            return;
        }

        if (topic == kafka.Topics.Anomalies)
        {
            lock (gate) anomalies.Add(result);
            onAnomaly?.Invoke(result);
        }
        else
        {
            lock (gate) results.Add(result);
        }
    }

    private void ReadMap(Message<string, byte[]> message)
    {
        var frameId = HeaderText.Of(message.Headers, FrameHeaderNames.FrameId);
        lock (gate) maps.Add(new AnomalyMapRecord(frameId, message.Key, message.Value ?? []));
    }

    private void Read(DeadLetterRecord record)
    {
        lock (gate) deadLetters.Add(record);
        onDeadLetter?.Invoke(record);
    }

    private static DeadLetterRecord DeadLetterOf(Message<string, byte[]> message)
    {
        string? Header(string name) => HeaderText.Of(message.Headers, name);

        DateTimeOffset? capturedAt = Header(FrameHeaderNames.CapturedAt) is { } text && FrameHeaders.TryParseCapturedAt(text, out var at) ? at : null;
        return new DeadLetterRecord(
            Header(FrameHeaderNames.FrameId), Header(FrameHeaderNames.CameraId),
            Header(Pipeline.Shared.Kafka.DeadLetters.ReasonHeader) ?? "(none)", Header(Pipeline.Shared.Kafka.DeadLetters.DetailHeader) ?? "", capturedAt);
    }
}
