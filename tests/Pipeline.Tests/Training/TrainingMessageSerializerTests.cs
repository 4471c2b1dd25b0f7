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
    ];

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
