using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Pipeline.Host.Hosting;
using Pipeline.Scoring;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Simulation;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Support;
using Pipeline.Tests.Kafka;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Streaming;

/// <summary>
/// What an end-to-end streaming test stands on: librdkafka's mock cluster with the pipeline's topics, a tiny real
/// model saved as an artifact (64 px, 4 views) whose threshold splits generated good and defective parts, and
/// camera frames made of such parts. Nodes are real cluster nodes built like <c>pipeline serve</c>'s.
/// </summary>
public sealed class StreamingRig : IDisposable
{
    public const int FramePartitions = 3;
    private readonly TempFolder folder = new();

    public StreamingRig()
    {
        Kafka = MockKafkaCluster.Start(brokers: 1);

        Backbone = PretrainedBackbone.Load(CPU);
        var parts = new SyntheticParts(96);
        var rng = new Random(11);
        Parts = Enumerable.Range(0, 12)
            .Select(i => i % 3 == 2 ? (Image: parts.Defective(rng, (DefectKind)(i % 3)), Defective: true) : (Image: parts.Good(rng), Defective: false))
            .Select(part => new CameraPart(ImageEncoding.ToPng(part.Image), part.Defective))
            .ToArray();

        // The threshold goes between the scores the model gives the parts, so that some are anomalies and some not.
        var unthresholded = TinyArtifacts.Create("tiny-1", Backbone.Sha256, seed: 7, TinyArtifacts.Flow());
        OfflineScores = ScoreOffline(unthresholded, Parts.Select(part => part.Png));
        var threshold = OfflineScores.Order().ElementAt(OfflineScores.Length / 2);
        Artifact = TinyArtifacts.Create("tiny-1", Backbone.Sha256, seed: 7, TinyArtifacts.Flow(), threshold: threshold);
        ModelFile = Path.Combine(folder.Path, ModelArtifact.DefaultFileName);
        Artifact.Save(ModelFile);
    }

    public MockKafkaCluster Kafka { get; }
    public PretrainedBackbone Backbone { get; }
    public ModelArtifact Artifact { get; }
    public string ModelFile { get; }

    /// <summary>Encoded parts to send as frames, cycled through.</summary>
    public IReadOnlyList<CameraPart> Parts { get; }

    /// <summary>Each part's score the way <c>pipeline eval</c> computes it: decode, prepare, score alone.</summary>
    public double[] OfflineScores { get; }

    /// <summary>A production line of its own: topics named after <paramref name="name"/>, so tests do not see each other's frames.</summary>
    public StreamingLine NewLine(string name)
    {
        var topics = TestKafka.CreateTopics(Kafka, name, FramePartitions, resultPartitions: 2);
        return new StreamingLine(this, topics);
    }

    /// <summary>Kafka options of clients in tests: the mock's brokers, quick group membership, <paramref name="topics"/>.</summary>
    public KafkaOptions KafkaOptions(TopicNames topics, string group = "ingest") => TestKafka.Options(Kafka, group, topics);

    public void Dispose()
    {
        Backbone.Dispose();
        Kafka.Dispose();
        folder.Dispose();
    }

    private double[] ScoreOffline(ModelArtifact artifact, IEnumerable<byte[]> pngs)
    {
        using var model = DefectModel.Load(artifact, Backbone);
        return pngs.Select(png => model.Score([FramePreparation.Prepare(ImageDecoder.Decode(png, "part"), artifact.Manifest.ImageSize)])[0]).ToArray();
    }
}

/// <summary>One line's topics on the rig's cluster: nodes that serve it, frames sent to it, a watcher of its outcomes.</summary>
public sealed class StreamingLine(StreamingRig rig, TopicNames topics)
{
    public TopicNames Topics { get; } = topics;

    public StreamingRig Rig { get; } = rig;

