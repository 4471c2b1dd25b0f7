using Confluent.Kafka;
using Pipeline.Shared.Kafka;

namespace Pipeline.Simulation;

/// <summary>One frame a camera sends: its metadata (key and headers) and the encoded image, sent as it is.</summary>
/// <param name="Metadata">
/// Frame id, camera id, content type and label. <see cref="FrameMetadata.CapturedAt"/> is replaced by the
/// time the frame is sent (<see cref="CameraStream"/>).
/// </param>
/// <param name="EncodedImage">The message value: JPEG, PNG or BMP bytes, never decoded on the camera side.</param>
public sealed record CameraFrame(FrameMetadata Metadata, byte[] EncodedImage);

/// <summary>How a <see cref="CameraStream"/> paces frames and reports its progress.</summary>
public sealed record CameraStreamOptions
{
    /// <summary>Frames per second; null or 0 sends as fast as the producer takes them.</summary>
    public double? FramesPerSecond { get; init; }

    /// <summary>Calls <see cref="OnProgress"/> after every this many frames handed to the producer (and after the last one).</summary>
    public int ProgressEvery { get; init; } = 100;

    /// <summary>
    /// Told how far the stream has come. Runs on the stream's own task, between two frames: keep it short,
    /// or it delays the frames after it.
    /// </summary>
    public Action<CameraStreamProgress>? OnProgress { get; init; }

