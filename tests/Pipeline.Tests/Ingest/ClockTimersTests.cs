using Akka.TestKit;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Ingest;
using Xunit;

namespace Pipeline.Tests.Ingest;

/// <summary>
/// The fake clock runs due timers within <c>Advance</c>, and a probe's queue is filled as the message is told, so
/// "nothing yet" is checked at once, without waiting.
/// </summary>
public sealed class ClockTimersTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 1, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly TestProbe owner;
    private readonly ClockTimers timers;

    public ClockTimersTests()
    {
        owner = CreateTestProbe("owner");
        timers = new ClockTimers(clock, owner.Ref);
    }

    [Fact]
    public void A_single_timer_tells_its_message_once_when_its_time_has_come()
    {
        timers.StartSingle("retry", "again", TimeSpan.FromSeconds(2));

        clock.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(owner.HasMessages, "told before its time");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        owner.ExpectMsg("again", TimeSpan.Zero);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(owner.HasMessages, "a single timer told twice");
    }

    [Fact]
    public void A_timer_started_again_under_its_key_replaces_the_first()
    {
        timers.StartSingle("retry", "first", TimeSpan.FromSeconds(1));
        timers.StartSingle("retry", "second", TimeSpan.FromSeconds(3));

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(owner.HasMessages, "the replaced timer still told");
        clock.Advance(TimeSpan.FromSeconds(1));
        owner.ExpectMsg("second", TimeSpan.Zero);
    }

    [Fact]
    public void A_periodic_timer_tells_its_message_every_interval()
    {
        timers.StartPeriodic("sweep", "sweep", TimeSpan.FromSeconds(1));

        clock.Advance(TimeSpan.FromSeconds(3));
        owner.ExpectMsg("sweep", TimeSpan.Zero);
        owner.ExpectMsg("sweep", TimeSpan.Zero);
        owner.ExpectMsg("sweep", TimeSpan.Zero);
        Assert.False(owner.HasMessages);
    }

    [Fact]
    public void A_timer_due_at_once_is_told_on_the_next_tick_of_the_clock()
    {
        timers.StartSingle("retry", "now", TimeSpan.Zero);

        clock.Advance(TimeSpan.Zero);
        owner.ExpectMsg("now", TimeSpan.Zero);
    }

    [Fact]
    public void Disposed_timers_tell_nothing_more_and_start_no_new_ones()
    {
        timers.StartSingle("retry", "again", TimeSpan.FromSeconds(1));
        timers.StartPeriodic("sweep", "sweep", TimeSpan.FromSeconds(1));

        timers.Dispose();
        timers.StartSingle("late", "late", TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.False(owner.HasMessages, "a disposed timer told its message");
    }
}
