using Pipeline.Scoring;
using Xunit;

namespace Pipeline.Tests.Scoring;

public class DynamicBatcherTests
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(20);
    private readonly ManualClock clock = new();

    private DynamicBatcher<int> Batcher(int maxBatchViews) => new(maxBatchViews, MaxWait, clock);

    [Fact]
    public void A_batch_is_ready_as_soon_as_it_holds_the_most_views_allowed()
    {
        var batcher = Batcher(maxBatchViews: 16);
        for (var frame = 1; frame <= 3; frame++) batcher.Add(frame);
        Assert.Empty(batcher.TakeReady(viewsPerFrame: 4));

        batcher.Add(4);
        batcher.Add(5);
        Assert.Equal([1, 2, 3, 4], batcher.TakeReady(viewsPerFrame: 4));
        Assert.Equal(1, batcher.Count);
    }

    [Fact]
    public void A_partial_batch_is_ready_when_its_oldest_frame_has_waited_the_longest_wait()
    {
        var batcher = Batcher(maxBatchViews: 64);
        batcher.Add(1);
        clock.Advance(TimeSpan.FromMilliseconds(15));
        batcher.Add(2);
        Assert.Equal(TimeSpan.FromMilliseconds(5), batcher.DueIn());
        Assert.Empty(batcher.TakeReady(viewsPerFrame: 4));

        clock.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(TimeSpan.Zero, batcher.DueIn());
        Assert.Equal([1, 2], batcher.TakeReady(viewsPerFrame: 4));
        Assert.Null(batcher.DueIn());
    }

    [Fact]
    public void A_frame_is_never_split_a_batch_holds_whole_frames_only()
    {
        var batcher = Batcher(maxBatchViews: 10);
        for (var frame = 1; frame <= 5; frame++) batcher.Add(frame);

        // 3 views per frame: 3 frames (9 views) fit in 10, a fourth would need 12.
        Assert.Equal([1, 2, 3], batcher.TakeReady(viewsPerFrame: 3));
        clock.Advance(MaxWait);
        Assert.Equal([4, 5], batcher.TakeReady(viewsPerFrame: 3));
    }

    [Fact]
    public void A_frame_with_more_views_than_a_batch_holds_goes_alone()
    {
        var batcher = Batcher(maxBatchViews: 8);
        batcher.Add(1);
        batcher.Add(2);
        Assert.Equal([1], batcher.TakeReady(viewsPerFrame: 16));
        Assert.Equal([2], batcher.TakeReady(viewsPerFrame: 16));
    }

    [Fact]
    public void A_freed_device_takes_what_waits_without_waiting_longer_up_to_a_full_batch()
    {
        var batcher = Batcher(maxBatchViews: 8);
        for (var frame = 1; frame <= 3; frame++) batcher.Add(frame);
        Assert.Equal([1, 2], batcher.TakeNext(viewsPerFrame: 4));
        Assert.Equal([3], batcher.TakeNext(viewsPerFrame: 4));
        Assert.Empty(batcher.TakeNext(viewsPerFrame: 4));
    }

    [Fact]
    public void Frames_leave_in_the_order_they_came_and_TakeAll_empties_the_batcher()
    {
        var batcher = Batcher(maxBatchViews: 4);
        for (var frame = 1; frame <= 6; frame++) batcher.Add(frame);
        Assert.Equal([1, 2, 3, 4], batcher.TakeReady(viewsPerFrame: 1));
        Assert.Equal([5, 6], batcher.TakeAll());
        Assert.Equal(0, batcher.Count);
    }

    [Fact]
    public void The_oldest_frames_kind_decides_the_batch_and_frames_of_other_kinds_keep_their_places()
    {
        var batcher = Batcher(maxBatchViews: 8);
        foreach (var frame in new[] { 1, 20, 3, 40, 5, 7 }) batcher.Add(frame); // kinds: odd small frames, even large ones

        Assert.Equal([1, 3, 5, 7], batcher.TakeNext(frame => frame % 2, _ => 2));
        Assert.Equal([20, 40], batcher.TakeNext(frame => frame % 2, _ => 2));
        Assert.Equal(0, batcher.Count);
    }

    [Fact]
    public void A_full_batch_of_another_kind_waits_until_the_oldest_frames_batch_is_due()
    {
        var batcher = Batcher(maxBatchViews: 8);
        batcher.Add(20);
        foreach (var frame in new[] { 1, 3, 5, 7 }) batcher.Add(frame);
        Assert.Empty(batcher.TakeReady(frame => frame % 2, _ => 2));

        clock.Advance(MaxWait);
        Assert.Equal([20], batcher.TakeReady(frame => frame % 2, _ => 2));
        Assert.Equal([1, 3, 5, 7], batcher.TakeReady(frame => frame % 2, _ => 2)); // full
    }

    [Fact]
    public void Frames_weigh_their_own_views_and_a_batch_is_full_when_the_next_frame_of_its_kind_does_not_fit()
    {
        var batcher = Batcher(maxBatchViews: 8);
        batcher.Add(1); // 4 views
        batcher.Add(2); // 2 views
        Assert.Empty(batcher.TakeReady(_ => 0, frame => frame == 2 ? 2 : 4)); // 6 views: room for one of 2
        batcher.Add(3); // 4 views: does not fit

        Assert.Equal([1, 2], batcher.TakeReady(_ => 0, frame => frame == 2 ? 2 : 4));
        Assert.Equal(1, batcher.Count);
    }

    [Fact]
    public void With_shares_a_batch_holds_the_most_views_of_every_share_and_is_full_when_the_oldest_frames_share_is()
    {
        var batcher = Batcher(maxBatchViews: 4);
        // Frames 1–9 of share "a" (odd) and "b" (even) interleaved, 2 views each: room for two of each share.
        foreach (var frame in new[] { 1, 2, 3, 4, 5, 6, 7 }) batcher.Add(frame);

        Assert.Equal([1, 2, 3, 4], batcher.TakeReady(_ => 0, frame => frame % 2, _ => 2)); // "a" is full: 5 was left over
        Assert.Equal([5, 6, 7], batcher.TakeNext(_ => 0, frame => frame % 2, _ => 2));
    }

    [Fact]
    public void A_share_that_is_not_full_waits_for_its_oldest_frame_though_another_share_is_full()
    {
        var batcher = Batcher(maxBatchViews: 4);
        foreach (var frame in new[] { 1, 2, 4, 6 }) batcher.Add(frame);

        Assert.Empty(batcher.TakeReady(_ => 0, frame => frame % 2, _ => 2)); // "a" (1) has room; "b" is full and 6 is left over

        clock.Advance(MaxWait);
        Assert.Equal([1, 2, 4], batcher.TakeReady(_ => 0, frame => frame % 2, _ => 2));
        Assert.Equal([6], batcher.TakeNext(_ => 0, frame => frame % 2, _ => 2));
    }

    [Fact]
    public void A_share_keeps_its_frames_in_order_a_lighter_later_frame_does_not_pass_one_left_over()
    {
        var batcher = Batcher(maxBatchViews: 4);
        foreach (var frame in new[] { 1, 3, 5 }) batcher.Add(frame);

        // 1 weighs 2, 3 weighs 4 (does not fit), 5 weighs 2 (would fit, but comes after 3).
        Assert.Equal([1], batcher.TakeReady(_ => 0, _ => "a", frame => frame == 3 ? 4 : 2));
        Assert.Equal([3], batcher.TakeReady(_ => 0, _ => "a", frame => frame == 3 ? 4 : 2));
    }
}
