using System.Threading.Channels;
using Akka.Actor;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;

namespace Pipeline.Ingest;

/// <summary>
/// Decodes and prepares frames (<see cref="ImageDecoder.Decode"/>, then <see cref="FramePreparation.Prepare"/>) on a
/// fixed number of threads of their own, fed by a bounded channel, and tells each outcome to the job's
/// <see cref="DecodeFrame.ReplyTo"/> as a <see cref="FrameDecoded"/> or <see cref="FrameUndecodable"/>.
/// </summary>
/// <remarks>
/// Decoding a large JPEG takes tens of milliseconds of CPU. As one thread-pool task per frame, 64 frames in flight
/// were 64 pool work items in front of the mailbox runs of every actor of the node (Akka's default dispatcher runs on
/// the same pool), and the actors waited until the pool had grown. Here decoding never touches the pool: at most
/// <see cref="Workers"/> frames are decoded at once, the rest wait in the channel (at most its capacity; the owner
/// keeps what does not fit), and the pool stays free for the actors.
/// <para>
/// <see cref="Dispose"/> closes the channel: each worker finishes the frame in hand and stops, frames still queued are
/// dropped, and nothing more is told. It never waits for a worker, so an actor may call it in <c>PostStop</c>.
/// </para>
/// </remarks>
public sealed class FrameDecodeWorkers : IDisposable
{
    private readonly Channel<DecodeFrame> queue;
    private readonly Func<DecodeFrame, (RgbImage Image, FrameSize OriginalSize)> prepare;
    private volatile bool stopped;

    /// <param name="workers">Threads decoding at once (<see cref="IngestOptions.DecodeWorkers"/>).</param>
    /// <param name="capacity">Frames waiting for a worker, at most; <see cref="TryQueue"/> refuses more.</param>
    public FrameDecodeWorkers(int workers, int capacity)
        : this(workers, capacity, DecodeAndPrepareKeepingSize)
    {
    }

    /// <param name="prepare">Stands in for decoding and preparing (tests): bytes and frame size in, prepared image out.</param>
    internal FrameDecodeWorkers(int workers, int capacity, Func<DecodeFrame, RgbImage> prepare)
        : this(workers, capacity, job => prepare(job) is var image ? (image, new FrameSize(image.Width, image.Height)) : default)
    {
    }

    private FrameDecodeWorkers(int workers, int capacity, Func<DecodeFrame, (RgbImage Image, FrameSize OriginalSize)> prepare)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        this.prepare = prepare;
        // Synchronous continuations: the only readers are these threads blocked in WaitToReadAsync, so a write wakes
        // one of them directly instead of through a thread-pool work item.
        queue = Channel.CreateBounded<DecodeFrame>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = false,
            AllowSynchronousContinuations = true,
        });
        Workers = workers;
        for (var i = 0; i < workers; i++)
            new Thread(Work) { IsBackground = true, Name = $"frame-decode-{i + 1}" }.Start();
    }

    /// <summary>Threads decoding at once.</summary>
    public int Workers { get; }

    /// <summary>Queues a frame for a worker; false when the channel is full or closed (never waits).</summary>
    public bool TryQueue(DecodeFrame job) => !stopped && queue.Writer.TryWrite(job);

    public void Dispose()
    {
        stopped = true;
        queue.Writer.TryComplete();
    }

    /// <summary>
    /// What a worker does with a frame unless a test stands in: decode, then prepare to the model's size; the size the
    /// camera sent is kept, since anomaly regions are given in its pixels.
    /// </summary>
    private static (RgbImage Image, FrameSize OriginalSize) DecodeAndPrepareKeepingSize(DecodeFrame job)
    {
        var decoded = ImageDecoder.Decode(job.Encoded, job.Name, job.MaxPixels);
        return (FramePreparation.Prepare(decoded, job.Size), new FrameSize(decoded.Width, decoded.Height));
    }

    private void Work()
    {
        var reader = queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (!stopped && reader.TryRead(out var job))
            {
                var outcome = Run(job);
                if (!stopped) job.ReplyTo.Tell(outcome, ActorRefs.NoSender);
            }

            if (stopped) return;
        }
    }

    private object Run(DecodeFrame job)
    {
        try
        {
            var (image, originalSize) = prepare(job);
            return new FrameDecoded(job.Ticket, image, job.Size, originalSize);
        }
        catch (ImageDecodeException decode)
        {
            return new FrameUndecodable(job.Ticket,
                decode.Reason == ImageDecodeFailure.TooLarge ? DeadLetterReasons.Oversized : DeadLetterReasons.UndecodableImage, decode.Message);
        }
        catch (Exception e)
        {
            return new FrameUndecodable(job.Ticket, DeadLetterReasons.UndecodableImage, $"Decoding {job.Name} failed: {e.Message}");
        }
    }
}

/// <summary>A frame to decode and prepare to <paramref name="Size"/>×<paramref name="Size"/>.</summary>
/// <param name="Ticket">The owner's handle of the frame, repeated in the answer.</param>
/// <param name="Name">How errors name the frame.</param>
/// <param name="MaxPixels">Pictures whose header declares more pixels are refused before decoding.</param>
/// <param name="ReplyTo">Told the <see cref="FrameDecoded"/> or <see cref="FrameUndecodable"/>.</param>
public sealed record DecodeFrame(long Ticket, byte[] Encoded, string Name, long MaxPixels, int Size, IActorRef ReplyTo);

/// <summary>The frame of <paramref name="Ticket"/>, decoded and prepared to <paramref name="Size"/>; <paramref name="OriginalSize"/> is the picture's size as sent.</summary>
public sealed record FrameDecoded(long Ticket, RgbImage Image, int Size, FrameSize OriginalSize);

/// <summary>The frame of <paramref name="Ticket"/> cannot be inspected: its dead-letter reason and the decoder's sentence.</summary>
public sealed record FrameUndecodable(long Ticket, string ReasonCode, string Detail);
