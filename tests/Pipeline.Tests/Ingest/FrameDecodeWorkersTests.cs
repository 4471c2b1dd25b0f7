using Akka.TestKit;
using Pipeline.Ingest;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Imaging;
using Xunit;

namespace Pipeline.Tests.Ingest;

public sealed class FrameDecodeWorkersTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly RgbImage Prepared = TestPictures.Uniform(8, 8, (1, 2, 3));

    private readonly TestProbe owner;

    public FrameDecodeWorkersTests() => owner = CreateTestProbe("ingest");

    [Fact]
    public void A_frame_is_decoded_prepared_and_told_to_its_owner_as_a_message()
    {
        using var workers = new FrameDecodeWorkers(workers: 1, capacity: 4);
        var png = ImageEncoding.ToPng(TestPictures.ColourGradient(40, 30));

        Assert.True(workers.TryQueue(Job(ticket: 7, png, size: 16)));

        var decoded = owner.ExpectMsg<FrameDecoded>(Patience);
        Assert.Equal((7L, 16, 16, 16), (decoded.Ticket, decoded.Size, decoded.Image.Width, decoded.Image.Height));
    }

    [Fact]
    public void A_picture_whose_header_declares_too_many_pixels_comes_back_oversized_naming_its_size()
    {
        using var workers = new FrameDecodeWorkers(workers: 1, capacity: 4);

        Assert.True(workers.TryQueue(Job(ticket: 1, DeclaredSizeFiles.Jpeg(30_000, 30_000), size: 16)));

        var refused = owner.ExpectMsg<FrameUndecodable>(Patience);
        Assert.Equal((1L, DeadLetterReasons.Oversized), (refused.Ticket, refused.ReasonCode));
        Assert.Contains("30000x30000 JPEG image", refused.Detail);
    }

    [Fact]
    public void Bytes_that_are_not_an_image_come_back_undecodable_with_the_decoders_sentence()
    {
        using var workers = new FrameDecodeWorkers(workers: 1, capacity: 4);

        Assert.True(workers.TryQueue(Job(ticket: 2, "not an image"u8.ToArray(), size: 16)));

        var refused = owner.ExpectMsg<FrameUndecodable>(Patience);
        Assert.Equal((2L, DeadLetterReasons.UndecodableImage), (refused.Ticket, refused.ReasonCode));
        Assert.Contains("not in an image format this decoder reads", refused.Detail);
    }

    [Fact]
    public void Frames_are_decoded_on_the_workers_own_threads_never_on_the_thread_pool()
    {
        var threads = new System.Collections.Concurrent.ConcurrentBag<(string? Name, bool Pool)>();
        using var workers = new FrameDecodeWorkers(workers: 2, capacity: 8, job =>
        {
            threads.Add((Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));
            return Prepared;
        });

        for (var ticket = 0; ticket < 8; ticket++) Assert.True(workers.TryQueue(Job(ticket, [], size: 8)));
        for (var ticket = 0; ticket < 8; ticket++) owner.ExpectMsg<FrameDecoded>(Patience);

        Assert.Equal(8, threads.Count);
        Assert.All(threads, thread => Assert.False(thread.Pool, $"a frame was decoded on pool thread '{thread.Name}'"));
        Assert.Subset(new HashSet<string?> { "frame-decode-1", "frame-decode-2" }, threads.Select(thread => thread.Name).ToHashSet());
    }

    [Fact]
    public void At_most_the_configured_number_of_frames_are_decoded_at_once()
    {
        using var gate = new ManualResetEventSlim();
        using var started = new SemaphoreSlim(0);
        var (running, most) = (0, 0);
        using var workers = new FrameDecodeWorkers(workers: 2, capacity: 8, job =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            started.Release();
            gate.Wait(Patience);
            Interlocked.Decrement(ref running);
            return Prepared;
        });

        for (var ticket = 0; ticket < 6; ticket++) Assert.True(workers.TryQueue(Job(ticket, [], size: 8)));
        Assert.True(started.Wait(Patience) && started.Wait(Patience), "two workers should have started");
        Assert.Equal(2, Volatile.Read(ref running)); // both blocked on the gate; no third thread to start a third frame
        gate.Set();

        var answered = Enumerable.Range(0, 6).Select(_ => owner.ExpectMsg<FrameDecoded>(Patience).Ticket).Order();
        Assert.Equal([0L, 1, 2, 3, 4, 5], answered);
        Assert.Equal(2, most);
    }

    [Fact]
    public void A_full_queue_refuses_the_next_frame_at_once_instead_of_waiting_for_room()
    {
        using var gate = new ManualResetEventSlim();
        using var started = new SemaphoreSlim(0);
        using var workers = new FrameDecodeWorkers(workers: 1, capacity: 2, job =>
        {
            started.Release();
            gate.Wait(Patience);
            return Prepared;
        });

        Assert.True(workers.TryQueue(Job(0, [], size: 8)));
        Assert.True(started.Wait(Patience), "the worker should have taken the first frame");
        Assert.True(workers.TryQueue(Job(1, [], size: 8)));
        Assert.True(workers.TryQueue(Job(2, [], size: 8)));
        Assert.False(workers.TryQueue(Job(3, [], size: 8)));

        gate.Set();
        for (var ticket = 0; ticket < 3; ticket++) Assert.Equal(ticket, owner.ExpectMsg<FrameDecoded>(Patience).Ticket);
    }

    [Fact]
    public void Once_disposed_the_workers_take_no_more_frames()
    {
        var workers = new FrameDecodeWorkers(workers: 1, capacity: 2);
        workers.Dispose();

        Assert.False(workers.TryQueue(Job(0, [], size: 8)));
    }

    private DecodeFrame Job(long ticket, byte[] encoded, int size) => new(ticket, encoded, $"frame {ticket}", 50_000_000, size, owner.Ref);

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
