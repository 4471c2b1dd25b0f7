using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Kafka;

public class KafkaOptionsTests
{
    private static KafkaOptions Valid() => new() { BootstrapServers = "kafka-0:9092,kafka-1:9092", ConsumerGroup = "scoring" };

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public void Options_bind_from_the_kafka_section_with_topics_and_extra_settings()
    {
        var configuration = Configuration(new()
        {
            ["Pipeline:Kafka:BootstrapServers"] = "kafka-0.kafka:9093,kafka-1.kafka:9093",
            ["Pipeline:Kafka:ClientId"] = "line-3",
            ["Pipeline:Kafka:ConsumerGroup"] = "scoring",
            ["Pipeline:Kafka:SecurityProtocol"] = "SASL_SSL",
            ["Pipeline:Kafka:SaslMechanism"] = "scram-sha-512",
            ["Pipeline:Kafka:SaslUsername"] = "pipeline",
            ["Pipeline:Kafka:SaslPassword"] = "secret",
            ["Pipeline:Kafka:MaxMessageBytes"] = "20971520",
            ["Pipeline:Kafka:Extra:socket.keepalive.enable"] = "true",
            ["Pipeline:Kafka:Topics:Frames"] = "line-3-frames",
        });

        var options = configuration.GetSection(KafkaOptions.SectionName).Get<KafkaOptions>()!;

        Assert.Equal("kafka-0.kafka:9093,kafka-1.kafka:9093", options.BootstrapServers);
        Assert.Equal("SASL_SSL", options.SecurityProtocol);
        Assert.Equal(20_971_520, options.MaxMessageBytes);
        Assert.Equal("true", options.Extra["socket.keepalive.enable"]);
        Assert.Equal("line-3-frames", options.Topics.Frames);
        Assert.Equal("inspection-results", options.Topics.Results);
        Assert.Empty(options.ValidateForConsumer());

        var consumer = KafkaClients.ConsumerConfig(options);
        Assert.Equal("sasl_ssl", consumer.Get("security.protocol"));
        Assert.Equal("SCRAM-SHA-512", consumer.Get("sasl.mechanism"));
        Assert.Equal("true", consumer.Get("socket.keepalive.enable"));
        Assert.Equal("line-3-scoring", consumer.ClientId);
    }

    [Fact]
    public void Topic_names_bind_from_their_own_section_with_defaults_for_the_rest()
    {
        var topics = Configuration(new() { ["Pipeline:Kafka:Topics:DeadLetter"] = "dlq", ["Pipeline:Kafka:Topics:Labels"] = "labels-v2" })
            .GetSection(TopicNames.SectionName).Get<TopicNames>()!;

        Assert.Equal(
            ["frames", "inspection-results", "anomalies", "dlq", "labels-v2"],
            [topics.Frames, topics.Results, topics.Anomalies, topics.DeadLetter, topics.Labels]);
        Assert.Empty(topics.Validate());
    }

    [Fact]
    public void Defaults_need_only_the_brokers()
    {
        var problems = new KafkaOptions().Validate();

        Assert.Equal(["Pipeline:Kafka:BootstrapServers is empty; set the brokers as host:port[,host:port...]."], problems);
        Assert.Empty(new KafkaOptions { BootstrapServers = "localhost:9092" }.Validate());
    }

    [Fact]
    public void A_consumer_needs_a_group()
    {
        var options = Valid();
        options.ConsumerGroup = " ";

        Assert.Empty(options.Validate());
        Assert.Contains(options.ValidateForConsumer(), p => p.StartsWith("Pipeline:Kafka:ConsumerGroup is empty", StringComparison.Ordinal));
        var error = Assert.Throws<ArgumentException>(() => KafkaClients.ConsumerConfig(options));
        Assert.Contains("Pipeline:Kafka:ConsumerGroup", error.Message);
    }

    [Theory]
    [InlineData("kafka-0")]
    [InlineData("kafka-0:")]
    [InlineData("kafka-0:99999")]
    [InlineData(":9092")]
    [InlineData("kafka-0:9092,,kafka-1:9092")]
    public void Bootstrap_servers_must_be_host_port_pairs(string servers)
    {
        var options = Valid();
        options.BootstrapServers = servers;

        Assert.Contains(options.Validate(), p => p.Contains("is not host:port", StringComparison.Ordinal));
    }

    [Fact]
    public void A_group_instance_id_makes_the_consumer_a_static_member_of_its_own_group_only()
    {
        var options = Valid();
        options.GroupInstanceId = " ingest-7d9f8c6b5-x2k4q ";

        Assert.Equal("ingest-7d9f8c6b5-x2k4q", KafkaClients.ConsumerConfig(options).GroupInstanceId);
        Assert.Null(KafkaClients.ConsumerConfig(options.WithConsumerGroup("elsewhere")).GroupInstanceId);
        Assert.Null(KafkaClients.ConsumerConfig(Valid()).GroupInstanceId);
    }