    /// <summary>
    /// A node as <c>pipeline serve</c> builds it, with <paramref name="roles"/>, reading the mock cluster with group
    /// <c>ingest</c> and scoring with the rig's model on the CPU.
    /// </summary>
    public PipelineHostBuilder Node(string systemName, int port, IEnumerable<string> roles, IEnumerable<int> seedPorts, IDictionary<string, string?>? settings = null)
    {
        var builder = TestNodes.Builder(systemName, port, roles, seedPorts);
        var overrides = new Dictionary<string, string?>
        {
            [$"{Shared.Kafka.KafkaOptions.SectionName}:BootstrapServers"] = Rig.Kafka.BootstrapServers,
            [$"{Shared.Kafka.KafkaOptions.SectionName}:ConsumerGroup"] = "ingest",
            [$"{ScoringOptions.SectionName}:ModelPath"] = Rig.ModelFile,
            [$"{ScoringOptions.SectionName}:Device"] = "cpu",
            [$"{ScoringOptions.SectionName}:MaxWaitMilliseconds"] = "10",
            // The streaming tests check that every anomaly gets its map: no frame is answered without one for a full queue of maps.
            [$"{ScoringOptions.SectionName}:MaxQueuedMaps"] = "10000",
            [$"{Pipeline.Ingest.IngestOptions.Section}:RetryDelayMilliseconds"] = "100",
        };
        foreach (var (key, value) in TestKafka.QuickGroups) overrides[$"{Shared.Kafka.KafkaOptions.SectionName}:Extra:{key}"] = value;
        overrides[$"{TopicNames.SectionName}:Frames"] = Topics.Frames;
        overrides[$"{TopicNames.SectionName}:Results"] = Topics.Results;
        overrides[$"{TopicNames.SectionName}:Anomalies"] = Topics.Anomalies;
        overrides[$"{TopicNames.SectionName}:DeadLetter"] = Topics.DeadLetter;
        overrides[$"{TopicNames.SectionName}:Labels"] = Topics.Labels;
        overrides[$"{TopicNames.SectionName}:ModelEvents"] = Topics.ModelEvents;
        overrides[$"{TopicNames.SectionName}:AnomalyMaps"] = Topics.AnomalyMaps;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) overrides[key] = value;
        builder.Configuration.AddInMemoryCollection(overrides);
        return builder.WithPipelineRoles();
    }

    /// <summary>
    /// Sends <paramref name="count"/> frames over <paramref name="cameras"/> cameras (frame i from camera i mod cameras,
    /// part i mod parts), waits until Kafka has them all, and returns what was sent.
    /// </summary>
    public IReadOnlyList<SentFrame> SendFrames(int count, int cameras = 3, string prefix = "f", Func<int, byte[]?>? corrupt = null)
    {
        using var producer = KafkaClients.CreateProducer(Rig.KafkaOptions(Topics), "test-camera", PipelineTopic.Frames);
        var sent = new List<SentFrame>();
        for (var i = 0; i < count; i++)
        {
            var partIndex = i % Rig.Parts.Count;
            var metadata = new FrameMetadata($"{prefix}-{i:D4}", $"camera-{i % cameras}", DateTimeOffset.UtcNow, FrameContentTypes.Png);
            var bytes = corrupt?.Invoke(i) ?? Rig.Parts[partIndex].Png;
            producer.Produce(Topics.Frames, FrameHeaders.CreateMessage(metadata, bytes));
            sent.Add(new SentFrame(metadata, partIndex, bytes != Rig.Parts[partIndex].Png));
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        return sent;
    }

    /// <summary>A frame message produced as is, for frames that break the contract.</summary>
    public void SendRaw(Message<string, byte[]> message)
    {
        using var producer = KafkaClients.CreateProducer(Rig.KafkaOptions(Topics), "test-camera", PipelineTopic.Frames);
        producer.Produce(Topics.Frames, message);
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    public InspectionStreamWatcher Watch() => new(Rig.KafkaOptions(Topics));

    /// <summary>
    /// How many messages <paramref name="topic"/> holds (its partitions' high watermarks, summed): once the nodes have
    /// stopped, a watcher that has read this many has read everything they will ever publish there.
    /// </summary>
    public long MessagesOn(string topic)
    {
        using var consumer = KafkaClients.CreateConsumer(Rig.KafkaOptions(Topics, group: $"watermarks-{Guid.NewGuid():N}"));
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
        return partitions.Sum(partition => consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition.PartitionId), TimeSpan.FromSeconds(10)).High.Value);
    }
}

/// <summary>A generated part as a camera sends it, and whether it has a defect.</summary>
public sealed record CameraPart(byte[] Png, bool Defective);

/// <summary>A frame a test sent: its metadata, which part it shows, and whether its bytes were spoilt on purpose.</summary>
public sealed record SentFrame(FrameMetadata Metadata, int PartIndex, bool Corrupt);

/// <summary>The rig, built once for the cluster collection (loading the backbone takes seconds); tests use lines of their own.</summary>
public sealed class StreamingRigFixture : IDisposable
{
    public StreamingRig Rig { get; } = new();

    public void Dispose() => Rig.Dispose();
}
