using Pipeline.Ingest;
using Pipeline.Tests.Scoring;
using Xunit;

namespace Pipeline.Tests.Ingest;

public sealed class ConsumerStallWatchTests
{
    private static readonly IngestOptions Options = new() { NotReadyAfterStalledSeconds = 60, NotLiveAfterStalledSeconds = 300 };
    private readonly ManualClock clock = new();

    private static ConsumerProgress Waiting(long read, bool brokersReachable = true) =>
        new(AssignedPartitions: 2, Lag: 85, FreeSlots: 64, FramesRead: read, brokersReachable);

    [Fact]
    public void A_consumer_with_frames_waiting_and_room_that_reads_nothing_is_not_ready_after_a_minute_and_not_live_after_five()
    {
        var watch = new ConsumerStallWatch(clock);
        watch.Report(Waiting(read: 150));

        Pass(watch, TimeSpan.FromSeconds(59), read: 150);
        Assert.False(watch.Check().MakesNotReady(Options));

        Pass(watch, TimeSpan.FromSeconds(2), read: 150);
        var stall = watch.Check();
        Assert.True(stall.MakesNotReady(Options));
        Assert.False(stall.MakesNotLive(Options));
        Assert.Contains("85 frame(s) waiting", stall.Reason);
        Assert.Contains("read none for 61 s", stall.Reason);

        Pass(watch, TimeSpan.FromSeconds(240), read: 150);
        Assert.True(watch.Check().MakesNotLive(Options));
    }

    [Fact]
    public void Reading_a_frame_ends_the_stall()
    {
        var watch = new ConsumerStallWatch(clock);
        watch.Report(Waiting(read: 10));
        Pass(watch, TimeSpan.FromSeconds(90), read: 10);
        Assert.True(watch.Check().MakesNotReady(Options));

        watch.Report(Waiting(read: 11));

        Assert.False(watch.Check().IsStalled);
    }

    [Theory]
    [InlineData(0, 85, 64)] // no partitions: nothing to read
    [InlineData(2, 0, 64)] // nothing waiting
    [InlineData(2, 85, 0)] // at the in-flight limit, or held by scoring
    public void A_consumer_with_nothing_it_could_read_is_not_stalled(int partitions, long lag, int freeSlots)
    {
        var watch = new ConsumerStallWatch(clock);
        var idle = new ConsumerProgress(partitions, lag, freeSlots, FramesRead: 5, BrokersReachable: true);
        watch.Report(idle);
        clock.Advance(TimeSpan.FromMinutes(10));
        watch.Report(idle);

        Assert.False(watch.Check().IsStalled);
    }

    [Fact]
    public void A_stall_while_the_brokers_are_unreachable_makes_the_node_not_ready_but_not_restarted()
    {
        var watch = new ConsumerStallWatch(clock);
        watch.Report(Waiting(read: 3, brokersReachable: false));
        clock.Advance(TimeSpan.FromMinutes(10));
        watch.Report(Waiting(read: 3, brokersReachable: false));

        var stall = watch.Check();
        Assert.True(stall.MakesNotReady(Options));
        Assert.False(stall.MakesNotLive(Options));
        Assert.Contains("unreachable", stall.Reason);
    }

    [Fact]
    public void A_consumer_thread_that_stops_reporting_while_frames_wait_counts_as_stalled()
    {
        var watch = new ConsumerStallWatch(clock);
        watch.Report(Waiting(read: 7));

        clock.Advance(TimeSpan.FromSeconds(61)); // no report since: the thread hangs

        var stall = watch.Check();
        Assert.True(stall.MakesNotReady(Options));
        Assert.Contains("has not reported for 61 s", stall.Reason);
    }

    [Fact]
    public void A_stopped_consumer_is_not_stalled()
    {
        var watch = new ConsumerStallWatch(clock);
        watch.Report(Waiting(read: 7));
        watch.Stopped();
        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.False(watch.Check().IsStalled);
    }

    /// <summary>Time passes with the consumer reporting every second, as its loop does.</summary>
    private void Pass(ConsumerStallWatch watch, TimeSpan duration, long read)
    {
        for (var t = TimeSpan.Zero; t < duration; t += TimeSpan.FromSeconds(1))
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            watch.Report(Waiting(read));
        }
    }
}
