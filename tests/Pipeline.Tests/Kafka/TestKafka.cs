using Pipeline.Shared.Kafka;

namespace Pipeline.Tests.Kafka;

/// <summary>How tests reach librdkafka's mock cluster: client settings for quick groups, and topics of a test's own.</summary>
internal static class TestKafka
{
    /// <summary>librdkafka settings that keep tests on the mock cluster quick.</summary>
    public static IReadOnlyDictionary<string, string> QuickGroups { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Come back quickly once a broker returns (librdkafka backs off up to 10 s by default).
        ["reconnect.backoff.max.ms"] = "200",
        // When a group's last member leaves, the mock holds newcomers for session.timeout.ms - 1 s
        // (a real broker empties the group at once); keep that short.
        ["session.timeout.ms"] = "2000",
        ["heartbeat.interval.ms"] = "500",
    };

    /// <summary>Options for clients of <paramref name="cluster"/> in consumer group <paramref name="group"/>, with <see cref="QuickGroups"/>.</summary>
    public static KafkaOptions Options(MockKafkaCluster cluster, string group, TopicNames? topics = null) => new()
    {
        BootstrapServers = cluster.BootstrapServers,
        ConsumerGroup = group,
        Extra = new Dictionary<string, string>(QuickGroups, StringComparer.Ordinal),
        Topics = topics ?? new TopicNames(),
    };

    /// <summary>
    /// The pipeline's topics named after <paramref name="name"/> (<c>name-frames</c>, …), created on
    /// <paramref name="cluster"/>, so that tests sharing a cluster do not see each other's messages.
    /// </summary>
    public static TopicNames CreateTopics(MockKafkaCluster cluster, string name, int framePartitions, int resultPartitions)
    {
        var topics = new TopicNames
        {
            Frames = $"{name}-frames", Results = $"{name}-results", Anomalies = $"{name}-anomalies",
            DeadLetter = $"{name}-dead-letter", Labels = $"{name}-labels", ModelEvents = $"{name}-model-events",
            AnomalyMaps = $"{name}-anomaly-maps",
        };
        cluster.CreateTopic(topics.Frames, framePartitions);
        cluster.CreateTopic(topics.Results, resultPartitions);
        cluster.CreateTopic(topics.Anomalies, resultPartitions);
        cluster.CreateTopic(topics.DeadLetter, 1);
        cluster.CreateTopic(topics.Labels, 1);
        cluster.CreateTopic(topics.ModelEvents, 1);
        cluster.CreateTopic(topics.AnomalyMaps, resultPartitions);
        return topics;
    }
}
