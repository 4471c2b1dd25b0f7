using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Products;
using Pipeline.Shared.Serialization;

namespace Pipeline.Shared.Scoring;

/// <summary>
/// The wire format of the scoring messages that cross nodes (ingest → scoring and the answers back): compact
/// binary, the frame's pixels as raw bytes. Model messages (<c>LoadModel</c> and its answers) are not
/// handled here; models are distributed another way.
/// </summary>
/// <remarks>
/// Every payload starts with a format version byte (<see cref="FormatVersion"/>); a node refuses a payload of a
/// newer version rather than misread it. Strings are length-prefixed UTF-8 (<see cref="BinaryWriter"/>), numbers
/// little-endian, a <see cref="DateTimeOffset"/> is its UTC ticks and its offset in minutes (it round-trips
/// exactly), an image its width, height and <c>width × height × 3</c> pixel bytes. A correlation token is
/// tagged: null, <see cref="long"/>, <see cref="int"/> or <see cref="string"/>; nothing else crosses nodes.
/// <para>
/// Format history (each adds fields at the end of a message, so a reader of a newer release reads an older payload
/// with the defaults): 2 the frame's label; 3 the frame's original size and the scored frame's anomaly map; 4 the
/// product of a frame and of its answer (default: <see cref="ProductName.Default"/>), every product's model in a
/// scorer's status (default: its one model as the default product's) and whether a node's models are in step with the
/// training side (default: true), and the failure kind <see cref="ScoringFailureKind.NoModelForProduct"/>.
/// </para>
/// </remarks>
public sealed class ScoringMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>This serializer's id in every node's actor system (Akka reserves 0–100 for itself).</summary>
    public const int SerializerId = 4701;

    /// <summary>The version written at the start of every payload; readers accept it and older ones.</summary>
    public const byte FormatVersion = 4;

    /// <summary>The message types this serializer handles: bind them all to it.</summary>
    public static IReadOnlyList<Type> MessageTypes { get; } =
    [
        typeof(ScoreFrame), typeof(FrameScored), typeof(ScoringFailed), typeof(ScoringBusy), typeof(ScoringAvailable),
        typeof(GetScoringStatus), typeof(ScoringStatus), typeof(ScoringNodeStatus),
    ];

    // Manifests are part of the wire format: never change or reuse one.
    private const string ScoreFrameManifest = "SF";
    private const string FrameScoredManifest = "FS";
    private const string ScoringFailedManifest = "SX";
    private const string ScoringBusyManifest = "SB";
    private const string ScoringAvailableManifest = "SA";
    private const string GetScoringStatusManifest = "GS";
    private const string ScoringStatusManifest = "SS";
    private const string ScoringNodeStatusManifest = "NS";

    private enum CorrelationTag : byte { None = 0, Int64 = 1, Int32 = 2, String = 3 }

    private static readonly UTF8Encoding Utf8 = BinaryWire.Utf8;

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o switch
    {
        ScoreFrame => ScoreFrameManifest,
        FrameScored => FrameScoredManifest,
        ScoringFailed => ScoringFailedManifest,
        ScoringBusy => ScoringBusyManifest,
        ScoringAvailable => ScoringAvailableManifest,
        GetScoringStatus => GetScoringStatusManifest,
        ScoringStatus => ScoringStatusManifest,
        ScoringNodeStatus => ScoringNodeStatusManifest,
        _ => throw NotHandled(o),
    };

    public override byte[] ToBinary(object obj)
    {
        // A frame is almost all pixels: size the buffer for them (and the few fields around them) so that it is
        // written without growing.
        using var stream = new MemoryStream(obj is ScoreFrame frame
            ? frame.Image.Pixels.Length + 64 + Utf8.GetMaxByteCount(frame.FrameId.Length + frame.CameraId.Length + ((frame.Correlation as string)?.Length ?? 0))
            : 256);
        using (var writer = new BinaryWriter(stream, Utf8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            switch (obj)
            {
                case ScoreFrame message:
                    writer.Write(message.FrameId);
                    writer.Write(message.CameraId);
                    writer.Write(message.CapturedAt);
                    writer.Write(message.IngestedAt);
                    Write(writer, message.Image);
                    WriteCorrelation(writer, message.Correlation, message);
                    writer.Write((byte)(message.Label is { } label ? (byte)label + 1 : 0));
                    writer.Write(message.OriginalSize is not null);
                    if (message.OriginalSize is { } original)
                    {
                        writer.Write(original.Width);
                        writer.Write(original.Height);
                    }
                    writer.Write(message.Product);
                    break;
                case FrameScored message:
                    writer.Write(message.FrameId);
                    writer.Write(message.CameraId);
                    writer.Write(message.Score);
                    writer.Write(message.Threshold);
                    writer.Write(message.ModelVersion);
                    writer.Write(message.CapturedAt);
                    writer.Write(message.IngestedAt);
                    writer.Write(message.ScoredAt);
                    writer.Write(message.BatchSize);
                    WriteCorrelation(writer, message.Correlation, message);
                    writer.Write(message.Map is not null);
                    if (message.Map is { } map) Write(writer, map);
                    writer.Write(message.Product);
                    break;
                case ScoringFailed message:
                    writer.Write(message.FrameId);
                    writer.Write(message.CameraId);
                    writer.Write((int)message.Kind);
                    writer.Write(message.Reason);
                    WriteCorrelation(writer, message.Correlation, message);
                    break;
                case ScoringBusy message:
                    writer.Write(message.FrameId);
                    writer.Write(message.CameraId);
                    writer.Write(message.QueuedFrames);
                    writer.Write(message.QueueCapacity);
                    WriteCorrelation(writer, message.Correlation, message);
                    break;
                case ScoringAvailable message:
                    writer.Write(message.Device);
                    writer.Write(message.FreeSlots);
                    break;
                case GetScoringStatus:
                    break;
                case ScoringStatus message:
                    Write(writer, message);
                    break;
                case ScoringNodeStatus message:
                    writer.Write(message.Scorers.Count);
                    foreach (var scorer in message.Scorers) Write(writer, scorer);
                    writer.Write(message.ModelsInStep);
                    break;
                default:
                    throw NotHandled(obj);
            }
        }
        return stream.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Utf8);
        try
        {
            var version = reader.ReadByte();
            if (version > FormatVersion)
                throw new SerializationException(
                    $"Scoring message '{manifest}' has format version {version}, newer than this node's {FormatVersion}: " +
                    "upgrade this node to the sender's release.");
            object message = manifest switch
            {
                ScoreFrameManifest => new ScoreFrame(
                    FrameId: reader.ReadString(),
                    CameraId: reader.ReadString(),
                    CapturedAt: reader.ReadDateTimeOffset(),
                    IngestedAt: reader.ReadDateTimeOffset(),
                    Image: ReadImage(reader),
                    Correlation: ReadCorrelation(reader),
                    Label: version >= 2 ? ReadLabel(reader) : null,
                    OriginalSize: version >= 3 && reader.ReadBoolean() ? new FrameSize(reader.ReadInt32(), reader.ReadInt32()) : null,
                    Product: version >= 4 ? ReadProduct(reader) : ProductName.Default),
                FrameScoredManifest => new FrameScored(
                    FrameId: reader.ReadString(),
                    CameraId: reader.ReadString(),
                    Score: reader.ReadDouble(),
                    Threshold: reader.ReadDouble(),
                    ModelVersion: reader.ReadString(),
                    CapturedAt: reader.ReadDateTimeOffset(),
                    IngestedAt: reader.ReadDateTimeOffset(),
                    ScoredAt: reader.ReadDateTimeOffset(),
                    BatchSize: reader.ReadInt32(),
                    Correlation: ReadCorrelation(reader),
                    Map: version >= 3 && reader.ReadBoolean() ? ReadMap(reader) : null,
                    Product: version >= 4 ? ReadProduct(reader) : ProductName.Default),
                ScoringFailedManifest => new ScoringFailed(
                    FrameId: reader.ReadString(),
                    CameraId: reader.ReadString(),
                    Kind: ReadFailureKind(reader),
                    Reason: reader.ReadString(),
                    Correlation: ReadCorrelation(reader)),
                ScoringBusyManifest => new ScoringBusy(
                    FrameId: reader.ReadString(),
                    CameraId: reader.ReadString(),
                    QueuedFrames: reader.ReadInt32(),
                    QueueCapacity: reader.ReadInt32(),
                    Correlation: ReadCorrelation(reader)),
                ScoringAvailableManifest => new ScoringAvailable(Device: reader.ReadString(), FreeSlots: reader.ReadInt32()),
                GetScoringStatusManifest => GetScoringStatus.Instance,
                ScoringStatusManifest => ReadScoringStatus(reader, version),
                ScoringNodeStatusManifest => new ScoringNodeStatus(ReadScorers(reader, version), ModelsInStep: version < 4 || reader.ReadBoolean()),
                _ => throw new SerializationException(
                    $"Unknown scoring message manifest '{manifest}' for serializer {SerializerId} ({nameof(ScoringMessageSerializer)}); " +
                    $"known: {string.Join(", ", ScoreFrameManifest, FrameScoredManifest, ScoringFailedManifest, ScoringBusyManifest, ScoringAvailableManifest, GetScoringStatusManifest, ScoringStatusManifest, ScoringNodeStatusManifest)}. " +
                    "The sender runs a newer release (upgrade this node) or the payload is not a scoring message."),
            };
            var left = reader.BaseStream.Length - reader.BaseStream.Position;
            if (left != 0)
                throw new InvalidDataException($"{left} bytes follow its last field.");
            return message;
        }
        catch (Exception error) when (error is IOException or InvalidDataException or FormatException
                                          or ArgumentException or OverflowException)
        {
            throw new SerializationException(
                $"Scoring message '{manifest}' ({bytes.Length} bytes) cannot be read: {error.Message} The payload is truncated or corrupt.", error);
        }
    }

    private static void Write(BinaryWriter writer, FrameAnomalyMap map)
    {
        writer.Write(map.Regions.Count);
        foreach (var region in map.Regions)
        {
            writer.Write(region.X);
            writer.Write(region.Y);
            writer.Write(region.Width);
            writer.Write(region.Height);
            writer.Write(region.Peak);
            writer.Write(region.PeakX);
            writer.Write(region.PeakY);
            writer.Write(region.Area);
        }
        writer.Write(map.Png.Length);
        writer.Write(map.Png);
        writer.Write(map.Peak);
        writer.Write(map.RegionLevel);
    }

    private static FrameAnomalyMap ReadMap(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count is < 0 or > 1024) throw new InvalidDataException($"An anomaly map with {count} regions is not plausible.");
        var regions = new AnomalyRegion[count];
        for (var i = 0; i < count; i++)
            regions[i] = new AnomalyRegion(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        var length = reader.ReadInt32();
        var left = reader.BaseStream.Length - reader.BaseStream.Position;
        if (length < 0 || length > left) throw new InvalidDataException($"An anomaly map PNG of {length} bytes does not fit the {left} bytes left.");
        return new FrameAnomalyMap(regions, reader.ReadBytes(length), reader.ReadDouble(), reader.ReadDouble());
    }

    private static void Write(BinaryWriter writer, RgbImage image)
    {
        writer.Write(image.Width);
        writer.Write(image.Height);
        writer.Write(image.Pixels);
    }

    private static RgbImage ReadImage(BinaryReader reader)
    {
        var width = reader.ReadInt32();
        var height = reader.ReadInt32();
        var left = reader.BaseStream.Length - reader.BaseStream.Position;
        // Checked before allocating, so that a corrupt size cannot ask for gigabytes.
        if (width <= 0 || height <= 0 || (long)width * height * 3 > left)
            throw new InvalidDataException($"An image of {width}x{height} pixels does not fit the {left} bytes left.");
        return new RgbImage(width, height, reader.ReadBytes(width * height * 3));
    }

    private static void WriteCorrelation(BinaryWriter writer, object? correlation, object message)
    {
        switch (correlation)
        {
            case null:
                writer.Write((byte)CorrelationTag.None);
                break;
            case long value:
                writer.Write((byte)CorrelationTag.Int64);
                writer.Write(value);
                break;
            case int value:
                writer.Write((byte)CorrelationTag.Int32);
                writer.Write(value);
                break;
            case string value:
                writer.Write((byte)CorrelationTag.String);
                writer.Write(value);
                break;
            default:
                throw new ArgumentException(
                    $"{message.GetType().Name}.Correlation is a {correlation.GetType().FullName}, which cannot be sent to another node: " +
                    "correlation tokens that cross nodes must be long, int or string (or null). Encode it as one of those.",
                    nameof(correlation));
        }
    }

    private static object? ReadCorrelation(BinaryReader reader)
    {
        var tag = reader.ReadByte();
        return (CorrelationTag)tag switch
        {
            CorrelationTag.None => null,
            CorrelationTag.Int64 => reader.ReadInt64(),
            CorrelationTag.Int32 => reader.ReadInt32(),
            CorrelationTag.String => reader.ReadString(),
            _ => throw new InvalidDataException($"Unknown correlation tag {tag}."),
        };
    }

    /// <summary>A frame's label: 0 none, else <see cref="FrameLabel"/> + 1 (format 2 on).</summary>
    private static FrameLabel? ReadLabel(BinaryReader reader)
    {
        var tag = reader.ReadByte();
        if (tag == 0) return null;
        var label = (FrameLabel)(tag - 1);
        return Enum.IsDefined(label) ? label : throw new InvalidDataException($"Unknown frame label tag {tag}.");
    }

    private static ScoringFailureKind ReadFailureKind(BinaryReader reader)
    {
        var kind = (ScoringFailureKind)reader.ReadInt32();
        return Enum.IsDefined(kind)
            ? kind
            : throw new InvalidDataException($"Unknown {nameof(ScoringFailureKind)} {(int)kind}.");
    }

    private static void Write(BinaryWriter writer, ScoringStatus status)
    {
        writer.Write(status.ModelLoaded);
        writer.WriteNullable(status.ModelVersion);
        writer.Write(status.ImageSize.HasValue);
        if (status.ImageSize is { } imageSize) writer.Write(imageSize);
        writer.Write(status.Queued);
        writer.Write(status.InFlight);
        writer.Write(status.Device);
        var served = status.ServedModels;
        writer.Write(served.Count);
        foreach (var model in served)
        {
            writer.Write(model.Product);
            writer.Write(model.Version);
            writer.Write(model.ImageSize);
        }
    }

    private static ScoringStatus ReadScoringStatus(BinaryReader reader, byte version) => new(
        ModelLoaded: reader.ReadBoolean(),
        ModelVersion: reader.ReadNullableString(),
        ImageSize: reader.ReadBoolean() ? reader.ReadInt32() : null,
        Queued: reader.ReadInt32(),
        InFlight: reader.ReadInt32(),
        Device: reader.ReadString(),
        Served: version >= 4 ? ReadServed(reader) : null);

    private static ServedModel[] ReadServed(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        // Each served model takes at least 7 bytes; a count beyond what is left is corrupt, not a reason to allocate.
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new InvalidDataException($"A served model count of {count} does not fit the {reader.BaseStream.Length - reader.BaseStream.Position} bytes left.");
        var served = new ServedModel[count];
        for (var i = 0; i < count; i++) served[i] = new ServedModel(ReadProduct(reader), reader.ReadString(), reader.ReadInt32());
        return served;
    }

    private static string ReadProduct(BinaryReader reader)
    {
        var product = reader.ReadString();
        return ProductName.IsValid(product) ? product : throw new InvalidDataException($"'{product}' is not a product name.");
    }

    private static ScoringStatus[] ReadScorers(BinaryReader reader, byte version)
    {
        var count = reader.ReadInt32();
        // Each status takes at least 13 bytes; a count beyond what is left is corrupt, not a reason to allocate.
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new InvalidDataException($"A scorer count of {count} does not fit the {reader.BaseStream.Length - reader.BaseStream.Position} bytes left.");
        var scorers = new ScoringStatus[count];
        for (var i = 0; i < count; i++) scorers[i] = ReadScoringStatus(reader, version);
        return scorers;
    }

    private static ArgumentException NotHandled(object o) => new(
        $"{nameof(ScoringMessageSerializer)} does not handle {o.GetType().FullName}; it handles {string.Join(", ", MessageTypes.Select(type => type.Name))}.",
        nameof(o));
}
