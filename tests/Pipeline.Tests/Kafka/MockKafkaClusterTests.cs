using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Kafka;

/// <summary>The mock cluster itself, and what the pipeline's clients do against it.</summary>
public class MockKafkaClusterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static KafkaOptions OptionsFor(MockKafkaCluster cluster, string group = "tests") => TestKafka.Options(cluster, group);

    private static FrameMetadata Frame(int camera, int index) => new(
        $"frame-{camera}-{index}", $"cam-{camera}", DateTimeOffset.UnixEpoch.AddSeconds(index), FrameContentTypes.Png);

    private static byte[] ImageBytes(string frameId) => Encoding.UTF8.GetBytes($"not really a PNG: {frameId}");

    private static List<ConsumeResult<string, byte[]>> ConsumeAtLeast(IConsumer<string, byte[]> consumer, int count)
    {
        var results = new List<ConsumeResult<string, byte[]>>();
        var deadline = DateTime.UtcNow + Patience;
        while (results.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } result)
            {
                results.Add(result);
            }
        }

        Assert.True(results.Count >= count, $"only {results.Count} of {count} messages arrived within {Patience.TotalSeconds} s");
        return results;
    }

    private static List<ConsumeResult<string, byte[]>> ConsumeRest(IConsumer<string, byte[]> consumer, TimeSpan quiet)
    {
        var results = new List<ConsumeResult<string, byte[]>>();
        while (consumer.Consume(quiet) is { } result)
        {
            if (!result.IsPartitionEOF)
            {
                results.Add(result);
            }
        }

        return results;
    }

    [Fact]
    public void A_cluster_of_three_brokers_listens_on_local_ports_through_the_library_confluent_kafka_loaded()
    {
        using var cluster = MockKafkaCluster.Start(3);

        var servers = cluster.BootstrapServers.Split(',');
        Assert.Equal(3, servers.Length);
        Assert.All(servers, server => Assert.Matches(@"^127\.0\.0\.1:\d+$", server));
        Assert.Equal(3, cluster.BrokerCount);

        var library = LoadedLibrdkafka.Instance;
        Assert.Equal(Library.Version, library.Version);
        Assert.Contains("librdkafka", Path.GetFileName(library.Path));
        Assert.Contains(Path.GetFileName(library.Path), (string[])["librdkafka.so", "centos8-librdkafka.so", "alpine-librdkafka.so"]);
        Assert.Equal(library.Path, LoadedLibrdkafka.LibrdkafkaPathFromMemoryMap(File.ReadLines("/proc/self/maps")));
    }

    [Fact]
    public void The_memory_map_must_name_exactly_one_librdkafka()
    {
        const string Line = "7f1c2a000000-7f1c2a100000 r-xp 00000000 08:01 123 ";
        string[] maps = [Line + "/usr/lib/libc.so.6", Line + "/app/runtimes/linux-x64/native/centos8-librdkafka.so", Line + "/app/runtimes/linux-x64/native/centos8-librdkafka.so", "7f1c2a100000-7f1c2a200000 rw-p 00000000 00:00 0 "];

        Assert.Equal("/app/runtimes/linux-x64/native/centos8-librdkafka.so", LoadedLibrdkafka.LibrdkafkaPathFromMemoryMap(maps));
        Assert.Throws<InvalidOperationException>(() => LoadedLibrdkafka.LibrdkafkaPathFromMemoryMap([Line + "/usr/lib/libc.so.6"]));
        Assert.Throws<InvalidOperationException>(
            () => LoadedLibrdkafka.LibrdkafkaPathFromMemoryMap([.. maps, Line + "/usr/lib/x86_64-linux-gnu/librdkafka.so.1"]));
    }

    [Fact]
    public void Mistakes_with_the_cluster_are_reported_clearly()
    {
        using var cluster = MockKafkaCluster.Start(2);
        cluster.CreateTopic("twice", 2);

        var duplicate = Assert.Throws<InvalidOperationException>(() => cluster.CreateTopic("twice", 2));
        Assert.Contains("create topic 'twice'", duplicate.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.CreateTopic("too-many-replicas", 1, replicationFactor: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerDown(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerUp(0));

        cluster.Dispose();
        cluster.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late", 1));
    }

    [Fact]
    public async Task A_second_consumer_in_the_group_resumes_after_the_committed_offsets()
    {
        using var cluster = MockKafkaCluster.Start(3);
        cluster.CreateTopic("frames", partitions: 6, replicationFactor: 3);
        var options = OptionsFor(cluster, "scoring");
        var frames = Enumerable.Range(0, 6).SelectMany(camera => Enumerable.Range(0, 10).Select(index => Frame(camera, index))).ToList();

        using (var producer = KafkaClients.CreateProducer(options, "camera-simulator", PipelineTopic.Frames))
        {
            var deliveries = await Task.WhenAll(frames.Select(f => producer.ProduceAsync("frames", FrameHeaders.CreateMessage(f, ImageBytes(f.FrameId))))).WaitAsync(Patience);
            Assert.All(deliveries, d => Assert.Equal(PersistenceStatus.Persisted, d.Status));
        }

        // The first member reads everything, but only the first half of each partition's frames
        // finishes (in reverse order); it commits what the tracker allows and leaves.
        var tracker = new OffsetCommitTracker();
        List<ConsumeResult<string, byte[]>> unfinished;
        using (var first = KafkaClients.CreateConsumer(options))
        {
            first.Subscribe("frames");
            var read = ConsumeAtLeast(first, frames.Count);
            Assert.Equal(frames.Count, read.Count);
            foreach (var result in read)
            {
                var parsed = FrameHeaders.Parse(result.Message.Headers, result.Message.Key);
                Assert.True(parsed.IsValid, parsed.Rejection?.Detail);
                Assert.Equal(ImageBytes(parsed.Metadata.FrameId), result.Message.Value);
                tracker.Started(result.TopicPartitionOffset);
            }

            var byPartition = read.GroupBy(r => r.Partition.Value).ToList();
            var finished = byPartition.SelectMany(p => p.OrderBy(r => r.Offset.Value).Take(p.Count() / 2)).Reverse().ToList();
            unfinished = read.Except(finished).ToList();
            foreach (var result in finished)
            {
                Assert.True(tracker.Completed(result.TopicPartitionOffset));
            }

            var commits = tracker.TakeCommittable();
            Assert.Equal(byPartition.Count(p => p.Count() >= 2), commits.Count);
            first.Commit(commits);
            first.Close();
        }

        // The next member of the group gets exactly the frames whose offsets were not committed.
        using var second = KafkaClients.CreateConsumer(options);
        second.Subscribe("frames");
        var again = ConsumeAtLeast(second, unfinished.Count);
        again.AddRange(ConsumeRest(second, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(
            unfinished.Select(r => r.TopicPartitionOffset.ToString()).Order(),
            again.Select(r => r.TopicPartitionOffset.ToString()).Order());
        second.Close();
    }

    [Fact]
    public async Task Frames_as_large_as_images_get_through_and_dead_letters_keep_their_bytes_and_reasons()
    {
        using var cluster = MockKafkaCluster.Start(1);
        cluster.CreateTopic("frames", 1);
        cluster.CreateTopic("frames-dead-letter", 1);
        var options = OptionsFor(cluster, "ingest");
        var image = new byte[3 * 1024 * 1024];
        new Random(5).NextBytes(image);
        var frame = new FrameMetadata("big-1", "cam-1", DateTimeOffset.UnixEpoch, FrameContentTypes.Bmp, FrameLabel.Good);

        using var producer = KafkaClients.CreateProducer(options, "ingest", PipelineTopic.DeadLetter);
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync("frames", FrameHeaders.CreateMessage(frame, image)).WaitAsync(Patience)).Status);

        using var consumer = KafkaClients.CreateConsumer(options);
        consumer.Subscribe("frames");
        var read = ConsumeAtLeast(consumer, 1).Single();
        Assert.Equal(image, read.Message.Value);

        var deadLetter = DeadLetters.Create(read, DeadLetterReasons.UndecodableImage, "The BMP header is random bytes.");
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync("frames-dead-letter", deadLetter).WaitAsync(Patience)).Status);
        consumer.Commit([new TopicPartitionOffset(read.TopicPartition, read.Offset + 1)]);
        consumer.Close();

        using var inspector = KafkaClients.CreateConsumer(new KafkaOptions { BootstrapServers = cluster.BootstrapServers, ConsumerGroup = "dead-letter-inspector" });
        inspector.Subscribe("frames-dead-letter");
        var stored = ConsumeAtLeast(inspector, 1).Single().Message;
        Assert.Equal("cam-1", stored.Key);
        Assert.Equal(image, stored.Value);
        Assert.Equal(frame, FrameHeaders.Parse(stored.Headers, stored.Key).Metadata);
        Assert.Equal("undecodable-image", Encoding.UTF8.GetString(stored.Headers.GetLastBytes(DeadLetters.ReasonHeader)));
        Assert.Equal("frames/0/0", Encoding.UTF8.GetString(stored.Headers.GetLastBytes(DeadLetters.SourceHeader)));
        inspector.Close();
    }

    [Fact]
    public async Task Messages_acknowledged_around_a_broker_outage_are_all_kept_once()
    {
        using var cluster = MockKafkaCluster.Start(3);
        cluster.CreateTopic("results", partitions: 3, replicationFactor: 3);
        var options = OptionsFor(cluster, "audit");
        Message<string, byte[]> Result(int i) => new() { Key = $"cam-{i}", Value = BitConverter.GetBytes(i) };
        TopicPartition PartitionOf(int i) => new("results", i % 3);

        using (var producer = KafkaClients.CreateProducer(options, "scoring", PipelineTopic.Results))
        {
            using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
            var leaders = admin.GetMetadata("results", Patience).Topics.Single().Partitions.ToDictionary(p => p.PartitionId, p => p.Leader);
            var outage = leaders[0];
            var before = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => producer.ProduceAsync(PartitionOf(i), Result(i)))).WaitAsync(Patience);

            // The leader of partition 0 goes dark while more is sent; its partitions' messages wait for it, while the
            // others are acknowledged. None of the waiting ones may be acknowledged before the broker is back.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            cluster.SetBrokerDown(outage);
            var during = Enumerable.Range(30, 30).Select(i => producer.ProduceAsync(PartitionOf(i), Result(i))).ToArray();
            var acknowledgedAt = during.Select(d => d.ContinueWith(_ => clock.Elapsed, TaskScheduler.Default)).ToArray();
            var waiting = Enumerable.Range(0, during.Length).Where(i => leaders[(30 + i) % 3] == outage).ToArray();
            await Task.WhenAll(Enumerable.Range(0, during.Length).Except(waiting).Select(i => during[i])).WaitAsync(Patience);
            var upAt = clock.Elapsed;
            Assert.All(waiting, i => Assert.False(during[i].IsCompleted, $"message {30 + i} was acknowledged while its leader was down"));
            cluster.SetBrokerUp(outage);
            await Task.WhenAll(acknowledgedAt).WaitAsync(Patience);
            Assert.All(waiting, i => Assert.True(acknowledgedAt[i].Result >= upAt, $"message {30 + i} was acknowledged while its leader was down"));

            var acknowledged = before.Concat(await Task.WhenAll(during).WaitAsync(Patience));
            Assert.All(acknowledged, d => Assert.Equal(PersistenceStatus.Persisted, d.Status));
        }

        using var consumer = KafkaClients.CreateConsumer(options);
        consumer.Subscribe("results");
        var read = ConsumeAtLeast(consumer, 60);
        read.AddRange(ConsumeRest(consumer, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(Enumerable.Range(0, 60), read.Select(r => BitConverter.ToInt32(r.Message.Value)).Order());
        consumer.Close();
    }

    [Fact]
    public async Task The_mock_keeps_only_about_5_MB_per_partition()
    {
        using var cluster = MockKafkaCluster.Start(1);
        cluster.CreateTopic("frames", 1);
        var options = OptionsFor(cluster);
        var megabyte = new byte[1024 * 1024];
        new Random(3).NextBytes(megabyte);

        using (var producer = KafkaClients.CreateProducer(options, "camera-simulator", PipelineTopic.Frames))
        {
            for (var i = 0; i < 8; i++)
            {
                await producer.ProduceAsync("frames", new Message<string, byte[]> { Key = "cam-1", Value = megabyte }).WaitAsync(Patience);
            }
        }

        using var consumer = KafkaClients.CreateConsumer(options);
        var kept = consumer.QueryWatermarkOffsets(new TopicPartition("frames", 0), Patience);
        Assert.Equal(8, kept.High.Value);
        // The oldest megabytes are gone: only the newest 3 to 5 MB remain (4 with librdkafka 2.16).
        Assert.InRange(kept.Low.Value, 3, 5);
    }

    [Fact]
    public void Client_errors_go_to_the_logger()
    {
        // Nothing listens on port 1: the producer's connection attempts fail at once.
        var logger = new RecordingLogger();
        using var producer = KafkaClients.CreateProducer(new KafkaOptions { BootstrapServers = "127.0.0.1:1" }, "unreachable", PipelineTopic.Results, logger);

        var deadline = DateTime.UtcNow + Patience;
        while (!logger.Entries.Any(e => e.Level >= LogLevel.Warning) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }

        Assert.Contains(logger.Entries, e => e.Level >= LogLevel.Warning && e.Message.Contains("inspection-pipeline-unreachable", StringComparison.Ordinal));
    }
}
