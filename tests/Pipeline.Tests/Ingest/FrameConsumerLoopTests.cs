using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Ingest;
using Pipeline.Shared.Kafka;
using Pipeline.Simulation;
using Pipeline.Tests.Kafka;
using Xunit;
using ClusterCollection = Pipeline.Tests.Cluster.ClusterCollection;

namespace Pipeline.Tests.Ingest;

/// <summary>The frames consumer's loop on its own, over librdkafka's mock cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FrameConsumerLoopTests : IClassFixture<IngestKafkaFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly MockKafkaCluster cluster;

    public FrameConsumerLoopTests(IngestKafkaFixture fixture) => cluster = fixture.Cluster;

    [Fact]
    public async Task The_lag_counts_the_frames_waiting_in_partitions_the_paused_consumer_has_not_read_yet()
    {
        var name = $"lag-{Guid.NewGuid():N}";
        var topics = TestKafka.CreateTopics(cluster, name, framePartitions: 2, resultPartitions: 1);
        var kafka = TestKafka.Options(cluster, $"{name}-group", topics);
        using (var camera = KafkaClients.CreateProducer(kafka, "test-camera", PipelineTopic.Frames))
        {
            for (var i = 0; i < 20; i++)
                camera.Produce(new TopicPartition(topics.Frames, i % 2), new Message<string, byte[]> { Key = "camera", Value = [1, 2, 3] });
            Assert.Equal(0, camera.Flush(TimeSpan.FromSeconds(30)));
        }

        using var metrics = new IngestMetrics();
        var read = 0;
        // One frame in flight at most, never completed: the consumer reads one frame and pauses both partitions,
        // one of which it has never read from (librdkafka then knows no position for it).
        using var loop = new FrameConsumerLoop(kafka, maxInFlight: 1, _ => Interlocked.Increment(ref read), _ => { }, NullLogger.Instance, metrics);
        loop.Start();

        await Cluster.TestNodes.WaitUntilAsync(() => loop.InFlight == 1 && loop.Lag == 19, Patience,
            () => $"in flight {loop.InFlight}, lag {loop.Lag} (19 frames wait), read {read}");
        Assert.Equal(1, read);
    }

    [Fact]
    public async Task A_static_member_leaves_its_group_when_stopped_gracefully()
    {
        var name = $"leave-{Guid.NewGuid():N}";
        var topics = TestKafka.CreateTopics(cluster, name, framePartitions: 2, resultPartitions: 1);
        var kafka = TestKafka.Options(cluster, $"{name}-group", topics);
        kafka.GroupInstanceId = "node-a";
        kafka.Extra["debug"] = "cgrp"; // librdkafka then logs the LeaveGroup round trip
        var log = new RecordingLogger();
        using var metrics = new IngestMetrics();
        var loop = new FrameConsumerLoop(kafka, maxInFlight: 4, _ => { }, _ => { }, log, metrics);
        loop.Start();
        await Cluster.TestNodes.WaitUntilAsync(() => loop.Connected, Patience, () => "the consumer was given no partitions");

        loop.Dispose();

        // KIP-345: closing alone keeps a static member in the group until its session expires.
        Assert.Contains(log.Entries, entry => entry.Message.Contains("LeaveGroup response received", StringComparison.Ordinal));
        Assert.Contains(log.Entries, entry => entry.Message.Contains("Left group", StringComparison.Ordinal) && entry.Message.Contains("static member node-a", StringComparison.Ordinal));
    }
}
