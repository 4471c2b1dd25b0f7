using System.Runtime.Serialization;
using Akka.Actor;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Scoring;
using Pipeline.Tests.Cluster;
using Xunit;
using ScoreFrame = Pipeline.Shared.Scoring.ScoreFrame;
using FrameScored = Pipeline.Shared.Scoring.FrameScored;

namespace Pipeline.Tests.Scoring;

// In the cluster collection: one test starts a node, and cluster tests run one class at a time.
[Collection(ClusterCollection.Name)]
public sealed class ScoringMessageSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset CapturedAt = new DateTimeOffset(2025, 3, 14, 15, 9, 26, TimeSpan.FromHours(5.5)).AddTicks(5_358_979);
    private static readonly DateTimeOffset IngestedAt = new(2025, 3, 14, 9, 39, 26, 612, TimeSpan.Zero);
    private static readonly DateTimeOffset ScoredAt = new DateTimeOffset(2025, 3, 14, 1, 39, 27, TimeSpan.FromHours(-8)).AddTicks(1);

    private readonly ScoringMessageSerializer serializer;

    public ScoringMessageSerializerTests() => serializer = new ScoringMessageSerializer((ExtendedActorSystem)Sys);

    [Fact]
    public void A_frame_round_trips_with_its_pixels_and_exact_timestamps()
    {
        var frame = Frame(size: 5, correlation: 42L);

        var copy = RoundTrip(frame);

        Assert.Equal(frame, copy with { Image = frame.Image });
        Assert.Equal((5, 5), (copy.Image.Width, copy.Image.Height));
        Assert.Equal(frame.Image.Pixels, copy.Image.Pixels);
        AssertSameInstant(frame.CapturedAt, copy.CapturedAt);
        AssertSameInstant(frame.IngestedAt, copy.IngestedAt);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Pipeline.Shared.Kafka.FrameLabel.Good)]
    [InlineData(Pipeline.Shared.Kafka.FrameLabel.Defect)]
    public void A_frame_keeps_its_label(Pipeline.Shared.Kafka.FrameLabel? label)
    {
        var frame = Frame(size: 4, correlation: 1L) with { Label = label };

        Assert.Equal(label, RoundTrip(frame).Label);
    }

    [Fact]
    public void A_frame_written_in_format_1_reads_as_unlabelled()
    {
        var frame = Frame(size: 4, correlation: 1L);
        var bytes = serializer.ToBinary(frame);
        bytes[0] = 1; // format 1 had no label byte after the correlation (nor format 2's original size flag, nor format 4's product after it)
        var format1 = bytes[..^(2 + DefaultProductBytes)];

        var copy = (ScoreFrame)serializer.FromBinary(format1, serializer.Manifest(frame));

        Assert.Null(copy.Label);
        Assert.Equal(frame.Image.Pixels, copy.Image.Pixels);
    }

    [Fact]
    public void A_frame_keeps_its_original_size_and_a_format_2_frame_reads_without_one()
    {
        var frame = Frame(size: 4, correlation: 1L) with { OriginalSize = new FrameSize(640, 480) };
        Assert.Equal(new FrameSize(640, 480), RoundTrip(frame).OriginalSize);

        var bytes = serializer.ToBinary(frame with { OriginalSize = null });
        bytes[0] = 2; // format 2 ended with the label byte
        var copy = (ScoreFrame)serializer.FromBinary(bytes[..^(1 + DefaultProductBytes)], serializer.Manifest(frame));
        Assert.Null(copy.OriginalSize);
    }

    [Fact]
    public void A_frame_and_its_answer_keep_their_product_and_format_3_reads_as_the_default_products()
    {
        var frame = Frame(size: 4, correlation: 1L) with { Product = "bracket-a" };
        Assert.Equal("bracket-a", RoundTrip(frame).Product);
        var scored = new FrameScored("camera-7/frame-1", "camera-7", 0.5, 1, "v3", CapturedAt, IngestedAt, ScoredAt, 4, 7L, Product: "bracket-a");
        Assert.Equal(scored, RoundTrip(scored));

        var bytes = serializer.ToBinary(frame with { Product = Pipeline.Shared.Products.ProductName.Default });
        bytes[0] = 3; // format 3 ended with the original size flag
        Assert.Equal(Pipeline.Shared.Products.ProductName.Default, ((ScoreFrame)serializer.FromBinary(bytes[..^DefaultProductBytes], serializer.Manifest(frame))).Product);
        var answer = serializer.ToBinary(scored with { Product = Pipeline.Shared.Products.ProductName.Default });
        answer[0] = 3;
        Assert.Equal(scored with { Product = Pipeline.Shared.Products.ProductName.Default }, serializer.FromBinary(answer[..^DefaultProductBytes], serializer.Manifest(scored)));
    }

    [Fact]
    public void A_status_keeps_every_products_model_and_a_node_status_whether_its_models_are_in_step()
    {
        var served = new ScoringStatus(true, "v2", 224, 1, 2, "cuda:0", [new ServedModel("bracket-a", "v7", 448), new ServedModel("default", "v2", 224)]);
        var copy = RoundTrip(served);
        Assert.Equal(served, copy);
        Assert.Equal(served.ServedModels, copy.ServedModels);

        var waiting = new ScoringNodeStatus([served], ModelsInStep: false);
        var nodeCopy = RoundTrip(waiting);
        Assert.False(nodeCopy.ModelsInStep);
        Assert.Equal(waiting.Scorers, nodeCopy.Scorers);
        Assert.Equal(448, nodeCopy.ImageSizeOf("bracket-a"));
        Assert.True(RoundTrip(new ScoringNodeStatus([served])).ModelsInStep);
    }

    [Fact]
    public void A_format_3_status_reads_as_serving_its_one_model_for_the_default_product_and_in_step()
    {
        var old = new ScoringStatus(true, "v2", 224, 1, 2, "cuda:0");
        var bytes = serializer.ToBinary(new ScoringNodeStatus([old]));
        bytes[0] = 3; // format 3 had no served models after the device, nor the in-step flag at the end
        var format3 = bytes[..^(4 + DefaultProductBytes + 3 + 4 + 1)]; // count, "default", "v2", 224, in step

        var copy = (ScoringNodeStatus)serializer.FromBinary(format3, serializer.Manifest(new ScoringNodeStatus([])));

        Assert.True(copy.ModelsInStep);
        Assert.Equal([new ServedModel("default", "v2", 224)], Assert.Single(copy.Scorers).ServedModels);
    }

    /// <summary>The bytes the default product's name takes at the end of a format 4 frame: its length and "default".</summary>
    private const int DefaultProductBytes = 1 + 7;

    [Fact]
    public void A_scored_frame_keeps_its_anomaly_map_and_regions()
    {
        var map = new FrameAnomalyMap([new AnomalyRegion(10, 20, 30, 40, 0.5, 25, 35, 900), new AnomalyRegion(1, 2, 3, 4, 0.25, 2, 3, 12)], [1, 2, 3, 250], 0.75, 0.125);
        var scored = new FrameScored("f", "c", 0.8125, 0.5, "m", CapturedAt, IngestedAt, ScoredAt, 1, 7L, map);

        var copy = RoundTrip(scored).Map!;

        Assert.Equal(map.Regions, copy.Regions);
        Assert.Equal(map.Png, copy.Png);
        Assert.Equal((0.75, 0.125), (copy.Peak, copy.RegionLevel));
        Assert.Null(RoundTrip(scored with { Map = null }).Map);
    }

    [Fact]
    public void A_frame_that_is_not_square_keeps_its_width_and_height()
    {
        var pixels = Enumerable.Range(0, 7 * 3 * 3).Select(i => (byte)i).ToArray();
        var frame = new ScoreFrame("f", "c", CapturedAt, IngestedAt, new RgbImage(7, 3, pixels));

        var copy = RoundTrip(frame);

        Assert.Equal((7, 3), (copy.Image.Width, copy.Image.Height));
        Assert.Equal(pixels, copy.Image.Pixels);
    }

    [Fact]
    public void A_prepared_224_pixel_frame_costs_little_more_than_its_pixels()
    {
        var frame = Frame(size: 224, correlation: "inspection-frames/3@1234567890");

        var bytes = serializer.ToBinary(frame);

        Assert.InRange(bytes.Length, 224 * 224 * 3, 224 * 224 * 3 + 512);
    }

    [Fact]
    public void Every_answer_and_status_message_round_trips()
    {
        var scored = new FrameScored("camera-7/frame-1", "camera-7", 0.8125, 0.5, "model-2025-03-14", CapturedAt, IngestedAt, ScoredAt, 12, 7);
        var scoredCopy = RoundTrip(scored);
        Assert.Equal(scored, scoredCopy);
        AssertSameInstant(scored.CapturedAt, scoredCopy.CapturedAt);
        AssertSameInstant(scored.IngestedAt, scoredCopy.IngestedAt);
        AssertSameInstant(scored.ScoredAt, scoredCopy.ScoredAt);

        foreach (var kind in Enum.GetValues<ScoringFailureKind>())
        {
            var failed = new ScoringFailed("camera-7/frame-2", "camera-7", kind, "CUDA out of memory (ünïcödé)", "p3@17");
            Assert.Equal(failed, RoundTrip(failed));
        }

        var busy = new ScoringBusy("camera-7/frame-3", "camera-7", 256, 256, null);
        Assert.Equal(busy, RoundTrip(busy));

        var available = new ScoringAvailable("cuda:1", 128);
        Assert.Equal(available, RoundTrip(available));

        Assert.Same(GetScoringStatus.Instance, RoundTrip(GetScoringStatus.Instance));

        var ready = new ScoringStatus(true, "model-2025-03-14", 448, 3, 8, "cuda:0");
        var empty = new ScoringStatus(false, null, null, 0, 0, "cpu");
        Assert.Equal(ready, RoundTrip(ready));
        Assert.Equal(empty, RoundTrip(empty));

        var node = new ScoringNodeStatus([ready, empty]);
        Assert.Equal(node.Scorers, RoundTrip(node).Scorers);
        Assert.Empty(RoundTrip(new ScoringNodeStatus([])).Scorers);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(long.MinValue)]
    [InlineData(int.MaxValue)]
    [InlineData("")]
    [InlineData("inspection-frames/3@1234567890")]
    public void A_correlation_token_keeps_its_type_and_value(object? correlation)
    {
        var copy = RoundTrip(Frame(size: 2, correlation));

        Assert.Equal(correlation, copy.Correlation);
        Assert.Equal(correlation?.GetType(), copy.Correlation?.GetType());
    }

    [Fact]
    public void A_correlation_token_of_another_type_is_refused_with_its_type_named()
    {
        var error = Assert.Throws<ArgumentException>(() => serializer.ToBinary(Frame(size: 2, correlation: Guid.NewGuid())));
        Assert.Contains("System.Guid", error.Message);
        Assert.Contains("must be long, int or string", error.Message);

        var answer = new ScoringFailed("f", "c", ScoringFailureKind.ModelFailed, "boom", (Partition: 3, Offset: 17L));
        Assert.Contains("System.ValueTuple", Assert.Throws<ArgumentException>(() => serializer.ToBinary(answer)).Message);
    }

    [Fact]
    public void A_truncated_payload_is_refused_at_every_length()
    {
        foreach (var message in new object[]
                 {
                     Frame(size: 2, correlation: "p3@17"),
                     new FrameScored("f", "c", 1, 0.5, "v1", CapturedAt, IngestedAt, ScoredAt, 1, 5L),
                     new ScoringNodeStatus([new ScoringStatus(true, "v1", 224, 0, 0, "cpu")]),
                 })
        {
            var bytes = serializer.ToBinary(message);
            var manifest = serializer.Manifest(message);
            for (var length = 0; length < bytes.Length; length++)
                Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes[..length], manifest));
        }
    }

    [Fact]
    public void A_truncated_frame_names_the_message_and_the_cause()
    {
        var bytes = serializer.ToBinary(Frame(size: 224, correlation: 1L));

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes[..(bytes.Length / 2)], "SF"));

        Assert.Contains("'SF'", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_payload_of_a_newer_format_version_is_refused()
    {
        var bytes = serializer.ToBinary(new ScoringAvailable("cpu", 1));
        bytes[0] = ScoringMessageSerializer.FormatVersion + 1;

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "SA"));

        Assert.Contains($"format version {ScoringMessageSerializer.FormatVersion + 1}", error.Message);
    }

    [Fact]
    public void An_unknown_manifest_is_refused()
    {
        var bytes = serializer.ToBinary(new ScoringAvailable("cpu", 1));

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "ZZ"));

        Assert.Contains("Unknown scoring message manifest 'ZZ'", error.Message);
    }

    [Fact]
    public void Messages_it_does_not_handle_are_refused()
    {
        Assert.Throws<ArgumentException>(() => serializer.Manifest("not a scoring message"));
        Assert.Throws<ArgumentException>(() => serializer.ToBinary(new ModelSwapped("cpu", "v2", "v1")));
    }

    [Fact]
    public async Task A_node_serializes_the_scoring_messages_with_it()
    {
        var host = TestNodes.Builder("inspection-serialization", TestNodes.FreePort(), [ClusterRoles.Ingest], []).Build();
        try
        {
            await host.StartAsync();
            var serialization = host.ActorSystem().Serialization;
            var frame = Frame(size: 4, correlation: 9L);

            var chosen = serialization.FindSerializerFor(frame);

            var ours = Assert.IsType<ScoringMessageSerializer>(chosen);
            Assert.Equal(ScoringMessageSerializer.SerializerId, ours.Identifier);
            Assert.All(ScoringMessageSerializer.MessageTypes, type => Assert.IsType<ScoringMessageSerializer>(serialization.FindSerializerForType(type)));
            var copy = (ScoreFrame)serialization.Deserialize(serialization.Serialize(frame), ours.Identifier, ours.Manifest(frame));
            Assert.Equal(frame.Image.Pixels, copy.Image.Pixels);
        }
        finally
        {
            await TestNodes.StopAllAsync(host);
        }
    }

    private T RoundTrip<T>(T message) where T : notnull => (T)serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));

    private static ScoreFrame Frame(int size, object? correlation)
    {
        var pixels = new byte[size * size * 3];
        new Random(size).NextBytes(pixels);
        return new ScoreFrame("camera-7/frame-1", "camera-7", CapturedAt, IngestedAt, new RgbImage(size, size, pixels), correlation);
    }

    /// <summary>DateTimeOffset equality compares instants only; the offset must survive too.</summary>
    private static void AssertSameInstant(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.Equal((expected.UtcTicks, expected.Offset), (actual.UtcTicks, actual.Offset));
}
