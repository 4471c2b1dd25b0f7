using System.Runtime.Serialization;
using Akka.Actor;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Training;
using Xunit;
using static Pipeline.Tests.Training.TrainingSamples;

namespace Pipeline.Tests.Training;

public sealed class TrainingMessageSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly TrainingMessageSerializer serializer;

    public TrainingMessageSerializerTests() => serializer = new TrainingMessageSerializer((ExtendedActorSystem)Sys);

    public static TheoryData<object> Messages() =>
    [
        new ModelAnnouncement("v3", new string('c', 64), 123_456_789),
        GetCurrentModel.Instance,
        new CurrentModelIs(null),
        new FetchModelChunk("v3", 1L << 33, 1 << 20),
        new ModelChunkUnavailable("v3", "gone"),
        new ModelAdoptionReport("akka.tcp://inspection@scoring-0:4053", "v3", false, "checksum"),
        new FrameLabelled("frame-9", FrameLabel.Defect),
        new RequestRefit("cli"),
        new RefitFinished(true, "v4", "median 2 → 1"),
        GetTrainingStatus.Instance,
        new TrainingStatus(null, 3, 1, 2, true, null),
        // Every message that names a product carries it (format 2).
        new ModelAnnouncement("v1", new string('d', 64), 42, "bracket-a"),
        new CurrentModelIs(new ModelAnnouncement("v2", new string('e', 64), 7, "bracket-a")),
        GetCurrentModels.Instance,
        new FetchModelChunk("v1", 4096, 1 << 20, "bracket-a"),
        new ModelChunkUnavailable("v1", "gone", "bracket-a"),
        new ModelAdoptionReport("akka.tcp://inspection@scoring-0:4053", "v1", true, null, "bracket-a"),
        new FrameLabelled("frame-9", FrameLabel.Good, "bracket-a"),
        new RequestRefit("cli", "bracket-a"),
        new RefitFinished(false, null, "rejected", "bracket-a"),
        new GetTrainingStatus("bracket-a"),
        new TrainingStatus("v3", 3, 1, 2, false, new RefitFinished(true, "v3", "median 2 → 1", "bracket-a"), "bracket-a"),
    ];

    [Fact]
    public void Every_products_current_version_round_trips_in_order()
    {
        var answer = new CurrentModelsAre([new ModelAnnouncement("v1", new string('a', 64), 10, "bracket-a"), new ModelAnnouncement("v4", new string('b', 64), 20)]);

        var copy = (CurrentModelsAre)RoundTrip(answer);

        Assert.Equal(answer.Current, copy.Current);
        Assert.Empty(((CurrentModelsAre)RoundTrip(new CurrentModelsAre([]))).Current);
    }

    [Fact]
    public void A_sample_keeps_its_product()
    {
        var batch = new CollectSamples([Sample("a") with { Product = "bracket-a" }, Sample("b")]);

        var copy = (CollectSamples)RoundTrip(batch);

        Assert.Equal(["bracket-a", "default"], copy.Samples.Select(s => s.Product));
    }

    [Fact]
    public void A_payload_of_format_1_from_the_release_before_products_is_read_as_the_default_products()
    {
        // What a node of the release before wrote: format byte 1, the fields without a product.
        static byte[] Format1(Action<BinaryWriter> fields)
        {
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true))
            {
                writer.Write((byte)1);
                fields(writer);
            }
            return stream.ToArray();
        }

        var refit = serializer.FromBinary(Format1(w => w.Write("cli")), "RR");
        var status = serializer.FromBinary(Format1(_ => { }), "GT");
        var label = serializer.FromBinary(Format1(w => { w.Write("frame-1"); w.Write((byte)FrameLabel.Good); }), "FL");
        var announcement = serializer.FromBinary(Format1(w => { w.Write("v2"); w.Write(new string('c', 64)); w.Write(99L); }), "MA");

        Assert.Equal(new RequestRefit("cli", "default"), refit);
        Assert.Equal(GetTrainingStatus.Instance, status);
        Assert.Equal(new FrameLabelled("frame-1", FrameLabel.Good, null), label);
        Assert.Equal(new ModelAnnouncement("v2", new string('c', 64), 99, "default"), announcement);
    }

    [Fact]
    public void A_product_that_is_not_a_product_name_is_refused()
    {
        var bytes = serializer.ToBinary(new RequestRefit("cli", "bracket-a"));
        bytes[^1] = (byte)'A'; // "bracket-A"

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "RR"));

        Assert.Contains("'bracket-A' is not a product name", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Small_messages_round_trip(object message) => Assert.Equal(message, RoundTrip(message));

    [Fact]
    public void Samples_round_trip_with_their_features_as_raw_float32()
    {
        var batch = new CollectSamples([Sample("a", views: 3), Sample("b", "camera-2", FrameLabel.Defect, views: 3)]);

        var bytes = serializer.ToBinary(batch);
        var copy = (CollectSamples)serializer.FromBinary(bytes, serializer.Manifest(batch));

        Assert.InRange(bytes.Length, 2 * 3 * 768 * 4, 2 * 3 * 768 * 4 + 256);
        Assert.Equal(batch.Samples.Select(s => (s.FrameId, s.CameraId, s.Label, s.CapturedAt, s.ImageSize, s.Views)),
            copy.Samples.Select(s => (s.FrameId, s.CameraId, s.Label, s.CapturedAt, s.ImageSize, s.Views)));
        Assert.Equal(batch.Samples.Select(s => s.Features), copy.Samples.Select(s => s.Features));
    }

    [Fact]
    public void A_chunk_carries_its_bytes_with_little_overhead()
    {
        var chunk = new ModelChunk("v2", 4096, 10_000, Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray());

        var bytes = serializer.ToBinary(chunk);
        var copy = (ModelChunk)serializer.FromBinary(bytes, serializer.Manifest(chunk));

        Assert.InRange(bytes.Length, 1000, 1064);
        Assert.Equal((chunk.Version, chunk.Offset, chunk.TotalBytes), (copy.Version, copy.Offset, copy.TotalBytes));
        Assert.Equal(chunk.Bytes, copy.Bytes);
    }

    [Fact]
    public void A_truncated_payload_is_refused_with_a_clear_error()
    {
        var batch = new CollectSamples([Sample("a")]);
        var bytes = serializer.ToBinary(batch);

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes[..^10], serializer.Manifest(batch)));

        Assert.Contains("truncated or corrupt", error.Message, StringComparison.Ordinal);
    }

    private object RoundTrip(object message) => serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
}