    [Theory]
    [InlineData("pod name")]
    [InlineData("pod/1")]
    public void An_illegal_group_instance_id_is_named(string id)
    {
        var options = Valid();
        options.GroupInstanceId = id;

        Assert.Empty(options.Validate());
        Assert.Contains(options.ValidateForConsumer(), p => p.StartsWith($"Pipeline:Kafka:GroupInstanceId '{id}' is not a legal group instance id", StringComparison.Ordinal));
    }

    public static TheoryData<Action<KafkaOptions>, string> SecurityMistakes => new()
    {
        { o => o.Extra["group.instance.id"] = "x", "Pipeline:Kafka:Extra:group.instance.id duplicates a typed option; set Pipeline:Kafka:GroupInstanceId instead" },
        { o => o.SecurityProtocol = "tls", "Pipeline:Kafka:SecurityProtocol 'tls' is unknown" },
        { o => o.SecurityProtocol = "sasl_ssl", "needs Pipeline:Kafka:SaslMechanism" },
        { o => (o.SecurityProtocol, o.SaslMechanism) = ("sasl_ssl", "KERBEROS"), "Pipeline:Kafka:SaslMechanism 'KERBEROS' is unknown" },
        { o => (o.SecurityProtocol, o.SaslMechanism, o.SaslUsername) = ("sasl_ssl", "PLAIN", "u"), "needs Pipeline:Kafka:SaslUsername and Pipeline:Kafka:SaslPassword" },
        { o => o.SaslPassword = "secret", "SASL settings are given but Pipeline:Kafka:SecurityProtocol is 'plaintext'" },
        { o => o.SslCaLocation = "/etc/ssl", "which does not use TLS" },
        { o => (o.SecurityProtocol, o.SslCaLocation) = ("ssl", "/no/such/ca.pem"), "'/no/such/ca.pem' does not exist" },
        { o => o.MaxMessageBytes = 10, "Pipeline:Kafka:MaxMessageBytes is 10" },
        { o => o.ClientId = "", "Pipeline:Kafka:ClientId is empty" },
        { o => o.Extra["enable.auto.commit"] = "true", "Pipeline:Kafka:Extra:enable.auto.commit=true would change the delivery guarantees" },
        { o => o.Extra["acks"] = "1", "Pipeline:Kafka:Extra:acks=1 would change the delivery guarantees" },
        { o => o.Extra["sasl.password"] = "x", "Pipeline:Kafka:Extra:sasl.password duplicates a typed option; set Pipeline:Kafka:SaslPassword instead" },
        { o => o.Topics.Anomalies = "inspection-results", "Pipeline:Kafka:Topics:Results and Pipeline:Kafka:Topics:Anomalies all name topic 'inspection-results'" },
        { o => o.Topics.Frames = "camera frames", "Pipeline:Kafka:Topics:Frames 'camera frames' is not a legal Kafka topic name" },
        { o => o.Topics.Labels = "", "Pipeline:Kafka:Topics:Labels is empty" },
        { o => o.Compression.Results = "brotli", "Pipeline:Kafka:Compression:Results 'brotli' is not a compression codec; use one of none, gzip, snappy, lz4, zstd" },
        { o => o.Extra["compression.type"] = "lz4", "Pipeline:Kafka:Extra:compression.type duplicates a typed option; set Pipeline:Kafka:Compression:<topic> instead" },
        { o => o.Extra["compression.codec"] = "lz4", "Pipeline:Kafka:Extra:compression.codec duplicates a typed option" },
    };

    [Theory]
    [MemberData(nameof(SecurityMistakes))]
    public void Each_mistake_is_reported_naming_the_setting(Action<KafkaOptions> mistake, string expected)
    {
        var options = Valid();
        mistake(options);

        var problems = options.Validate();

        Assert.Single(problems);
        Assert.Contains(expected, problems[0]);
    }

    [Fact]
    public void Sasl_over_tls_with_a_ca_file_is_valid()
    {
        using var folder = new TempFolder();
        var options = Valid();
        options.SecurityProtocol = "SASL-SSL";
        options.SaslMechanism = "SCRAM_SHA_256";
        options.SaslUsername = "pipeline";
        options.SaslPassword = "secret";
        options.SslCaLocation = folder.Write("ca.pem", [1]);

        Assert.Empty(options.ValidateForConsumer());
        var producer = KafkaClients.ProducerConfig(options, "results", PipelineTopic.Results);
        Assert.Equal("sasl_ssl", producer.Get("security.protocol"));
        Assert.Equal("SCRAM-SHA-256", producer.Get("sasl.mechanism"));
        Assert.Equal("secret", producer.SaslPassword);
        Assert.Equal(options.SslCaLocation, producer.SslCaLocation);
    }

