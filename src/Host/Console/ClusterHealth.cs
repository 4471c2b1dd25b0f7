using Akka.Actor;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>A cluster member as this node sees it.</summary>
public sealed record MemberView(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable, bool IsThisNode);

/// <summary>The frames group's committed offset and the high watermark of one partition; lag null when one is unknown.</summary>
public sealed record PartitionLag(int Partition, long? Committed, long? HighWatermark, long? Lag);

/// <summary>
/// The health page's figures that do not come from the feed: the cluster's members and their roles (this node's
/// Akka.Cluster state), and the consumer lag of the frames group (its committed offsets from Kafka's admin API against
/// each partition's high watermark).
/// </summary>
internal sealed class ClusterHealth(ActorSystem system, ConsoleKafka kafka, FrameImages images, ILogger<ClusterHealth> log) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private readonly Lazy<IAdminClient> admin = new(() => new AdminClientBuilder(KafkaClients.AdminConfig(kafka.Options, "console-admin")).Build());

    public IReadOnlyList<MemberView> Members()
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        return state.Members.OrderBy(member => member.Address.ToString(), StringComparer.Ordinal)
            .Select(member => new MemberView(member.Address.ToString(), member.Status.ToString(), member.Roles.Order(StringComparer.Ordinal).ToArray(),
                !state.Unreachable.Contains(member), member.Address == cluster.SelfAddress))
            .ToArray();
    }

    /// <summary>The lag of <see cref="ConsoleKafka.FramesGroup"/> on the frames topic, per partition; empty when Kafka does not answer.</summary>
    public async Task<IReadOnlyList<PartitionLag>> FramesLagAsync(CancellationToken cancellation)
    {
        var topic = kafka.Options.Topics.Frames;
        try
        {
            var metadata = await Task.Run(() => admin.Value.GetMetadata(topic, Patience), cancellation);
            var partitions = metadata.Topics.SingleOrDefault(t => t.Topic == topic)?.Partitions.Select(p => p.PartitionId).Order().ToArray() ?? [];
            if (partitions.Length == 0) return [];
            var offsets = await admin.Value.ListConsumerGroupOffsetsAsync(
                [new ConsumerGroupTopicPartitions(kafka.FramesGroup, partitions.Select(p => new TopicPartition(topic, p)).ToList())],
                new ListConsumerGroupOffsetsOptions { RequestTimeout = Patience });
            var committed = offsets.SelectMany(group => group.Partitions)
                .ToDictionary(p => p.Partition.Value, p => p.Offset.Value >= 0 ? p.Offset.Value : (long?)null);
            var high = await images.HighWatermarksAsync(topic, partitions, cancellation);
            return partitions.Select(p =>
            {
                var c = committed.GetValueOrDefault(p);
                var h = high.GetValueOrDefault(p);
                // A partition the group never committed on lags by everything on it.
                long? lag = h is { } hw ? hw - (c ?? 0) : null;
                return new PartitionLag(p, c, h, lag);
            }).ToArray();
        }
        catch (Exception e) when (e is KafkaException or ListConsumerGroupOffsetsException)
        {
            log.LogDebug("Console could not read the lag of {Group}: {Problem}", kafka.FramesGroup, e.Message);
            return [];
        }
    }

    public void Dispose()
    {
        if (admin.IsValueCreated) admin.Value.Dispose();
    }
}
