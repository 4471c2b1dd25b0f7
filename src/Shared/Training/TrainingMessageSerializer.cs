using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Serialization;

namespace Pipeline.Shared.Training;

/// <summary>
/// The wire format of the continuous-learning messages (<see cref="TrainingTopics"/> and the training singleton's
/// protocol): compact binary, features as raw float32 and model chunks as raw bytes, so that neither is inflated
/// into JSON text. Field encodings as in <see cref="BinaryWire"/>; every payload starts with a format version byte.
/// </summary>
public sealed class TrainingMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 4702;
    public const byte FormatVersion = 1;

    public static IReadOnlyList<Type> MessageTypes { get; } =
    [
        typeof(CollectSamples), typeof(ModelAnnouncement), typeof(GetCurrentModel), typeof(CurrentModelIs),
        typeof(FetchModelChunk), typeof(ModelChunk), typeof(ModelChunkUnavailable), typeof(ModelAdoptionReport),
        typeof(FrameLabelled), typeof(RequestRefit), typeof(RefitFinished), typeof(GetTrainingStatus), typeof(TrainingStatus),
    ];

    // Manifests are part of the wire format: never change or reuse one.
    private static readonly Dictionary<Type, string> Manifests = new()
    {
        [typeof(CollectSamples)] = "CS",
        [typeof(ModelAnnouncement)] = "MA",
        [typeof(GetCurrentModel)] = "GC",
        [typeof(CurrentModelIs)] = "CM",
        [typeof(FetchModelChunk)] = "FC",
        [typeof(ModelChunk)] = "MC",
        [typeof(ModelChunkUnavailable)] = "MU",
        [typeof(ModelAdoptionReport)] = "AR",
        [typeof(FrameLabelled)] = "FL",
        [typeof(RequestRefit)] = "RR",
        [typeof(RefitFinished)] = "RF",
        [typeof(GetTrainingStatus)] = "GT",
        [typeof(TrainingStatus)] = "TS",
    };

    public override int Identifier => SerializerId;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest) ? manifest : throw NotHandled(o);

    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream(obj switch
        {
            ModelChunk chunk => chunk.Bytes.Length + 128,
            CollectSamples batch => batch.Samples.Sum(sample => sample.Features.Length * 4 + 256),
            _ => 256,
        });
        using (var writer = new BinaryWriter(stream, BinaryWire.Utf8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            switch (obj)
            {
                case CollectSamples message:
                    writer.Write(message.Samples.Count);
                    foreach (var sample in message.Samples) Write(writer, sample);
                    break;
                case ModelAnnouncement message:
                    Write(writer, message);
                    break;
                case GetCurrentModel or GetTrainingStatus:
                    break;
                case CurrentModelIs message:
                    writer.Write(message.Current is not null);
                    if (message.Current is { } current) Write(writer, current);
                    break;
                case FetchModelChunk message:
                    writer.Write(message.Version);
                    writer.Write(message.Offset);
                    writer.Write(message.Length);
                    break;
                case ModelChunk message:
                    writer.Write(message.Version);
                    writer.Write(message.Offset);
                    writer.Write(message.TotalBytes);
                    writer.Write(message.Bytes.Length);
                    writer.Write(message.Bytes);
                    break;
                case ModelChunkUnavailable message:
                    writer.Write(message.Version);
                    writer.Write(message.Reason);
                    break;
                case ModelAdoptionReport message:
                    writer.Write(message.Node);
                    writer.Write(message.Version);
                    writer.Write(message.Adopted);
                    writer.WriteNullable(message.Reason);
                    break;
                case FrameLabelled message:
                    writer.Write(message.FrameId);
                    writer.Write((byte)message.Label);
                    break;
                case RequestRefit message:
                    writer.Write(message.Requester);
                    break;
                case RefitFinished message:
                    Write(writer, message);
                    break;
                case TrainingStatus message:
                    writer.WriteNullable(message.CurrentVersion);
                    writer.Write(message.GoodSamples);
                    writer.Write(message.DefectSamples);
                    writer.Write(message.NewGoodSamples);
                    writer.Write(message.Refitting);
                    writer.Write(message.LastRefit is not null);
                    if (message.LastRefit is { } last) Write(writer, last);
                    break;
                default:
                    throw NotHandled(obj);
            }
        }
        return stream.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), BinaryWire.Utf8);
        try
        {
            var version = reader.ReadByte();
            if (version > FormatVersion)
                throw new SerializationException(
                    $"Training message '{manifest}' has format version {version}, newer than this node's {FormatVersion}: upgrade this node to the sender's release.");
            object message = manifest switch
            {
                "CS" => new CollectSamples(ReadSamples(reader)),
                "MA" => ReadAnnouncement(reader),
                "GC" => GetCurrentModel.Instance,
                "CM" => new CurrentModelIs(reader.ReadBoolean() ? ReadAnnouncement(reader) : null),
                "FC" => new FetchModelChunk(reader.ReadString(), reader.ReadInt64(), reader.ReadInt32()),
                "MC" => new ModelChunk(reader.ReadString(), reader.ReadInt64(), reader.ReadInt64(), ReadBytes(reader)),
                "MU" => new ModelChunkUnavailable(reader.ReadString(), reader.ReadString()),
                "AR" => new ModelAdoptionReport(reader.ReadString(), reader.ReadString(), reader.ReadBoolean(), reader.ReadNullableString()),
                "FL" => new FrameLabelled(reader.ReadString(), ReadLabel(reader)),
                "RR" => new RequestRefit(reader.ReadString()),
                "RF" => ReadRefitFinished(reader),
                "GT" => GetTrainingStatus.Instance,
                "TS" => new TrainingStatus(reader.ReadNullableString(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadBoolean(),
                    reader.ReadBoolean() ? ReadRefitFinished(reader) : null),
                _ => throw new SerializationException(
                    $"Unknown training message manifest '{manifest}' for serializer {SerializerId} ({nameof(TrainingMessageSerializer)}); known: " +
                    $"{string.Join(", ", Manifests.Values)}. The sender runs a newer release (upgrade this node) or the payload is not a training message."),
            };
            if (reader.Left() != 0) throw new InvalidDataException($"{reader.Left()} bytes follow its last field.");
            return message;
        }
        catch (Exception error) when (error is IOException or InvalidDataException or FormatException or ArgumentException or OverflowException)
        {
            throw new SerializationException(
                $"Training message '{manifest}' ({bytes.Length} bytes) cannot be read: {error.Message} The payload is truncated or corrupt.", error);
        }
    }

    private static void Write(BinaryWriter writer, FeatureSample sample)
    {
        writer.Write(sample.FrameId);
        writer.Write(sample.CameraId);
        writer.Write((byte)sample.Label);
        writer.Write(sample.CapturedAt);
        writer.Write(sample.ImageSize);
        writer.Write(sample.Views);
        writer.Write(sample.Features.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sample.Features.AsSpan()));
    }

    private static FeatureSample[] ReadSamples(BinaryReader reader)
    {
        var samples = new FeatureSample[reader.ReadCount(minimumBytesEach: 24, "samples")];
        for (var i = 0; i < samples.Length; i++)
        {
            var frameId = reader.ReadString();
            var cameraId = reader.ReadString();
            var label = ReadLabel(reader);
            var capturedAt = reader.ReadDateTimeOffset();
            var imageSize = reader.ReadInt32();
            var views = reader.ReadInt32();
            var features = new float[reader.ReadCount(minimumBytesEach: sizeof(float), "feature values")];
            reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.AsSpan()));
            samples[i] = new FeatureSample(frameId, cameraId, label, capturedAt, imageSize, views, features);
        }
        return samples;
    }

    private static void Write(BinaryWriter writer, ModelAnnouncement announcement)
    {
        writer.Write(announcement.Version);
        writer.Write(announcement.Sha256);
        writer.Write(announcement.SizeBytes);
    }

    private static ModelAnnouncement ReadAnnouncement(BinaryReader reader) => new(reader.ReadString(), reader.ReadString(), reader.ReadInt64());

    private static void Write(BinaryWriter writer, RefitFinished finished)
    {
        writer.Write(finished.Published);
        writer.WriteNullable(finished.Version);
        writer.Write(finished.Summary);
    }

    private static RefitFinished ReadRefitFinished(BinaryReader reader) => new(reader.ReadBoolean(), reader.ReadNullableString(), reader.ReadString());

    private static byte[] ReadBytes(BinaryReader reader) => reader.ReadBytes(reader.ReadCount(minimumBytesEach: 1, "bytes"));

    private static FrameLabel ReadLabel(BinaryReader reader)
    {
        var label = (FrameLabel)reader.ReadByte();
        return Enum.IsDefined(label) ? label : throw new InvalidDataException($"Unknown frame label {(int)label}.");
    }

    private static ArgumentException NotHandled(object o) => new(
        $"{nameof(TrainingMessageSerializer)} does not handle {o.GetType().FullName}; it handles {string.Join(", ", MessageTypes.Select(type => type.Name))}.",
        nameof(o));
}
