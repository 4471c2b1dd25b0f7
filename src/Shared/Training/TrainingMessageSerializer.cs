using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Shared.Serialization;

namespace Pipeline.Shared.Training;

/// <summary>
/// The wire format of the continuous-learning messages (<see cref="TrainingTopics"/> and the training singleton's
/// protocol): compact binary, features as raw float32 and model chunks as raw bytes, so that neither is inflated
/// into JSON text. Field encodings as in <see cref="BinaryWire"/>; every payload starts with a format version byte.
/// <para>
/// Format 2 added the product: it follows the fields of format 1 on every message that names one (each sample of
/// <see cref="CollectSamples"/>, <see cref="FrameLabelled"/> as a nullable string, <see cref="GetTrainingStatus"/>,
/// which had no field), and the messages <see cref="GetCurrentModels"/> and <see cref="CurrentModelsAre"/>. A format 1
/// payload, from a node of the release before, is still read: its product is <see cref="ProductName.Default"/>.
/// </para>
/// </summary>
public sealed class TrainingMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 4702;
    public const byte FormatVersion = 2;

    public static IReadOnlyList<Type> MessageTypes { get; } =
    [
        typeof(CollectSamples), typeof(ModelAnnouncement), typeof(GetCurrentModel), typeof(CurrentModelIs),
        typeof(FetchModelChunk), typeof(ModelChunk), typeof(ModelChunkUnavailable), typeof(ModelAdoptionReport),
        typeof(FrameLabelled), typeof(RequestRefit), typeof(RefitFinished), typeof(GetTrainingStatus), typeof(TrainingStatus),
        typeof(GetCurrentModels), typeof(CurrentModelsAre),
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
        [typeof(GetCurrentModels)] = "GM",
        [typeof(CurrentModelsAre)] = "CA",
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
                case GetCurrentModel or GetCurrentModels:
                    break;
                case GetTrainingStatus message:
                    writer.Write(message.Product);
                    break;
                case CurrentModelIs message:
                    writer.Write(message.Current is not null);
                    if (message.Current is { } current) Write(writer, current);
                    break;
                case CurrentModelsAre message:
                    writer.Write(message.Current.Count);
                    foreach (var each in message.Current) Write(writer, each);
                    break;
                case FetchModelChunk message:
                    writer.Write(message.Version);
                    writer.Write(message.Offset);
                    writer.Write(message.Length);
                    writer.Write(message.Product);
                    break;
                case ModelChunk message:
                    writer.Write(message.Version);
                    writer.Write(message.Offset);
                    writer.Write(message.TotalBytes);
                    writer.Write(message.Bytes.Length);
                    writer.Write(message.Bytes);
                    writer.Write(message.Product);
                    break;
                case ModelChunkUnavailable message:
                    writer.Write(message.Version);
                    writer.Write(message.Reason);
                    writer.Write(message.Product);
                    break;
                case ModelAdoptionReport message:
                    writer.Write(message.Node);
                    writer.Write(message.Version);
                    writer.Write(message.Adopted);
                    writer.WriteNullable(message.Reason);
                    writer.Write(message.Product);
                    break;
                case FrameLabelled message:
                    writer.Write(message.FrameId);
                    writer.Write((byte)message.Label);
                    writer.WriteNullable(message.Product);
                    break;
                case RequestRefit message:
                    writer.Write(message.Requester);
                    writer.Write(message.Product);
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
                    writer.Write(message.Product);
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
            var product = new ProductField(version);
            object message = manifest switch
            {
                "CS" => new CollectSamples(ReadSamples(reader, product)),
                "MA" => ReadAnnouncement(reader, product),
                "GC" => GetCurrentModel.Instance,
                "GM" => GetCurrentModels.Instance,
                "CM" => new CurrentModelIs(reader.ReadBoolean() ? ReadAnnouncement(reader, product) : null),
                "CA" => new CurrentModelsAre(ReadAnnouncements(reader, product)),
                "FC" => new FetchModelChunk(reader.ReadString(), reader.ReadInt64(), reader.ReadInt32(), product.Read(reader)),
                "MC" => new ModelChunk(reader.ReadString(), reader.ReadInt64(), reader.ReadInt64(), ReadBytes(reader), product.Read(reader)),
                "MU" => new ModelChunkUnavailable(reader.ReadString(), reader.ReadString(), product.Read(reader)),
                "AR" => new ModelAdoptionReport(reader.ReadString(), reader.ReadString(), reader.ReadBoolean(), reader.ReadNullableString(), product.Read(reader)),
                "FL" => new FrameLabelled(reader.ReadString(), ReadLabel(reader), product.ReadNullable(reader)),
                "RR" => new RequestRefit(reader.ReadString(), product.Read(reader)),
                "RF" => ReadRefitFinished(reader, product),
                "GT" => product.Read(reader) is var asked && asked == ProductName.Default ? GetTrainingStatus.Instance : new GetTrainingStatus(asked),
                "TS" => new TrainingStatus(reader.ReadNullableString(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadBoolean(),
                    reader.ReadBoolean() ? ReadRefitFinished(reader, product) : null, product.Read(reader)),
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
        writer.Write(sample.Product);
    }

    private static FeatureSample[] ReadSamples(BinaryReader reader, ProductField product)
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
            samples[i] = new FeatureSample(frameId, cameraId, label, capturedAt, imageSize, views, features, product.Read(reader));
        }
        return samples;
    }

    private static void Write(BinaryWriter writer, ModelAnnouncement announcement)
    {
        writer.Write(announcement.Version);
        writer.Write(announcement.Sha256);
        writer.Write(announcement.SizeBytes);
        writer.Write(announcement.Product);
    }

    private static ModelAnnouncement ReadAnnouncement(BinaryReader reader, ProductField product) =>
        new(reader.ReadString(), reader.ReadString(), reader.ReadInt64(), product.Read(reader));

    private static ModelAnnouncement[] ReadAnnouncements(BinaryReader reader, ProductField product)
    {
        var announcements = new ModelAnnouncement[reader.ReadCount(minimumBytesEach: 12, "announcements")];
        for (var i = 0; i < announcements.Length; i++) announcements[i] = ReadAnnouncement(reader, product);
        return announcements;
    }

    private static void Write(BinaryWriter writer, RefitFinished finished)
    {
        writer.Write(finished.Published);
        writer.WriteNullable(finished.Version);
        writer.Write(finished.Summary);
        writer.Write(finished.Product);
    }

    private static RefitFinished ReadRefitFinished(BinaryReader reader, ProductField product) =>
        new(reader.ReadBoolean(), reader.ReadNullableString(), reader.ReadString(), product.Read(reader));

    private static byte[] ReadBytes(BinaryReader reader) => reader.ReadBytes(reader.ReadCount(minimumBytesEach: 1, "bytes"));

    private static FrameLabel ReadLabel(BinaryReader reader)
    {
        var label = (FrameLabel)reader.ReadByte();
        return Enum.IsDefined(label) ? label : throw new InvalidDataException($"Unknown frame label {(int)label}.");
    }

    /// <summary>How a payload of format <paramref name="Version"/> carries a product: format 1 has none (the default product's), format 2 one after the old fields.</summary>
    private readonly record struct ProductField(byte Version)
    {
        public string Read(BinaryReader reader) => Version < 2 ? ProductName.Default : Checked(reader.ReadString());

        public string? ReadNullable(BinaryReader reader) => Version < 2 ? null : reader.ReadNullableString() is { } named ? Checked(named) : null;

        private static string Checked(string product) =>
            ProductName.IsValid(product) ? product : throw new InvalidDataException($"'{product}' is not a product name.");
    }

    private static ArgumentException NotHandled(object o) => new(
        $"{nameof(TrainingMessageSerializer)} does not handle {o.GetType().FullName}; it handles {string.Join(", ", MessageTypes.Select(type => type.Name))}.",
        nameof(o));
}
