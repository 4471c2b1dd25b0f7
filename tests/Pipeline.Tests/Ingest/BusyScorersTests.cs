using Pipeline.Ingest;
using Xunit;

namespace Pipeline.Tests.Ingest;

/// <summary>Backpressure per scorer: what each busy scorer holds, and when reading stops.</summary>
public sealed class BusyScorersTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_scorers_room_releases_only_the_frames_it_refused_in_the_order_it_refused_them()
    {
        var busy = new BusyScorers<string, int>(readingHeldAt: 10);

        Assert.True(busy.Refused("a", 1, Start));
        Assert.True(busy.Refused("b", 2, Start));
        Assert.False(busy.Refused("a", 3, Start), "a was busy already");

        Assert.Equal([2], busy.Available("b"));
        Assert.Empty(busy.Available("b"));
        Assert.Equal(["a"], busy.Scorers);
        Assert.Equal([1, 3], busy.Available("a"));
        Assert.Equal(0, busy.Waiting);
    }

    [Fact]
    public void Reading_is_held_while_the_frames_held_reach_the_bound()
    {
        var busy = new BusyScorers<string, int>(readingHeldAt: 2);

        busy.Refused("a", 1, Start);
        Assert.False(busy.HoldsReading);
        busy.Refused("b", 2, Start);
        Assert.True(busy.HoldsReading);
        busy.Available("a");
        Assert.False(busy.HoldsReading);
    }

    [Fact]
    public void A_scorer_is_silent_too_long_from_the_first_frame_it_refused()
    {
        var busy = new BusyScorers<string, int>(readingHeldAt: 10);
        busy.Refused("a", 1, Start);
        busy.Refused("b", 2, Start.AddSeconds(20));
        busy.Refused("a", 3, Start.AddSeconds(25));

        Assert.Equal(["a"], busy.BusySince(Start.AddSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(31), busy.BusyFor("a", Start.AddSeconds(31)));
        Assert.Null(busy.BusyFor("c", Start));
    }
}
