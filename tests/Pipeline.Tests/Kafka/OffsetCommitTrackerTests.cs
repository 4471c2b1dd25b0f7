using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Kafka;

public class OffsetCommitTrackerTests
{
    private static readonly TopicPartition P0 = new("frames", 0);
    private static readonly TopicPartition P1 = new("frames", 1);

    private static TopicPartitionOffset At(TopicPartition partition, long offset) => new(partition, offset);

    private static void Start(OffsetCommitTracker tracker, TopicPartition partition, params long[] offsets)
    {
        foreach (var offset in offsets)
        {
            tracker.Started(At(partition, offset));
        }
    }

    private static void Complete(OffsetCommitTracker tracker, TopicPartition partition, params long[] offsets)
    {
        foreach (var offset in offsets)
        {
            Assert.True(tracker.Completed(At(partition, offset)), $"offset {offset} was not in flight");
        }
    }

    [Fact]
    public void Frames_completed_in_order_commit_the_offset_after_the_last()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1, 2);
        Complete(tracker, P0, 0, 1, 2);

        Assert.Equal([At(P0, 3)], tracker.TakeCommittable());
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void A_later_frame_finishing_first_commits_nothing_until_the_earlier_one_finishes()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 10, 11, 12);

        Complete(tracker, P0, 12, 11);
        Assert.Empty(tracker.TakeCommittable());
        Assert.Equal(1, tracker.InFlight);

        Complete(tracker, P0, 10);
        Assert.Equal([At(P0, 13)], tracker.TakeCommittable());
    }

    [Fact]
    public void The_commit_stops_at_the_first_frame_still_in_flight()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1, 2, 3, 4);
        Complete(tracker, P0, 0, 1, 3, 4);

        Assert.Equal([At(P0, 2)], tracker.TakeCommittable());
        Assert.Equal(1, tracker.InFlightIn(P0));
    }

    [Fact]
    public void Offsets_never_read_do_not_hold_a_partition_back()
    {
        // Compaction or transaction markers leave gaps: 3, 4, 7 are read, 5 and 6 never exist.
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 3, 4, 7);
        Complete(tracker, P0, 7, 3);
        Assert.Equal([At(P0, 4)], tracker.TakeCommittable());

        Complete(tracker, P0, 4);
        Assert.Equal([At(P0, 8)], tracker.TakeCommittable());
    }

    [Fact]
    public void A_position_is_handed_out_once_and_only_when_it_moves()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1);
        Assert.Empty(tracker.TakeCommittable()); // nothing done yet: the start position needs no commit

        Complete(tracker, P0, 0);
        Assert.Equal([At(P0, 1)], tracker.TakeCommittable());
        Assert.Empty(tracker.TakeCommittable());

        Start(tracker, P0, 2);
        Assert.Empty(tracker.TakeCommittable());
    }

    [Fact]
    public void Partitions_are_tracked_independently()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1);
        Start(tracker, P1, 50, 51);
        Complete(tracker, P1, 51, 50);
        Complete(tracker, P0, 1);

        Assert.Equal([At(P1, 52)], tracker.TakeCommittable());
        Assert.Equal(1, tracker.InFlight);
        Assert.Equal(1, tracker.InFlightIn(P0));
        Assert.Equal(0, tracker.InFlightIn(P1));
    }

    [Fact]
    public void Revoking_a_partition_hands_out_its_final_commit_and_forgets_it()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1, 2);
        Start(tracker, P1, 0);
        Complete(tracker, P0, 0);

        var final = tracker.Revoked([P0]);

        Assert.Equal([At(P0, 1)], final);
        Assert.Equal(1, tracker.InFlight); // P1's frame only
        Assert.False(tracker.Completed(At(P0, 1))); // a late acknowledgement of a revoked frame is ignored
        Assert.Empty(tracker.TakeCommittable());
    }

    [Fact]
    public void A_partition_assigned_again_after_revocation_starts_from_where_it_is_read()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1, 2);
        Complete(tracker, P0, 0, 1, 2);
        Assert.Equal([At(P0, 3)], tracker.Revoked([P0]));

        // Another member had it meanwhile and committed up to 9.
        Start(tracker, P0, 9, 10);
        Complete(tracker, P0, 9);
        Assert.Equal([At(P0, 10)], tracker.TakeCommittable());
    }

    [Fact]
    public void Lost_partitions_are_forgotten_without_commits()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1);
        Complete(tracker, P0, 0);

        tracker.Lost([P0]);

        Assert.Equal(0, tracker.InFlight);
        Assert.Empty(tracker.TakeCommittable());
        Assert.Empty(tracker.Revoked([P0]));
    }

    [Fact]
    public void A_repeated_acknowledgement_is_ignored()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1);
        Complete(tracker, P0, 1);

        Assert.False(tracker.Completed(At(P0, 1)));
        Assert.False(tracker.Completed(At(P0, 7)));
        Assert.Equal(1, tracker.InFlight);
        Assert.Empty(tracker.TakeCommittable());
    }

    [Fact]
    public void A_frame_restarted_after_completion_holds_its_partition_without_moving_the_commit_back()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 0, 1, 2);
        Complete(tracker, P0, 0, 1, 2);
        Assert.Equal([At(P0, 3)], tracker.TakeCommittable());

        // The consumer seeks back and reads 1 again.
        Start(tracker, P0, 1);
        Assert.Empty(tracker.TakeCommittable());
        Complete(tracker, P0, 1);
        Assert.Empty(tracker.TakeCommittable());

        Start(tracker, P0, 3);
        Complete(tracker, P0, 3);
        Assert.Equal([At(P0, 4)], tracker.TakeCommittable());
    }

    [Fact]
    public void Starting_a_frame_already_in_flight_or_a_special_offset_is_refused()
    {
        var tracker = new OffsetCommitTracker();
        Start(tracker, P0, 5);

        Assert.Throws<ArgumentException>(() => tracker.Started(At(P0, 5)));
        Assert.Throws<ArgumentException>(() => tracker.Started(new TopicPartitionOffset(P0, Offset.End)));
        Assert.Throws<ArgumentException>(() => tracker.Completed(new TopicPartitionOffset(P0, Offset.Unset)));
        Assert.Equal(1, tracker.InFlight);
    }

    [Fact]
    public void Random_completion_orders_always_commit_exactly_the_contiguous_prefix()
    {
        var random = new Random(11);
        for (var round = 0; round < 200; round++)
        {
            var tracker = new OffsetCommitTracker();
            var offsets = Enumerable.Range(0, random.Next(1, 40)).Select(i => (long)(100 + i)).ToArray();
            Start(tracker, P0, offsets);
            var completed = new HashSet<long>();
            var lastCommit = 100L;
            foreach (var offset in offsets.OrderBy(_ => random.Next()))
            {
                Complete(tracker, P0, offset);
                completed.Add(offset);
                var expected = 100L + offsets.TakeWhile(completed.Contains).Count();

                var commits = tracker.TakeCommittable();

                if (expected > lastCommit)
                {
                    Assert.Equal([At(P0, expected)], commits);
                    lastCommit = expected;
                }
                else
                {
                    Assert.Empty(commits);
                }
            }

            Assert.Equal(offsets[^1] + 1, lastCommit);
            Assert.Equal(0, tracker.InFlight);
        }
    }
}
