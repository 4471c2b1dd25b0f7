using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Ingest;

/// <summary>
/// Reads the frames topic in a consumer group on a thread of its own, so that no actor thread ever waits on Kafka.
/// Each message read is handed to <c>onFrame</c>; its owner reports it <see cref="Completed"/> once what it produced
/// (its result or its dead letter) is acknowledged by Kafka, and the loop commits offsets up to the oldest frame
/// still in flight (<see cref="OffsetCommitTracker"/>): a frame is committed only after its outcome is safe.
/// </summary>
/// <remarks>
/// <para>
/// Backpressure: with <c>maxInFlight</c> frames in flight, or while the owner <see cref="Hold"/>s it (scoring said
/// it is busy), the loop pauses its partitions instead of reading on; it resumes below the limit. Memory is thus
/// bounded by the in-flight limit, not by the topic.
/// </para>
/// <para>
/// Rebalances: partitions taken away get their last commits in the revoke handler (on this thread, before the next
/// owner reads them); their frames still in flight will be read again there, which at-least-once allows. Lost
/// partitions are forgotten without commits. Disposing closes the consumer: it leaves the group after committing
/// what is done.
/// </para>
/// </remarks>
public sealed class FrameConsumerLoop : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LagInterval = TimeSpan.FromSeconds(1);

    private readonly KafkaOptions kafka;
    private readonly int maxInFlight;
    private readonly Action<ConsumeResult<string, byte[]>> onFrame;
    private readonly Action<Exception> onFailure;
    private readonly ILogger logger;
    private readonly IngestMetrics metrics;
    private readonly ConcurrentQueue<TopicPartitionOffset> completions = new();
    private readonly OffsetCommitTracker tracker = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread thread;
    private IDisposable? observation;
    private volatile bool held;
    private volatile int inFlight;
    private long lag;
    private volatile bool connected;
    private bool paused;

    /// <param name="kafka">Brokers, group and topic names; must pass <see cref="KafkaOptions.ValidateForConsumer"/>.</param>
    /// <param name="maxInFlight">Frames read and not completed, at most; the loop pauses at the limit.</param>
    /// <param name="onFrame">Gets every message read, on the loop's thread; must return at once (tell an actor).</param>
    /// <param name="onFailure">Told when the loop stops on an error it cannot get past (a fatal consumer error).</param>
    public FrameConsumerLoop(
        KafkaOptions kafka,
        int maxInFlight,
        Action<ConsumeResult<string, byte[]>> onFrame,
        Action<Exception> onFailure,
        ILogger logger,
        IngestMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        var problems = kafka.ValidateForConsumer();
        if (problems.Count > 0) throw new ArgumentException("The Kafka options cannot make the frames consumer: " + string.Join(" ", problems), nameof(kafka));
        this.kafka = kafka;
        this.maxInFlight = maxInFlight;
        this.onFrame = onFrame;
        this.onFailure = onFailure;
        this.logger = logger;
        this.metrics = metrics;
        thread = new Thread(Run) { IsBackground = true, Name = $"frames consumer ({kafka.Topics.Frames})" };
    }

    /// <summary>Frames read and not yet completed (as of the loop's last pass).</summary>
    public int InFlight => inFlight;

    /// <summary>Messages of the assigned partitions not read yet, as of the last second.</summary>
    public long Lag => Interlocked.Read(ref lag);

    /// <summary>True once the group has assigned this consumer its partitions (none is a valid share), false while every broker is down.</summary>
    public bool Connected => connected;

    public void Start()
    {
        observation = metrics.Observe(() => (InFlight, Lag));
        thread.Start();
    }

    /// <summary>The frame at <paramref name="position"/> is done: its outcome is acknowledged by Kafka. Thread-safe.</summary>
    public void Completed(TopicPartitionOffset position) => completions.Enqueue(position);

    /// <summary>Pauses reading while <paramref name="hold"/> is true (scoring is busy), whatever the in-flight count. Thread-safe.</summary>
    public void Hold(bool hold) => held = hold;

    /// <summary>Stops reading, commits what is done, leaves the group and closes the consumer; blocks until then.</summary>
    public void Dispose()
    {
        stopping.Cancel();
        if (thread.IsAlive && thread != Thread.CurrentThread) thread.Join();
        observation?.Dispose();
        stopping.Dispose();
    }

    private void Run()
    {
        IConsumer<string, byte[]>? consumer = null;
        try
        {
            consumer = KafkaClients.CreateConsumer(kafka, logger, onError: OnError, configure: builder => builder
                .SetPartitionsAssignedHandler((_, partitions) => connected = true)
                .SetPartitionsRevokedHandler((c, partitions) => Revoke(c, partitions.Select(p => p.TopicPartition)))
                .SetPartitionsLostHandler((_, partitions) => tracker.Lost(partitions.Select(p => p.TopicPartition))));
            consumer.Subscribe(kafka.Topics.Frames);
            logger.LogInformation("Consuming {Topic} as group {Group}, at most {MaxInFlight} frames in flight", kafka.Topics.Frames, kafka.ConsumerGroup, maxInFlight);
            var nextLag = DateTime.UtcNow;
            while (!stopping.IsCancellationRequested)
            {
                TakeCompletions();
                Commit(consumer, tracker.TakeCommittable());
                ApplyBackpressure(consumer);
                if (DateTime.UtcNow >= nextLag)
                {
                    MeasureLag(consumer);
                    nextLag = DateTime.UtcNow + LagInterval;
                }

                ConsumeResult<string, byte[]>? result;
                try
                {
                    result = consumer.Consume(PollInterval);
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    logger.LogWarning("Reading {Topic} failed at {Position}: {Reason}; reading on", kafka.Topics.Frames, e.ConsumerRecord?.TopicPartitionOffset, e.Error.Reason);
                    continue;
                }

                if (result?.Message is null) continue;
                connected = true;
                tracker.Started(result.TopicPartitionOffset);
                inFlight = tracker.InFlight;
                metrics.FrameConsumed();
                onFrame(result);
            }

            TakeCompletions();
            Commit(consumer, tracker.TakeCommittable());
            consumer.Close(); // revokes the partitions (committing what is done) and leaves the group
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            logger.LogError(e, "The frames consumer stopped: {Reason}", e.Message);
            onFailure(e);
        }
        catch (Exception e)
        {
            logger.LogWarning("The frames consumer failed while closing: {Reason}", e.Message);
        }
        finally
        {
            consumer?.Dispose();
        }
    }

    private void TakeCompletions()
    {
        while (completions.TryDequeue(out var position)) tracker.Completed(position);
        inFlight = tracker.InFlight;
    }

    private void Revoke(IConsumer<string, byte[]> consumer, IEnumerable<TopicPartition> partitions)
    {
        TakeCompletions();
        var revoked = partitions.ToArray();
        Commit(consumer, tracker.Revoked(revoked));
        inFlight = tracker.InFlight;
        logger.LogInformation("Partitions {Partitions} were taken from this consumer; their frames still in flight will be read again by their next owner", string.Join(", ", revoked));
    }

    private void Commit(IConsumer<string, byte[]> consumer, IReadOnlyList<TopicPartitionOffset> offsets)
    {
        if (offsets.Count == 0) return;
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException e)
        {
            // The next commit of the partition covers these frames too; until then a restart reads them again.
            logger.LogWarning("Committing {Offsets} failed: {Reason}", string.Join(", ", offsets), e.Error.Reason);
        }
    }

    private void ApplyBackpressure(IConsumer<string, byte[]> consumer)
    {
        var shouldPause = held || tracker.InFlight >= maxInFlight;
        if (shouldPause)
        {
            // Every pass: partitions assigned while paused must pause too (pausing is idempotent).
            consumer.Pause(consumer.Assignment);
            if (!paused) logger.LogDebug("Paused reading: {InFlight} frames in flight, scoring {State}", tracker.InFlight, held ? "busy" : "keeping up");
        }
        else if (paused)
        {
            consumer.Resume(consumer.Assignment);
        }

        paused = shouldPause;
    }

    private void MeasureLag(IConsumer<string, byte[]> consumer)
    {
        long total = 0;
        foreach (var partition in consumer.Assignment)
        {
            var high = consumer.GetWatermarkOffsets(partition).High;
            var position = consumer.Position(partition);
            if (high != Offset.Unset && position != Offset.Unset) total += Math.Max(0, high.Value - position.Value);
        }

        Interlocked.Exchange(ref lag, total);
    }

    private void OnError(Error error)
    {
        if (error.Code == ErrorCode.Local_AllBrokersDown) connected = false;
    }
}