    [Fact]
    public void Producers_are_idempotent_wait_for_all_replicas_and_fit_images()
    {
        var config = KafkaClients.ProducerConfig(Valid(), "results", PipelineTopic.Results);

        Assert.True(config.EnableIdempotence);
        Assert.Equal(Acks.All, config.Acks);
        Assert.Equal(KafkaOptions.DefaultMaxMessageBytes, config.MessageMaxBytes);
        Assert.True(config.LingerMs <= 10);
        Assert.Equal("inspection-pipeline-results", config.ClientId);
        Assert.Equal("kafka-0:9092,kafka-1:9092", config.BootstrapServers);
    }

    [Fact]
    public void By_default_json_topics_are_gzip_and_image_topics_uncompressed_codecs_every_common_client_reads()
    {
        var options = Valid();

        var codecs = Enum.GetValues<PipelineTopic>().ToDictionary(topic => topic, topic => KafkaClients.ProducerConfig(options, "test", topic).CompressionType);

        Assert.Equal(CompressionType.None, codecs[PipelineTopic.Frames]);
        Assert.Equal(CompressionType.None, codecs[PipelineTopic.DeadLetter]);
        Assert.Equal(CompressionType.Gzip, codecs[PipelineTopic.Results]);
        Assert.Equal(CompressionType.Gzip, codecs[PipelineTopic.Anomalies]);
        Assert.Equal(CompressionType.Gzip, codecs[PipelineTopic.Labels]);
        Assert.Equal(CompressionType.Gzip, codecs[PipelineTopic.ModelEvents]);
    }

    [Fact]
    public void Each_topics_codec_binds_from_the_compression_section()
    {
        var options = Configuration(new()
        {
            ["Pipeline:Kafka:BootstrapServers"] = "kafka-0:9092",
            ["Pipeline:Kafka:Compression:Results"] = "ZSTD",
            ["Pipeline:Kafka:Compression:DeadLetter"] = "lz4",
        }).GetSection(KafkaOptions.SectionName).Get<KafkaOptions>()!;

        Assert.Empty(options.Validate());
        Assert.Equal(CompressionType.Zstd, KafkaClients.ProducerConfig(options, "ingest", PipelineTopic.Results).CompressionType);
        Assert.Equal(CompressionType.Lz4, KafkaClients.ProducerConfig(options, "ingest", PipelineTopic.DeadLetter).CompressionType);
        Assert.Equal(CompressionType.Gzip, KafkaClients.ProducerConfig(options, "ingest", PipelineTopic.Anomalies).CompressionType);
    }

    [Fact]
    public void A_role_writing_topics_of_two_codecs_gets_one_producer_per_codec()
    {
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1" };

        using var producers = KafkaClients.CreateProducers(options, "ingest", [PipelineTopic.Results, PipelineTopic.Anomalies, PipelineTopic.DeadLetter]);

        Assert.Equal(2, producers.Producers.Count);
        Assert.Same(producers.ProducerOf("inspection-results"), producers.ProducerOf("anomalies"));
        Assert.NotSame(producers.ProducerOf("inspection-results"), producers.ProducerOf("frames-dead-letter"));
        Assert.StartsWith("inspection-pipeline-ingest-gzip", producers.ProducerOf("anomalies").Name, StringComparison.Ordinal);
        Assert.StartsWith("inspection-pipeline-ingest-none", producers.ProducerOf("frames-dead-letter").Name, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => producers.ProducerOf("frames"));
    }

    [Fact]
    public void Consumers_commit_only_when_told_and_rebalance_cooperatively()
    {
        var options = Valid();
        options.MaxMessageBytes = 64 * 1024 * 1024;

        var config = KafkaClients.ConsumerConfig(options);

        Assert.Equal("scoring", config.GroupId);
        Assert.False(config.EnableAutoCommit);
        Assert.False(config.EnableAutoOffsetStore);
        Assert.Equal(AutoOffsetReset.Earliest, config.AutoOffsetReset);
        Assert.Equal(PartitionAssignmentStrategy.CooperativeSticky, config.PartitionAssignmentStrategy);
        Assert.Equal(64 * 1024 * 1024, config.MaxPartitionFetchBytes);
        Assert.True(config.FetchMaxBytes >= 64 * 1024 * 1024);
        Assert.True(config.ReceiveMessageMaxBytes >= config.FetchMaxBytes + 512);
    }

    [Fact]
    public void Invalid_options_make_no_client()
    {
        var error = Assert.Throws<ArgumentException>(() => KafkaClients.CreateProducer(new KafkaOptions(), "results", PipelineTopic.Results));

        Assert.Contains("Pipeline:Kafka:BootstrapServers is empty", error.Message);
    }
}