    /// <summary>The clock that paces frames and stamps <c>captured-at</c>; the system clock unless a test sets one.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>How far a <see cref="CameraStream"/> has come; delivery reports arrive after the frames they are about.</summary>
/// <param name="Frames">Frames taken from the source so far: sent, or refused by the producer.</param>
/// <param name="Sent">Frames handed to the producer so far.</param>
/// <param name="Delivered">Frames Kafka has acknowledged so far.</param>
/// <param name="Failed">Frames that could not be sent or delivered so far.</param>
/// <param name="Elapsed">Time since the first frame was due.</param>
public sealed record CameraStreamProgress(long Frames, long Sent, long Delivered, long Failed, TimeSpan Elapsed);

/// <summary>What a <see cref="CameraStream"/> run did.</summary>
/// <param name="Sent">Frames handed to the producer.</param>
/// <param name="Delivered">Frames Kafka acknowledged.</param>
/// <param name="Failed">
/// Frames the producer refused at once (too large, for example) or whose delivery failed (brokers unreachable
/// until <c>message.timeout.ms</c>, authorisation, ...). <c>Sent + refused = Delivered + Failed</c>.
/// </param>
/// <param name="FirstError">The first failure, naming the frame; null when there was none.</param>
/// <param name="Elapsed">From the first frame's due time until every delivery report was in.</param>
/// <param name="FramesPerSecond">
/// The rate frames actually went out at: intervals between the first and the last frame sent, per second of
/// that span; 0 with fewer than two frames.
/// </param>
public sealed record CameraStreamSummary(
    long Sent,
    long Delivered,
    long Failed,
    string? FirstError,
    TimeSpan Elapsed,
    double FramesPerSecond)
{
    /// <summary>Every frame was sent and acknowledged.</summary>
    public bool AllDelivered => Failed == 0 && Delivered == Sent;
}

/// <summary>
/// A simulated camera: sends frames to a Kafka topic at a set rate, as a real camera would (key camera id,
/// value the encoded image, the contract's headers; docs/events.md). Used by the demo and by
/// <c>pipeline camera</c>.
/// </summary>
/// <remarks>
/// <para>
/// Frame <c>i</c> (from 0) is due at <c>start + i / rate</c> on <see cref="CameraStreamOptions.Clock"/>'s
/// monotonic timestamp, so waits do not add up to drift; a frame that is late (a slow source, a busy
/// machine) goes out at once, and the frames after it catch up to the schedule.
/// </para>
/// <para>
/// Each frame's <c>captured-at</c> is the moment it is handed to the producer, so latency measured
/// downstream from it is real. Frames go out with <c>Produce</c> (no waiting for acknowledgements between
/// frames); delivery reports are counted, and the run ends with a flush, once every report is in.
/// </para>
/// <para>
/// The producer belongs to the caller, who disposes of it. Cancelling stops sending and flushing with an
/// <see cref="OperationCanceledException"/>; frames already handed to the producer stay in its queue until
/// the caller flushes or disposes of it.
/// </para>
/// </remarks>
public static class CameraStream
{
    /// <summary>How long to wait before offering a frame again when the producer's local queue is full.</summary>
    private static readonly TimeSpan QueueFullBackOff = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Sends <paramref name="frames"/> in order to <paramref name="topic"/> through <paramref name="producer"/>,
    /// paced as <paramref name="options"/> says. Returns once every frame has been sent and its delivery
    /// reported. Runs on the thread pool from the start: the caller's thread is never blocked, not even
    /// by reading the frames or the final flush.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="PipelineInputException">The frame source could not read a frame (see <see cref="FolderFrames"/>).</exception>
    public static async Task<CameraStreamSummary> RunAsync(
        IProducer<string, byte[]> producer,
        string topic,
        IEnumerable<CameraFrame> frames,
        CameraStreamOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(options);
        if (options.FramesPerSecond is { } perSecond && (double.IsNaN(perSecond) || double.IsInfinity(perSecond) || perSecond < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), perSecond, "Frames per second must be a finite number, 0 or more (0 = as fast as possible).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.ProgressEvery, 1, nameof(options.ProgressEvery));

        // Leave the caller's thread (and any synchronization context) before the frame source is read.
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        var deliveries = new DeliveryTally();
        var clock = options.Clock;
        var rate = options.FramesPerSecond ?? 0;
        var start = clock.GetTimestamp();
        TimeSpan? firstSent = null, lastSent = null;
        long sent = 0, index = 0;

        foreach (var frame in frames)
        {
            var wait = rate > 0 ? TimeSpan.FromSeconds(index / rate) - clock.GetElapsedTime(start) : TimeSpan.Zero;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, clock, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var metadata = frame.Metadata with { CapturedAt = clock.GetUtcNow() };
            if (await TryProduceAsync(producer, topic, metadata, frame.EncodedImage, deliveries, clock, cancellationToken).ConfigureAwait(false))
            {
                sent++;
                var now = clock.GetElapsedTime(start);
                firstSent ??= now;
                lastSent = now;
            }

            index++;
            if (index % options.ProgressEvery == 0)
            {
                options.OnProgress?.Invoke(deliveries.Progress(index, sent, clock.GetElapsedTime(start)));
            }
        }

        if (index % options.ProgressEvery != 0)
        {
            options.OnProgress?.Invoke(deliveries.Progress(index, sent, clock.GetElapsedTime(start)));
        }

        // Flush blocks until the queue is empty (or message.timeout.ms has failed what was left); a pool thread waits for it.
        await Task.Run(() => producer.Flush(cancellationToken), cancellationToken).ConfigureAwait(false);
        await deliveries.AllReported().WaitAsync(cancellationToken).ConfigureAwait(false);

        var sendingSpan = (lastSent - firstSent) ?? TimeSpan.Zero;
        var achieved = sent >= 2 && sendingSpan > TimeSpan.Zero ? (sent - 1) / sendingSpan.TotalSeconds : 0;
        return new CameraStreamSummary(sent, deliveries.Delivered, deliveries.Failed, deliveries.FirstError, clock.GetElapsedTime(start), achieved);
    }

    /// <summary>
    /// Hands one frame to the producer; false when the producer refused it (counted as failed). Waits while
    /// the producer's local queue is full, which only happens when frames are produced faster than the brokers take them.
    /// </summary>
    private static async Task<bool> TryProduceAsync(
        IProducer<string, byte[]> producer,
        string topic,
        FrameMetadata metadata,
        byte[] image,
        DeliveryTally deliveries,
        TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var message = FrameHeaders.CreateMessage(metadata, image);
        while (true)
        {
            deliveries.Expect();
            try
            {
                producer.Produce(topic, message, report => deliveries.Report(metadata.FrameId, report.Error));
                return true;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                deliveries.Withdraw();
                await Task.Delay(QueueFullBackOff, clock, cancellationToken).ConfigureAwait(false);
            }
            catch (ProduceException<string, byte[]> e)
            {
                deliveries.Withdraw();
                deliveries.Refused(metadata.FrameId, e.Error);
                return false;
            }
        }
    }

    /// <summary>
    /// Counts delivery reports, which librdkafka's poll thread delivers, and says when every frame handed
    /// to the producer has one.
    /// </summary>
    private sealed class DeliveryTally
    {
        private readonly TaskCompletionSource allReported = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long delivered;
        private long failed;
        private string? firstError;

        // One for the sending loop itself, so that the count cannot reach 0 before the last frame is sent.
        private long outstanding = 1;

        public long Delivered => Interlocked.Read(ref delivered);

        public long Failed => Interlocked.Read(ref failed);

        public string? FirstError => Volatile.Read(ref firstError);

        public CameraStreamProgress Progress(long frames, long sent, TimeSpan elapsed) => new(frames, sent, Delivered, Failed, elapsed);

        /// <summary>A frame is about to be handed to the producer; its report will come.</summary>
        public void Expect() => Interlocked.Increment(ref outstanding);

        /// <summary>The producer did not take the frame after all; no report will come.</summary>
        public void Withdraw() => Done();

        /// <summary>The producer refused the frame at once.</summary>
        public void Refused(string frameId, Error error) => Fail(frameId, error, "could not be sent");

        public void Report(string frameId, Error error)
        {
            if (error.IsError)
            {
                Fail(frameId, error, "was not delivered");
            }
            else
            {
                Interlocked.Increment(ref delivered);
            }

            Done();
        }

        /// <summary>Completes once the sending loop has ended and every frame it handed over has a report.</summary>
        public Task AllReported()
        {
            Done();
            return allReported.Task;
        }

        private void Fail(string frameId, Error error, string what)
        {
            Interlocked.Increment(ref failed);
            Interlocked.CompareExchange(ref firstError, $"frame '{frameId}' {what}: {error.Reason} ({error.Code})", null);
        }

        private void Done()
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                allReported.TrySetResult();
            }
        }
    }
}
