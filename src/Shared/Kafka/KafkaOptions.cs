namespace Pipeline.Shared.Kafka;

/// <summary>
/// How every role reaches Kafka, bound from configuration section <c>Kafka</c> (for example
/// <c>services.Configure&lt;KafkaOptions&gt;(configuration.GetSection(KafkaOptions.SectionName))</c>, or
/// environment variables such as <c>Kafka__BootstrapServers</c>). <see cref="KafkaClients"/> turns it
/// into producer and consumer settings; <see cref="Validate"/> says what is wrong before a client is made.
/// </summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Pipeline:Kafka";

    /// <summary>Default for <see cref="MaxMessageBytes"/>: room for a large encoded camera image.</summary>
    public const int DefaultMaxMessageBytes = 10 * 1024 * 1024;

    private static readonly string[] SecurityProtocols = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];
    private static readonly string[] SaslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"];

    /// <summary>Settings <see cref="KafkaClients"/> fixes because the delivery guarantees rest on them.</summary>
    private static readonly string[] GuaranteeSettings =
    [
        "acks", "request.required.acks", "enable.idempotence", "enable.auto.commit", "enable.auto.offset.store",
        "partition.assignment.strategy",
    ];

    /// <summary>librdkafka settings that have a typed option here, with the option's name.</summary>
    private static readonly Dictionary<string, string> TypedSettings = new(StringComparer.Ordinal)
    {
        ["bootstrap.servers"] = nameof(BootstrapServers),
        ["metadata.broker.list"] = nameof(BootstrapServers),
        ["client.id"] = nameof(ClientId),
        ["group.id"] = nameof(ConsumerGroup),
        ["group.instance.id"] = nameof(GroupInstanceId),
        ["security.protocol"] = nameof(SecurityProtocol),
        ["sasl.mechanism"] = nameof(SaslMechanism),
        ["sasl.mechanisms"] = nameof(SaslMechanism),
        ["sasl.username"] = nameof(SaslUsername),
        ["sasl.password"] = nameof(SaslPassword),
        ["ssl.ca.location"] = nameof(SslCaLocation),
        ["message.max.bytes"] = nameof(MaxMessageBytes),
        ["compression.type"] = $"{nameof(Compression)}:<topic>",
        ["compression.codec"] = $"{nameof(Compression)}:<topic>",
    };

    /// <summary>Comma-separated <c>host:port</c> list of brokers to start from.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Prefix of every client's <c>client.id</c>; <see cref="KafkaClients"/> appends the client's purpose.</summary>
    public string ClientId { get; set; } = "inspection-pipeline";

    /// <summary>Consumer group of this role's consumers (<c>group.id</c>); required for consumers only.</summary>
    public string ConsumerGroup { get; set; } = "";

    /// <summary>
    /// Static membership of <see cref="ConsumerGroup"/> (librdkafka <c>group.instance.id</c>, KIP-345): a name unique
    /// to this node and stable across its restarts, on Kubernetes the pod's name (k8s/base sets
    /// <c>Pipeline__Kafka__GroupInstanceId</c> from <c>metadata.name</c>). A consumer that comes back under the same
    /// name within <c>session.timeout.ms</c> (a crash, kill -9, a liveness restart of the container) takes its partitions
    /// back at once, without a rebalance and without waiting for the old session to expire. Empty (the default):
    /// dynamic membership. On a graceful stop the consumer leaves the group either way, so that its partitions move
    /// at once (a pod that is stopped for good, in a rolling update or a scale-down, does not come back under its
    /// name). Letters, digits, '.', '_' and '-', at most 249 characters.
    /// </summary>
    public string? GroupInstanceId { get; set; }

    /// <summary><c>plaintext</c>, <c>ssl</c>, <c>sasl_plaintext</c> or <c>sasl_ssl</c> (any case, '-' or '_').</summary>
    public string SecurityProtocol { get; set; } = "plaintext";

    /// <summary>With a SASL protocol: <c>PLAIN</c>, <c>SCRAM-SHA-256</c>, <c>SCRAM-SHA-512</c>, <c>GSSAPI</c> or <c>OAUTHBEARER</c>.</summary>
    public string? SaslMechanism { get; set; }

    public string? SaslUsername { get; set; }

    /// <summary>Secret: supply it from a secret store or environment variable, not a committed file.</summary>
    public string? SaslPassword { get; set; }

    /// <summary>CA certificate file (or directory) that signs the brokers' certificates; the system's store when absent.</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>
    /// Largest message a client sends or expects (librdkafka <c>message.max.bytes</c>; consumers fetch
    /// at least this much per partition). Brokers and topics must allow it too
    /// (<c>message.max.bytes</c> / <c>max.message.bytes</c>).
    /// </summary>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>
    /// Further librdkafka settings passed through as they are (for example <c>socket.keepalive.enable</c>,
    /// <c>ssl.certificate.location</c>). Settings with a typed option above, and those the delivery
    /// guarantees rest on, are refused by <see cref="Validate"/>.
    /// </summary>
    public Dictionary<string, string> Extra { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Topic names (section <c>Kafka:Topics</c>).</summary>
    public TopicNames Topics { get; set; } = new();

    /// <summary>The compression codec producers use on each topic (section <c>Kafka:Compression</c>).</summary>
    public TopicCompression Compression { get; set; } = new();

    /// <summary>
    /// A copy of these options with consumer group <paramref name="group"/> (and a copy of <see cref="Extra"/>), without
    /// <see cref="GroupInstanceId"/>: a static identity belongs to the role's own group.
    /// </summary>
    public KafkaOptions WithConsumerGroup(string group)
    {
        var copy = (KafkaOptions)MemberwiseClone();
        copy.ConsumerGroup = group;
        copy.GroupInstanceId = null;
        copy.Extra = new Dictionary<string, string>(Extra, StringComparer.Ordinal);
        return copy;
    }

    /// <summary>
    /// What is wrong with these options for producers, one message per problem naming the setting and
    /// what to do; empty when they can be used. Consumers check <see cref="ValidateForConsumer"/>.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        ValidateBootstrapServers(problems);
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            problems.Add($"{SectionName}:{nameof(ClientId)} is empty; set a name that identifies this application to the brokers.");
        }

        ValidateSecurity(problems);
        if (MaxMessageBytes is < 1000 or > 1_000_000_000)
        {
            problems.Add(
                $"{SectionName}:{nameof(MaxMessageBytes)} is {MaxMessageBytes}; librdkafka accepts 1000 to 1000000000 bytes " +
                $"(default {DefaultMaxMessageBytes}).");
        }

        ValidateExtra(problems);
        problems.AddRange(Topics.Validate());
        problems.AddRange(Compression.Validate());
        return problems;
    }

    /// <summary><see cref="Validate"/>, plus what a consumer needs (a consumer group).</summary>
    public IReadOnlyList<string> ValidateForConsumer()
    {
        var problems = Validate().ToList();
        if (string.IsNullOrWhiteSpace(ConsumerGroup))
        {
            problems.Add(
                $"{SectionName}:{nameof(ConsumerGroup)} is empty; consumers need a group (the role's name, for example " +
                "'scoring') to share partitions and keep their committed offsets.");
        }

        if (!string.IsNullOrEmpty(GroupInstanceId) && !IsLegalInstanceId(GroupInstanceId.Trim()))
        {
            problems.Add(
                $"{SectionName}:{nameof(GroupInstanceId)} '{GroupInstanceId}' is not a legal group instance id: use 1 to 249 letters, digits, " +
                "'.', '_' or '-' (on Kubernetes, the pod's name), or leave it empty for dynamic membership.");
        }

        return problems;
    }

    private static bool IsLegalInstanceId(string id) =>
        id.Length is >= 1 and <= 249 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary><see cref="SecurityProtocol"/> in librdkafka's spelling (lower case, '_').</summary>
    internal string NormalizedSecurityProtocol => SecurityProtocol.Trim().Replace('-', '_').ToLowerInvariant();

    /// <summary><see cref="SaslMechanism"/> in librdkafka's spelling (upper case, '-'), or null when absent.</summary>
    internal string? NormalizedSaslMechanism =>
        string.IsNullOrWhiteSpace(SaslMechanism) ? null : SaslMechanism.Trim().Replace('_', '-').ToUpperInvariant();

    private void ValidateBootstrapServers(List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            problems.Add($"{SectionName}:{nameof(BootstrapServers)} is empty; set the brokers as host:port[,host:port...].");
            return;
        }

        foreach (var server in BootstrapServers.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = server.LastIndexOf(':');
            var portText = colon < 0 ? "" : server[(colon + 1)..];
            if (colon <= 0 || !int.TryParse(portText, out var port) || port is < 1 or > 65535)
            {
                problems.Add(
                    $"{SectionName}:{nameof(BootstrapServers)} entry '{server}' is not host:port with a port from 1 to 65535 " +
                    "(for example kafka-0.kafka:9092).");
            }
        }
    }

    private void ValidateSecurity(List<string> problems)
    {
        var protocol = NormalizedSecurityProtocol;
        if (!SecurityProtocols.Contains(protocol))
        {
            problems.Add(
                $"{SectionName}:{nameof(SecurityProtocol)} '{SecurityProtocol}' is unknown; use one of {string.Join(", ", SecurityProtocols)}.");
            return;
        }

        var mechanism = NormalizedSaslMechanism;
        var usesSasl = protocol.StartsWith("sasl_", StringComparison.Ordinal);
        if (!usesSasl)
        {
            if (mechanism is not null || SaslUsername is not null || SaslPassword is not null)
            {
                problems.Add(
                    $"SASL settings are given but {SectionName}:{nameof(SecurityProtocol)} is '{protocol}'; use sasl_ssl " +
                    "(or sasl_plaintext) to authenticate, or remove the SASL settings.");
            }
        }
        else if (mechanism is null)
        {
            problems.Add(
                $"{SectionName}:{nameof(SecurityProtocol)} '{protocol}' needs {SectionName}:{nameof(SaslMechanism)} " +
                $"(one of {string.Join(", ", SaslMechanisms)}).");
        }
        else if (!SaslMechanisms.Contains(mechanism))
        {
            problems.Add(
                $"{SectionName}:{nameof(SaslMechanism)} '{SaslMechanism}' is unknown; use one of {string.Join(", ", SaslMechanisms)}.");
        }
        else if (mechanism is "PLAIN" or "SCRAM-SHA-256" or "SCRAM-SHA-512"
                 && (string.IsNullOrEmpty(SaslUsername) || string.IsNullOrEmpty(SaslPassword)))
        {
            problems.Add(
                $"SASL mechanism {mechanism} needs {SectionName}:{nameof(SaslUsername)} and {SectionName}:{nameof(SaslPassword)}.");
        }

        if (SslCaLocation is not null)
        {
            if (!protocol.EndsWith("ssl", StringComparison.Ordinal))
            {
                problems.Add(
                    $"{SectionName}:{nameof(SslCaLocation)} is set but {SectionName}:{nameof(SecurityProtocol)} is '{protocol}', " +
                    "which does not use TLS; use ssl or sasl_ssl, or remove the CA setting.");
            }
            else if (!File.Exists(SslCaLocation) && !Directory.Exists(SslCaLocation))
            {
                problems.Add(
                    $"{SectionName}:{nameof(SslCaLocation)} '{SslCaLocation}' does not exist; mount the CA certificate " +
                    "there or correct the path.");
            }
        }
    }

    private void ValidateExtra(List<string> problems)
    {
        foreach (var (key, value) in Extra)
        {
            var name = key.Trim();
            if (name.Length == 0)
            {
                problems.Add($"{SectionName}:{nameof(Extra)} has a setting with an empty name.");
            }
            else if (TypedSettings.TryGetValue(name, out var option))
            {
                problems.Add($"{SectionName}:{nameof(Extra)}:{name} duplicates a typed option; set {SectionName}:{option} instead.");
            }
            else if (GuaranteeSettings.Contains(name))
            {
                problems.Add(
                    $"{SectionName}:{nameof(Extra)}:{name}={value} would change the delivery guarantees the pipeline rests on " +
                    "(idempotent producers, explicit commits, cooperative rebalancing); remove it.");
            }
        }
    }
}
