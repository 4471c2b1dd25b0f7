using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Pipeline.Simulation;
using Pipeline.Tests.Kafka;
using Xunit;

namespace Pipeline.Tests.Simulation;

/// <summary>The simulated camera against librdkafka's mock cluster: what arrives, when, and what is counted.</summary>
public sealed class CameraStreamTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly MockKafkaCluster cluster = MockKafkaCluster.Start(1);

    private KafkaOptions Options(string group = "camera-tests") => TestKafka.Options(cluster, group);

    private static CameraFrame Frame(string camera, int number, FrameLabel? label = null) => new(
        new FrameMetadata($"{camera}-{number}", camera, DateTimeOffset.UnixEpoch, FrameContentTypes.Png, label),
        Encoding.UTF8.GetBytes($"not really a PNG: {camera}-{number}"));

    /// <summary>Reads <paramref name="count"/> messages of <paramref name="topic"/> from the start.</summary>
    internal static List<ConsumeResult<string, byte[]>> ReadAll(KafkaOptions options, string topic, int count)
    {
        using var consumer = KafkaClients.CreateConsumer(options);
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<string, byte[]>>();
        var deadline = DateTime.UtcNow + Patience;
        while (results.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } result)
                results.Add(result);
        }

        consumer.Close();
        Assert.True(results.Count == count, $"{results.Count} of {count} messages arrived within {Patience.TotalSeconds} s");
        return results;
    }

    [Fact]
    public async Task Frames_arrive_with_the_contracts_key_and_headers_in_order_per_camera()
    {
        cluster.CreateTopic("frames", partitions: 3);
        var frames = Enumerable.Range(1, 5).SelectMany(n => new[] { Frame("camera-1", n, FrameLabel.Good), Frame("camera-2", n), Frame("camera-3", n, FrameLabel.Defect) }).ToList();
        var before = DateTimeOffset.UtcNow;

        using var producer = KafkaClients.CreateProducer(Options(), "camera-simulator");
        var summary = await CameraStream.RunAsync(producer, "frames", frames, new CameraStreamOptions(), CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(new CameraStreamSummary(15, 15, 0, null, summary.Elapsed, summary.FramesPerSecond), summary);
        Assert.True(summary.AllDelivered);
        var read = ReadAll(Options(), "frames", frames.Count);
        var sentAt = new Dictionary<string, DateTimeOffset>();
        foreach (var result in read)
        {
            var parsed = FrameHeaders.Parse(result.Message.Headers, result.Message.Key);
            Assert.True(parsed.IsValid, parsed.Rejection?.Detail);
            var original = frames.Single(f => f.Metadata.FrameId == parsed.Metadata.FrameId);
            // Everything as given, except captured-at: the moment the frame went out.
            Assert.Equal(original.Metadata with { CapturedAt = parsed.Metadata.CapturedAt }, parsed.Metadata);
            Assert.Equal(original.Metadata.CameraId, result.Message.Key);
            Assert.Equal(original.EncodedImage, result.Message.Value);
            Assert.InRange(parsed.Metadata.CapturedAt, before, DateTimeOffset.UtcNow);
            sentAt[parsed.Metadata.FrameId] = parsed.Metadata.CapturedAt;
        }

        foreach (var camera in read.GroupBy(r => r.Message.Key))
        {
            Assert.Single(camera.Select(r => r.Partition).Distinct());
            var inPartitionOrder = camera.OrderBy(r => r.Offset.Value).Select(r => FrameHeaders.Parse(r.Message.Headers, r.Message.Key).Metadata!.FrameId).ToList();
            Assert.Equal(Enumerable.Range(1, 5).Select(n => $"{camera.Key}-{n}"), inPartitionOrder);
        }

        var sendOrder = frames.Select(f => sentAt[f.Metadata.FrameId]).ToList();
        Assert.Equal(sendOrder.Order(), sendOrder);
    }

    [Fact]
    public async Task Frames_are_paced_at_the_set_rate()
    {
        cluster.CreateTopic("frames", partitions: 1);
        var frames = Enumerable.Range(1, 10).Select(n => Frame("camera-1", n)).ToList();
        using var producer = KafkaClients.CreateProducer(Options(), "camera-simulator");

        var clock = Stopwatch.StartNew();
        var summary = await CameraStream.RunAsync(producer, "frames", frames, new CameraStreamOptions { FramesPerSecond = 20 }, CancellationToken.None).WaitAsync(Patience);
        clock.Stop();

        // The 10th frame is due 9/20 s after the first; only a lower bound, a busy machine may be slower.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.44), $"10 frames at 20/s took {clock.Elapsed.TotalSeconds:0.000} s");
        Assert.True(summary.Elapsed >= TimeSpan.FromSeconds(0.44), $"summary says {summary.Elapsed.TotalSeconds:0.000} s");
        Assert.InRange(summary.FramesPerSecond, 1, 20.5);
        Assert.Equal(10, summary.Delivered);
        var stamps = ReadAll(Options(), "frames", 10).Select(r => FrameHeaders.Parse(r.Message.Headers, r.Message.Key).Metadata!.CapturedAt).ToList();
        Assert.True(stamps[^1] - stamps[0] >= TimeSpan.FromSeconds(0.4), $"captured-at spans {(stamps[^1] - stamps[0]).TotalSeconds:0.000} s");
    }

    [Fact]
    public async Task Progress_is_reported_every_n_frames_and_after_the_last()
    {
        cluster.CreateTopic("frames", partitions: 1);
        var reports = new List<CameraStreamProgress>();
        using var producer = KafkaClients.CreateProducer(Options(), "camera-simulator");

        var options = new CameraStreamOptions { ProgressEvery = 3, OnProgress = reports.Add };
        await CameraStream.RunAsync(producer, "frames", Enumerable.Range(1, 7).Select(n => Frame("camera-1", n)), options, CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(new long[] { 3, 6, 7 }, reports.Select(r => r.Sent));
        Assert.Equal(new long[] { 3, 6, 7 }, reports.Select(r => r.Frames));
    }

    [Fact]
    public async Task Frames_that_are_not_delivered_are_counted_with_the_first_error()
    {
        cluster.CreateTopic("frames", partitions: 1);
        cluster.SetBrokerDown(1);
        var options = Options();
        options.Extra["message.timeout.ms"] = "300";
        using var producer = KafkaClients.CreateProducer(options, "camera-simulator");

        var summary = await CameraStream.RunAsync(producer, "frames", Enumerable.Range(1, 3).Select(n => Frame("camera-1", n)), new CameraStreamOptions(), CancellationToken.None).WaitAsync(Patience);

        Assert.Equal((3L, 0L, 3L), (summary.Sent, summary.Delivered, summary.Failed));
        Assert.False(summary.AllDelivered);
        Assert.StartsWith("frame 'camera-1-1' was not delivered: ", summary.FirstError);
        Assert.Contains(nameof(ErrorCode.Local_MsgTimedOut), summary.FirstError);
    }

    [Fact]
    public async Task A_frame_the_producer_refuses_is_counted_and_the_rest_go_out()
    {
        cluster.CreateTopic("frames", partitions: 1);
        var options = Options();
        options.MaxMessageBytes = 1000;
        var tooLarge = Frame("camera-1", 2) with { EncodedImage = new byte[5000] };
        using var producer = KafkaClients.CreateProducer(options, "camera-simulator");

        var summary = await CameraStream.RunAsync(producer, "frames", [Frame("camera-1", 1), tooLarge, Frame("camera-1", 3)], new CameraStreamOptions(), CancellationToken.None).WaitAsync(Patience);

        Assert.Equal((2L, 2L, 1L), (summary.Sent, summary.Delivered, summary.Failed));
        Assert.StartsWith("frame 'camera-1-2' could not be sent: ", summary.FirstError);
        Assert.Contains(nameof(ErrorCode.MsgSizeTooLarge), summary.FirstError);
    }

    [Fact]
    public async Task Cancelling_stops_the_stream()
    {
        cluster.CreateTopic("frames", partitions: 1);
        using var producer = KafkaClients.CreateProducer(Options(), "camera-simulator");
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var sent = 0L;

        var options = new CameraStreamOptions { FramesPerSecond = 10, ProgressEvery = 1, OnProgress = p => sent = p.Sent };
        var run = CameraStream.RunAsync(producer, "frames", Enumerable.Range(1, 100).Select(n => Frame("camera-1", n)), options, cancellation.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Patience));
        Assert.InRange(sent, 1, 10);
    }

    public void Dispose() => cluster.Dispose();
}
