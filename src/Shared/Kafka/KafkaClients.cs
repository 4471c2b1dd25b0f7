using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// Makes the pipeline's Kafka producers and consumers from <see cref="KafkaOptions"/>, with the settings
/// the delivery guarantees rest on: idempotent producers that wait for all in-sync replicas, and
/// consumers that never commit on their own (the caller commits after its results are acknowledged,
/// see <see cref="OffsetCommitTracker"/>). Keys are camera ids (strings), values raw bytes.
/// </summary>
public static class KafkaClients
{
    /// <summary>How long a producer waits to batch messages; small, frames are latency-bound.</summary>
    public const int LingerMilliseconds = 5;

    /// <summary>librdkafka's default <c>fetch.max.bytes</c>; raised when single messages may be larger.</summary>
    private const int DefaultFetchMaxBytes = 52_428_800;

    /// <summary>librdkafka's default <c>receive.message.max.bytes</c>; it must exceed a whole fetch by 512 bytes.</summary>
    private const int DefaultReceiveMessageMaxBytes = 100_000_000;

    /// <summary>
    /// Settings of a producer that writes <paramref name="topic"/>: <c>enable.idempotence=true</c>, <c>acks=all</c>,
    /// the topic's codec from <see cref="KafkaOptions.Compression"/> (librdkafka compresses per producer, not per
    /// topic), <c>message.max.bytes</c> from <see cref="KafkaOptions.MaxMessageBytes"/>.
    /// </summary>
    /// <param name="purpose">What the producer is for ("results", "camera-simulator"); appended to the client id.</param>
    /// <param name="topic">The topic it writes; a producer for several topics is <see cref="CreateProducers"/>.</param>
    public static ProducerConfig ProducerConfig(KafkaOptions options, string purpose, PipelineTopic topic)
    {
        ThrowIfInvalid(options.Validate(), "producer");
        var config = new ProducerConfig(CommonSettings(options, purpose))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = LingerMilliseconds,
            CompressionType = options.Compression.CodecOf(topic),
            MessageMaxBytes = options.MaxMessageBytes,
        };
        return config;
    }

    /// <summary>
    /// Consumer settings: no automatic commits or offset stores, reading from the earliest offset when
    /// the group has none, cooperative-sticky assignment, fetch sizes that fit
    /// <see cref="KafkaOptions.MaxMessageBytes"/> images, static membership when
    /// <see cref="KafkaOptions.GroupInstanceId"/> is set.
    /// </summary>
    public static ConsumerConfig ConsumerConfig(KafkaOptions options)
    {
        ThrowIfInvalid(options.ValidateForConsumer(), "consumer");
        var fetchMaxBytes = Math.Max(DefaultFetchMaxBytes, options.MaxMessageBytes);
        var config = new ConsumerConfig(CommonSettings(options, options.ConsumerGroup))
        {
            GroupId = options.ConsumerGroup.Trim(),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            MaxPartitionFetchBytes = options.MaxMessageBytes,
            FetchMaxBytes = fetchMaxBytes,
            ReceiveMessageMaxBytes = Math.Max(DefaultReceiveMessageMaxBytes, fetchMaxBytes + 512),
        };
        if (!string.IsNullOrWhiteSpace(options.GroupInstanceId)) config.GroupInstanceId = options.GroupInstanceId.Trim();
        return config;
    }

    /// <summary>
    /// Settings of an admin client (metadata, consumer group offsets): the brokers, client id and security settings every
    /// client shares, nothing of a producer or consumer.
    /// </summary>
    /// <param name="purpose">What the client is for ("console"); appended to the client id.</param>
    public static AdminClientConfig AdminConfig(KafkaOptions options, string purpose)
    {
        ThrowIfInvalid(options.Validate(), "admin client");
        return new AdminClientConfig(CommonSettings(options, purpose));
    }

    /// <summary>
    /// An idempotent producer for <paramref name="topic"/> (<see cref="ProducerConfig"/>). Errors and librdkafka's log
    /// go to <paramref name="logger"/> when one is given (to standard error otherwise); connection errors while the
    /// brokers are unreachable are summarized (<see cref="ConnectionErrorSummary"/>).
    /// </summary>
    public static IProducer<string, byte[]> CreateProducer(KafkaOptions options, string purpose, PipelineTopic topic, ILogger? logger = null) =>
        Build(ProducerConfig(options, purpose, topic), logger);

    /// <summary>
    /// Producers for <paramref name="topics"/>: one per codec they use (<see cref="KafkaOptions.Compression"/>), so that
    /// each topic is written in its own codec; client ids <c>&lt;purpose&gt;</c>, or <c>&lt;purpose&gt;-&lt;codec&gt;</c>
    /// when there are several.
    /// </summary>
    public static TopicProducers CreateProducers(KafkaOptions options, string purpose, IEnumerable<PipelineTopic> topics, ILogger? logger = null)
    {
        ThrowIfInvalid(options.Validate(), "producer");
        var byCodec = topics.Distinct().GroupBy(options.Compression.CodecOf).ToArray();
        var producers = new Dictionary<string, IProducer<string, byte[]>>(StringComparer.Ordinal);
        try
        {
            foreach (var group in byCodec)
            {
                var name = byCodec.Length == 1 ? purpose : $"{purpose}-{group.Key.ToString().ToLowerInvariant()}";
                var producer = Build(ProducerConfig(options, name, group.First()), logger);
                foreach (var topic in group) producers[options.Topics.NameOf(topic)] = producer;
            }
        }
        catch
        {
            foreach (var producer in producers.Values.Distinct()) producer.Dispose();
            throw;
        }

        return new TopicProducers(producers);
    }

    private static IProducer<string, byte[]> Build(ProducerConfig config, ILogger? logger)
    {
        var builder = new ProducerBuilder<string, byte[]>(config);
        if (logger is not null)
        {
            var log = new ClientLog(logger);
            builder.SetErrorHandler((producer, error) => log.Error(producer.Name, error));
            builder.SetLogHandler((_, message) => log.Message(message));
        }

        return builder.Build();
    }

    /// <summary>
    /// A group consumer (<see cref="ConsumerConfig"/>). Errors and librdkafka's log go to
    /// <paramref name="logger"/> when one is given, connection errors summarized (<see cref="ConnectionErrorSummary"/>).
    /// <paramref name="configure"/> adds what the role
    /// needs on the builder, typically partition assigned/revoked/lost handlers that keep its
    /// <see cref="OffsetCommitTracker"/> in step.
    /// </summary>
    /// <param name="onError">Also told of every client error (after it is logged), e.g. to track broker reachability.</param>
    public static IConsumer<string, byte[]> CreateConsumer(
        KafkaOptions options,
        ILogger? logger = null,
        Action<ConsumerBuilder<string, byte[]>>? configure = null,
        Action<Error>? onError = null)
    {
        var builder = new ConsumerBuilder<string, byte[]>(ConsumerConfig(options));
        var log = logger is null ? null : new ClientLog(logger);
        if (logger is not null || onError is not null)
        {
            builder.SetErrorHandler((consumer, error) =>
            {
                log?.Error(consumer.Name, error);
                onError?.Invoke(error);
            });
        }

        if (log is not null)
        {
            builder.SetLogHandler((_, message) => log.Message(message));
        }

        configure?.Invoke(builder);
        return builder.Build();
    }

    private static Dictionary<string, string> CommonSettings(KafkaOptions options, string purpose)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(purpose);
        // Extra first: the typed options and guarantees set after it win (Validate refuses overlaps anyway).
        var settings = new Dictionary<string, string>(options.Extra.Select(e => KeyValuePair.Create(e.Key.Trim(), e.Value)), StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = options.BootstrapServers.Trim(),
            ["client.id"] = $"{options.ClientId.Trim()}-{purpose.Trim()}",
            ["security.protocol"] = options.NormalizedSecurityProtocol,
        };
        if (options.NormalizedSaslMechanism is { } mechanism)
        {
            settings["sasl.mechanism"] = mechanism;
        }

        if (!string.IsNullOrEmpty(options.SaslUsername))
        {
            settings["sasl.username"] = options.SaslUsername;
        }

        if (!string.IsNullOrEmpty(options.SaslPassword))
        {
            settings["sasl.password"] = options.SaslPassword;
        }

        if (!string.IsNullOrEmpty(options.SslCaLocation))
        {
            settings["ssl.ca.location"] = options.SslCaLocation;
        }

        return settings;
    }

    private static void ThrowIfInvalid(IReadOnlyList<string> problems, string client)
    {
        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"The Kafka options cannot make a {client}:{Environment.NewLine}  " + string.Join($"{Environment.NewLine}  ", problems));
        }
    }

    /// <summary>
    /// One client's error and log handlers: connection errors (a broker refused or dropped the connection, all brokers
    /// down) go through a <see cref="ConnectionErrorSummary"/>, everything else is logged as it comes.
    /// </summary>
    private sealed class ClientLog(ILogger logger)
    {
        private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
        private readonly ConnectionErrorSummary summary = new(TimeProvider.System, ConnectionErrorSummary.DefaultQuietPeriod, ConnectionErrorSummary.DefaultReminderInterval);
        private readonly Lock gate = new();
        private ITimer? poll;
        private string client = "";

        public void Error(string name, Error error)
        {
            client = name;
            if (!error.IsFatal && IsConnectionError(error.Code))
            {
                Note(summary.Failed($"{error.Reason} ({error.Code})"));
                return;
            }

            // Most other errors (a timeout, a rejected request) are transient and librdkafka retries; fatal ones end the client.
            var level = error.IsFatal ? LogLevel.Critical : LogLevel.Warning;
            logger.Log(level, "Kafka client {Client}: {Reason} ({Code})", name, error.Reason, error.Code);
        }

        public void Message(LogMessage message)
        {
            client = message.Name;
            // librdkafka logs each failed or dropped connection under FAIL as well as reporting it as an error (which is
            // counted): the first one begins the outage, whichever of the two comes first.
            if (message.Facility == "FAIL")
            {
                if (!summary.InOutage) Note(summary.Failed(message.Message));
                return;
            }

            var level = message.Level switch
            {
                SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
                SyslogLevel.Error => LogLevel.Error,
                SyslogLevel.Warning => LogLevel.Warning,
                SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
                _ => LogLevel.Debug,
            };
            logger.Log(level, "Kafka client {Client} [{Facility}]: {Message}", message.Name, message.Facility, message.Message);
        }

        private static bool IsConnectionError(ErrorCode code) =>
            code is ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_Resolve;

        private void Note(ConnectionErrorNote? note)
        {
            if (note is null) return;
            var level = note.State == ConnectionErrorState.Quiet ? LogLevel.Information : LogLevel.Warning;
            logger.Log(level, "Kafka client {Client}: {Summary}", client, note.Text);
            lock (gate)
            {
                if (note.State == ConnectionErrorState.Unreachable && poll is null)
                {
                    poll = TimeProvider.System.CreateTimer(_ => Note(summary.Poll()), null, PollInterval, PollInterval);
                }
                else if (note.State == ConnectionErrorState.Quiet)
                {
                    poll?.Dispose();
                    poll = null;
                }
            }
        }
    }
}
