using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

namespace Pipeline.Tests.Security;

/// <summary>
/// A training node as production runs it, on 127.0.0.1: HTTP endpoints that need tokens signed with the key in a key
/// directory, mutual TLS on remoting, SASL credentials for Kafka (librdkafka's mock cluster of its own, which does not
/// take them), a registry holding v1 and v2 (current) of the default product and v1 of <see cref="Product"/>, and every
/// log line it writes at any level, kept.
/// </summary>
public sealed class SecuredTrainingNode : IAsyncLifetime
{
    /// <summary>The product besides the default one, with a registry folder of its own and nothing configured.</summary>
    public const string Product = "bracket-a";

    public TempFolder Folder { get; } = new();
    public MockKafkaCluster Kafka { get; } = MockKafkaCluster.Start(brokers: 1);
    public RecordingLoggerProvider Logs { get; } = new();
    public int HttpPort { get; } = TestNodes.FreePort();
    public string SaslPassword { get; } = "sasl-" + Guid.NewGuid().ToString("N");
    public SigningKey Key { get; private set; } = null!;
    public string KeysPath { get; private set; } = null!;
    public NodeCertificateFiles Certificates { get; private set; } = null!;
    public IHost Node { get; private set; } = null!;
    public string Url => $"http://127.0.0.1:{HttpPort}";

    public async Task InitializeAsync()
    {
        KeysPath = Path.Combine(Folder.Path, "http-keys");
        Key = SigningKeys.Generate(Path.Combine(KeysPath, "key-1"));
        using var authority = TestCertificateAuthority.Create("inspection cluster CA");
        Certificates = NodeCertificateFiles.Write(Path.Combine(Folder.Path, "cluster-tls"), authority.Issue("training.inspection"), authority);
        var registry = ModelRegistry.Open(Path.Combine(Folder.Path, "registry"));
        registry.Publish(TinyArtifacts.Create("a", "tests", seed: 1, TinyArtifacts.Flow()), "test", makeCurrent: true);
        registry.Publish(TinyArtifacts.Create("b", "tests", seed: 2, TinyArtifacts.Flow()), "test", makeCurrent: true);
        ModelRegistry.Open(registry.Root, Product).Publish(TinyArtifacts.Create("c", "tests", seed: 3, TinyArtifacts.Flow()), "test", makeCurrent: true);
        var topics = TestKafka.CreateTopics(Kafka, "secured", framePartitions: 1, resultPartitions: 1);

        var settings = new Dictionary<string, string?>(Certificates.Settings())
        {
            ["Logging:LogLevel:Default"] = "Trace",
            [$"{HttpAuthOptions.Section}:SigningKeysPath"] = KeysPath,
            [$"{HttpAuthOptions.Section}:KeyReloadSeconds"] = "1",
            [$"{ContinuousTrainingOptions.SectionName}:RegistryPath"] = registry.Root,
            [$"{ContinuousTrainingOptions.SectionName}:SampleStorePath"] = Path.Combine(Folder.Path, "samples"),
            [$"{ContinuousTrainingOptions.SectionName}:RefitIntervalMinutes"] = "0",
            [$"{KafkaOptions.SectionName}:BootstrapServers"] = Kafka.BootstrapServers,
            [$"{KafkaOptions.SectionName}:ConsumerGroup"] = "training",
            [$"{KafkaOptions.SectionName}:SecurityProtocol"] = "sasl_plaintext",
            [$"{KafkaOptions.SectionName}:SaslMechanism"] = "PLAIN",
            [$"{KafkaOptions.SectionName}:SaslUsername"] = "inspection-pipeline",
            [$"{KafkaOptions.SectionName}:SaslPassword"] = SaslPassword,
            [$"{TopicNames.SectionName}:Labels"] = topics.Labels,
            [$"{TopicNames.SectionName}:ModelEvents"] = topics.ModelEvents,
        };
        foreach (var (key, value) in TestKafka.QuickGroups) settings[$"{KafkaOptions.SectionName}:Extra:{key}"] = value;
        var port = TestNodes.FreePort();
        var builder = TestNodes.Builder("inspection-secured", port, [ClusterRoles.Training], [port], HttpPort, settings);
        builder.Logging.AddProvider(Logs);
        Node = builder.WithPipelineRoles().Build();
        await Node.StartAsync();
        // Up once the training singleton answers (readiness waits for Kafka, which this node cannot log in to).
        using var http = Client(Token(AccessRoles.Viewer));
        await TestNodes.WaitUntilAsync(async () => (await http.GetAsync("/training/status")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), () => Task.FromResult(Logs.Text));
    }

    /// <summary>A client of the node's HTTP endpoints, with <paramref name="token"/> as its bearer token if given.</summary>
    public HttpClient Client(string? token = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public string Token(string role, TimeSpan? lifetime = null, SigningKey? key = null, string audience = HttpAuthOptions.DefaultIssuer, TimeProvider? time = null) =>
        AccessTokens.Issue(key ?? Key, role, "test-" + role, lifetime ?? TimeSpan.FromMinutes(10), HttpAuthOptions.DefaultIssuer, audience, time);

    public async Task DisposeAsync()
    {
        await TestNodes.StopAllAsync(Node);
        Kafka.Dispose();
        Folder.Dispose();
    }
}

/// <summary>A clock set to a fixed time, for tokens issued in the past.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public static FixedClock HoursAgo(double hours) => new(DateTimeOffset.UtcNow.AddHours(-hours));

    public override string ToString() => now.ToString("u", CultureInfo.InvariantCulture);
}
