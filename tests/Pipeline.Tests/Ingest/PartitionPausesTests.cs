using Confluent.Kafka;
using Pipeline.Ingest;
using Xunit;

namespace Pipeline.Tests.Ingest;

public sealed class PartitionPausesTests
{
    private static readonly TopicPartition P0 = new("frames", 0);
    private static readonly TopicPartition P1 = new("frames", 1);

    [Fact]
    public void Partitions_are_told_once_each_time_the_wanted_state_changes()
    {
        var pauses = new PartitionPauses();
        pauses.Assigned([P0, P1]);

        Assert.Equal(("", "01"), Lists(pauses.Reconcile([P0, P1], pause: false)));
        Assert.Equal(("", ""), Lists(pauses.Reconcile([P0, P1], pause: false)));
        Assert.Equal(("01", ""), Lists(pauses.Reconcile([P0, P1], pause: true)));
        Assert.Equal(("", ""), Lists(pauses.Reconcile([P0, P1], pause: true)));
        Assert.Equal(2, pauses.PausedCount);
        Assert.Equal(("", "01"), Lists(pauses.Reconcile([P0, P1], pause: false)));
    }

    [Fact]
    public void A_partition_paused_then_lost_and_granted_again_is_resumed()
    {
        // librdkafka hands such a partition back still paused by the application; it must be told to resume.
        var pauses = new PartitionPauses();
        pauses.Assigned([P0, P1]);
        pauses.Reconcile([P0, P1], pause: true);

        pauses.Removed([P0, P1]);
        Assert.Equal(("", ""), Lists(pauses.Reconcile([], pause: false))); // nothing assigned while lost
        pauses.Assigned([P0, P1]);

        Assert.Equal(("", "01"), Lists(pauses.Reconcile([P0, P1], pause: false)));
    }

    [Fact]
    public void A_partition_granted_while_the_consumer_is_at_its_limit_is_paused_too()
    {
        var pauses = new PartitionPauses();
        pauses.Assigned([P0]);
        pauses.Reconcile([P0], pause: true);

        pauses.Assigned([P1]);

        Assert.Equal(("1", ""), Lists(pauses.Reconcile([P0, P1], pause: true)));
    }

    [Fact]
    public void Partitions_no_longer_assigned_are_forgotten()
    {
        var pauses = new PartitionPauses();
        pauses.Assigned([P0, P1]);
        pauses.Reconcile([P0, P1], pause: true);

        pauses.Reconcile([P0], pause: true);

        Assert.Equal(1, pauses.PausedCount);
    }

    /// <summary>The partition numbers to pause and to resume, e.g. ("", "01").</summary>
    private static (string Pause, string Resume) Lists((IReadOnlyList<TopicPartition> Pause, IReadOnlyList<TopicPartition> Resume) told) =>
        (string.Concat(told.Pause.Select(p => p.Partition.Value)), string.Concat(told.Resume.Select(p => p.Partition.Value)));
}
