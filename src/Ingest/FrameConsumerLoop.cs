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
/// bounded by the in-flight limit, not by the topic. What each partition was told is kept per partition
/// (<see cref="PartitionPauses"/>) and reconciled with the assignment on every pass, so that a partition lost in a
/// broker outage and granted again, which librdkafka hands back still paused, is resumed.
/// </para>
/// <para>
/// Rebalances: partitions taken away get their last commits in the revoke handler (on this thread, before the next
/// owner reads them); their frames still in flight will be read again there, which at-least-once allows. Lost
/// partitions are forgotten without commits. A completion is matched to the read it belongs to, not only to its
/// offset: a frame read before a loss and completed after the partition came back (and was read again from the
/// committed offset) must not complete the new read. Disposing stops the loop, commits what is done and leaves the
/// group (also as a static member, <see cref="KafkaOptions.GroupInstanceId"/>), then closes the consumer.
/// </para>
/// <para>
/// Health: every pass reports to a <see cref="ConsumerStallWatch"/> what the consumer holds, how many frames wait
/// (<see cref="Lag"/>) and how many it has read, so that a consumer that should read and does not is noticed.
/// </para>
/// </remarks>
public sealed class FrameConsumerLoop : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LagInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a graceful stop waits for the revoke of its partitions before it closes anyway.</summary>
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long one lag measurement may wait for the brokers (watermarks, committed offsets).</summary>
    private static readonly TimeSpan LagQueryTimeout = TimeSpan.FromMilliseconds(500);

    private readonly KafkaOptions kafka;
    private readonly int maxInFlight;
    private readonly Action<ConsumeResult<string, byte[]>> onFrame;
    private readonly Action<Exception> onFailure;
    private readonly ILogger logger;
    private readonly IngestMetrics metrics;
    private readonly TimeProvider clock;
    private readonly ConsumerStallWatch stallWatch;
    private readonly ConcurrentQueue<ConsumeResult<string, byte[]>> completions = new();
    private readonly OffsetCommitTracker tracker = new();
    private readonly PartitionPauses pauses = new();
    private readonly Dictionary<TopicPartitionOffset, ConsumeResult<string, byte[]>> reads = [];
    private readonly Dictionary<TopicPartition, long> partitionLag = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread thread;
    private IDisposable? observation;
    private volatile bool held;
    private volatile int inFlight;
    private long lag;
    private volatile bool connected;
    private long framesRead;
    private bool paused;

    /// <param name="kafka">Brokers, group and topic names; must pass <see cref="KafkaOptions.ValidateForConsumer"/>.</param>
    /// <param name="maxInFlight">Frames read and not completed, at most; the loop pauses at the limit.</param>
    /// <param name="onFrame">Gets every message read, on the loop's thread; must return at once (tell an actor).</param>
    /// <param name="onFailure">Told when the loop stops on an error it cannot get past (a fatal consumer error).</param>
    /// <param name="stallWatch">Told of the consumer's progress on every pass (a private one when null).</param>
    /// <param name="clock">Time for the lag interval and the stall watch.</param>
    public FrameConsumerLoop(
        KafkaOptions kafka,
        int maxInFlight,
        Action<ConsumeResult<string, byte[]>> onFrame,
        Action<Exception> onFailure,
        ILogger logger,
        IngestMetrics metrics,
        ConsumerStallWatch? stallWatch = null,
        TimeProvider? clock = null)
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
        this.clock = clock ?? TimeProvider.System;
        this.stallWatch = stallWatch ?? new ConsumerStallWatch(this.clock);
        thread = new Thread(Run) { IsBackground = true, Name = $"frames consumer ({kafka.Topics.Frames})" };
    }

    /// <summary>Frames read and not yet completed (as of the loop's last pass).</summary>
    public int InFlight => inFlight;

    /// <summary>
    /// Messages of the assigned partitions not read yet, as of the last second: per partition the high watermark minus
    /// the next offset to read, which is the consumer's position, or, where it has none yet (a partition paused or
    /// granted and not fetched), the group's committed offset, or else the partition's first offset.
    /// </summary>
    public long Lag => Interlocked.Read(ref lag);

    /// <summary>True once the group has assigned this consumer its partitions (none is a valid share), false while every broker is down.</summary>
    public bool Connected => connected;

    public void Start()
    {
        observation = metrics.Observe(() => (InFlight, Lag));
        thread.Start();
    }

    /// <summary>The frame <paramref name="read"/> (as handed to <c>onFrame</c>) is done: its outcome is acknowledged by Kafka. Thread-safe.</summary>
    public void Completed(ConsumeResult<string, byte[]> read) => completions.Enqueue(read);

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
                .SetPartitionsAssignedHandler((_, partitions) => Assign(partitions))
                .SetPartitionsRevokedHandler((c, partitions) => Revoke(c, partitions.Select(p => p.TopicPartition)))
                .SetPartitionsLostHandler((_, partitions) => Lose(partitions.Select(p => p.TopicPartition))));
            consumer.Subscribe(kafka.Topics.Frames);
            logger.LogInformation("Consuming {Topic} as group {Group}, at most {MaxInFlight} frames in flight", kafka.Topics.Frames, kafka.ConsumerGroup, maxInFlight);
            var nextLag = clock.GetUtcNow();
            while (!stopping.IsCancellationRequested)
            {
                TakeCompletions();
                Commit(consumer, tracker.TakeCommittable());
                ApplyBackpressure(consumer);
                if (clock.GetUtcNow() >= nextLag)
                {
                    MeasureLag(consumer);
                    nextLag = clock.GetUtcNow() + LagInterval;
                }

                ReportProgress(consumer);

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
                reads[result.TopicPartitionOffset] = result;
                inFlight = tracker.InFlight;
                framesRead++;
                metrics.FrameConsumed();
                onFrame(result);
            }

            TakeCompletions();
            Commit(consumer, tracker.TakeCommittable());
            Leave(consumer);
            consumer.Close();
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
            stallWatch.Stopped();
            consumer?.Dispose();
        }
    }

    /// <summary>
    /// Leaves the group before closing: unsubscribing revokes the partitions (their last commits are made in the revoke
    /// handler, served here) and sends the LeaveGroup request, so that the partitions move to another member at once.
    /// <c>Close</c> alone would not leave for a static member (KIP-345: a static member keeps its place when it
    /// terminates), and a pod stopped gracefully does not come back under its name.
    /// </summary>
    private void Leave(IConsumer<string, byte[]> consumer)
    {
        consumer.Unsubscribe();
        // Wall time, not the clock: the broker answers in real time, whatever time a test gives the loop.
        var deadline = Environment.TickCount64 + (long)LeaveTimeout.TotalMilliseconds;
        while (consumer.Assignment.Count > 0 && Environment.TickCount64 < deadline)
        {
            // Serves the revoke; a message still returned was never started and will be read again by the next owner.
            consumer.Consume(PollInterval);
        }

        logger.LogInformation("Left group {Group}{Static}", kafka.ConsumerGroup,
            string.IsNullOrWhiteSpace(kafka.GroupInstanceId) ? "" : $" (static member {kafka.GroupInstanceId.Trim()})");
    }

    private void TakeCompletions()
    {
        while (completions.TryDequeue(out var read))
        {
            // A read of a partition revoked or lost since is not in flight any more, even if its offset was read again.
            var position = read.TopicPartitionOffset;
            if (reads.TryGetValue(position, out var current) && ReferenceEquals(current, read))
            {
                reads.Remove(position);
                tracker.Completed(position);
            }
        }

        inFlight = tracker.InFlight;
    }

    private void Assign(IReadOnlyCollection<TopicPartition> partitions)
    {
        connected = true;
        pauses.Assigned(partitions); // told explicitly on the next pass, whatever librdkafka kept of an earlier pause
        if (partitions.Count > 0) logger.LogInformation("Partitions {Partitions} were given to this consumer", string.Join(", ", partitions));
    }

    private void Revoke(IConsumer<string, byte[]> consumer, IEnumerable<TopicPartition> partitions)
    {
        TakeCompletions();
        var revoked = partitions.ToArray();
        Commit(consumer, tracker.Revoked(revoked));
        Forget(revoked);
        logger.LogInformation("Partitions {Partitions} were taken from this consumer; their frames still in flight will be read again by their next owner", string.Join(", ", revoked));
    }

    private void Lose(IEnumerable<TopicPartition> partitions)
    {
        var lost = partitions.ToArray();
        tracker.Lost(lost);
        Forget(lost);
        logger.LogWarning("Partitions {Partitions} were lost (the group moved on without this consumer, e.g. its session expired while the brokers were unreachable); their frames in flight will be read again", string.Join(", ", lost));
    }

    private void Forget(IReadOnlyCollection<TopicPartition> partitions)
    {
        var gone = partitions.ToHashSet();
        foreach (var position in reads.Keys.Where(position => gone.Contains(position.TopicPartition)).ToArray()) reads.Remove(position);
        foreach (var partition in gone) partitionLag.Remove(partition);
        pauses.Removed(gone);
        inFlight = tracker.InFlight;
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
        if (shouldPause != paused)
        {
            logger.LogDebug(shouldPause ? "Paused reading: {InFlight} frames in flight, scoring {State}" : "Reading again: {InFlight} frames in flight, scoring {State}",
                tracker.InFlight, held ? "busy" : "keeping up");
            paused = shouldPause;
        }

        // Every pass, against the assignment as it is now: partitions granted since are told too.
        var (pause, resume) = pauses.Reconcile(consumer.Assignment, shouldPause);
        try
        {
            if (pause.Count > 0) consumer.Pause(pause);
            if (resume.Count > 0) consumer.Resume(resume);
        }
        catch (KafkaException e)
        {
            pauses.Assigned(pause.Concat(resume)); // not told: try again on the next pass
            logger.LogWarning("Could not {Action} {Partitions}: {Reason}; trying again", shouldPause ? "pause" : "resume", string.Join(", ", pause.Concat(resume)), e.Error.Reason);
        }
    }

    private void MeasureLag(IConsumer<string, byte[]> consumer)
    {
        var assignment = consumer.Assignment;
        var withoutPosition = new List<TopicPartition>();
        var next = new Dictionary<TopicPartition, long>();
        foreach (var partition in assignment)
        {
            var position = consumer.Position(partition);
            if (position.IsSpecial) withoutPosition.Add(partition);
            else next[partition] = position.Value;
        }

        if (connected)
        {
            try
            {
                // Paused or never-fetched partitions have no position: the group's committed offset is where reading resumes.
                if (withoutPosition.Count > 0)
                    foreach (var committed in consumer.Committed(withoutPosition, LagQueryTimeout).Where(c => !c.Offset.IsSpecial))
                        next[committed.TopicPartition] = committed.Offset.Value;

                foreach (var partition in assignment)
                {
                    // Asked of the broker: the cached watermarks of a paused partition stop at its last fetch.
                    var watermarks = consumer.QueryWatermarkOffsets(partition, LagQueryTimeout);
                    var (low, high) = (watermarks.Low, watermarks.High);
                    if (high.IsSpecial) continue;
                    var from = next.TryGetValue(partition, out var offset) ? offset : low.IsSpecial ? high.Value : low.Value;
                    partitionLag[partition] = Math.Max(0, high.Value - from);
                }
            }
            catch (KafkaException e)
            {
                // The brokers did not answer in time: the last known lag of each partition stands.
                logger.LogDebug("Measuring the consumer lag failed: {Reason}", e.Error.Reason);
            }
        }

        Interlocked.Exchange(ref lag, assignment.Sum(partition => partitionLag.GetValueOrDefault(partition)));
    }

    private void ReportProgress(IConsumer<string, byte[]> consumer)
    {
        var free = held ? 0 : Math.Max(0, maxInFlight - tracker.InFlight);
        stallWatch.Report(new ConsumerProgress(consumer.Assignment.Count, Lag, free, framesRead, connected));
    }

    private void OnError(Error error)
    {
        if (error.Code == ErrorCode.Local_AllBrokersDown) connected = false;
    }
}
