using System.Net;
using System.Net.Http.Headers;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Pipeline.Host.Hosting;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Kafka;
using Pipeline.Tests.Support;
using Pipeline.Training;
using Pipeline.Training.Registry;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>
/// A training node serving the operator console on 127.0.0.1, behind tokens signed with a key of its own, on a mock
/// Kafka cluster of its own whose topics the tests write (frames, anomalies) and read (labels) with their own clients.
/// </summary>
public sealed class ConsoleNode : IAsyncLifetime
{
    public TempFolder Folder { get; } = new();
    public MockKafkaCluster Kafka { get; } = MockKafkaCluster.Start(brokers: 1);
    public int HttpPort { get; } = TestNodes.FreePort();
    public SigningKey Key { get; private set; } = null!;
    public TopicNames Topics { get; private set; } = null!;
    public IHost Node { get; private set; } = null!;
    public string Url => $"http://127.0.0.1:{HttpPort}";

    public async Task InitializeAsync()
    {
        var keys = Path.Combine(Folder.Path, "http-keys");
        Key = SigningKeys.Generate(Path.Combine(keys, "key-1"));
        var registry = ModelRegistry.Open(Path.Combine(Folder.Path, "registry"));
        registry.Publish(TinyArtifacts.Create("a", "tests", seed: 1, TinyArtifacts.Flow()), "test", makeCurrent: true);
        Topics = TestKafka.CreateTopics(Kafka, "console", framePartitions: 2, resultPartitions: 1);
        var settings = new Dictionary<string, string?>
        {
            [$"{HttpAuthOptions.Section}:SigningKeysPath"] = keys,
            [$"{ContinuousTrainingOptions.SectionName}:RegistryPath"] = registry.Root,
            [$"{ContinuousTrainingOptions.SectionName}:SampleStorePath"] = Path.Combine(Folder.Path, "samples"),
            [$"{ContinuousTrainingOptions.SectionName}:RefitIntervalMinutes"] = "0",
            [$"{KafkaOptions.SectionName}:BootstrapServers"] = Kafka.BootstrapServers,
            [$"{KafkaOptions.SectionName}:ConsumerGroup"] = "ingest",
        };
        foreach (var (name, topic) in new[] { ("Frames", Topics.Frames), ("Results", Topics.Results), ("Anomalies", Topics.Anomalies), ("DeadLetter", Topics.DeadLetter), ("Labels", Topics.Labels), ("ModelEvents", Topics.ModelEvents), ("AnomalyMaps", Topics.AnomalyMaps) })
            settings[$"{TopicNames.SectionName}:{name}"] = topic;
        foreach (var (key, value) in TestKafka.QuickGroups) settings[$"{KafkaOptions.SectionName}:Extra:{key}"] = value;
        var port = TestNodes.FreePort();
        Node = TestNodes.Builder("inspection-console", port, [ClusterRoles.Training], [port], HttpPort, settings).WithPipelineRoles().Build();
        await Node.StartAsync();
        using var http = Client(Token(AccessRoles.Viewer));
        await TestNodes.WaitUntilAsync(async () => (await http.GetAsync("/training/status")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), () => Task.FromResult("the training singleton did not answer"));
    }

    /// <summary>A client of the node, with <paramref name="token"/> as its bearer token if given; redirects are not followed.</summary>
    public HttpClient Client(string? token = null, CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() };
        var http = new HttpClient(handler) { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public string Token(string role) =>
        AccessTokens.Issue(Key, role, "test-" + role, TimeSpan.FromMinutes(10), HttpAuthOptions.DefaultIssuer, HttpAuthOptions.DefaultIssuer);

    public KafkaOptions ClientOptions(string group) => TestKafka.Options(Kafka, group, Topics);

    /// <summary>Puts a frame on the frames topic as a camera would; returns where it landed.</summary>
    public async Task<TopicPartitionOffset> SendFrameAsync(string frameId, string camera, byte[] image)
    {
        using var producer = KafkaClients.CreateProducer(ClientOptions("camera"), "camera", PipelineTopic.Frames);
        var metadata = new FrameMetadata(frameId, camera, DateTimeOffset.UtcNow, FrameContentTypes.Png, null);
        var delivered = await producer.ProduceAsync(Topics.Frames, FrameHeaders.CreateMessage(metadata, image));
        return delivered.TopicPartitionOffset;
    }

    /// <summary>Puts the result of a frame on the anomalies (when anomalous) and results topics, as the scoring side would.</summary>
    public async Task PublishResultAsync(InspectionResult result)
    {
        using var producer = KafkaClients.CreateProducer(ClientOptions("scoring"), "scoring", PipelineTopic.Results);
        foreach (var topic in Topics.DestinationsOf(result)) await producer.ProduceAsync(topic, InspectionEvents.ToMessage(result));
    }

    /// <summary>Puts a frame's anomaly map on the anomaly-maps topic, as ingest does with the frame's result.</summary>
    public async Task PublishMapAsync(string camera, string frameId, byte[] png, double peak, double regionLevel)
    {
        using var producer = KafkaClients.CreateProducer(ClientOptions("scoring"), "scoring", PipelineTopic.AnomalyMaps);
        await producer.ProduceAsync(Topics.AnomalyMaps, InspectionEvents.ToMapMessage(camera, frameId, png, peak, regionLevel));
    }

    public async Task DisposeAsync()
    {
        await TestNodes.StopAllAsync(Node);
        Kafka.Dispose();
        Folder.Dispose();
    }
}
