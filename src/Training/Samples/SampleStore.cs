using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Pipeline.Shared;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Shared.Training;

namespace Pipeline.Training.Samples;

/// <summary>What <see cref="SampleStore.Add"/> did with a sample.</summary>
public enum SampleAdmission
{
    /// <summary>Stored in a free slot of its reservoir.</summary>
    Stored,

    /// <summary>Stored in place of a random older sample (reservoir sampling keeps a uniform sample of all seen).</summary>
    Replaced,

    /// <summary>Seen and counted, but the full reservoir kept its samples (the sample lost the draw).</summary>
    Passed,

    /// <summary>Not usable: its shape differs from the store's (another image size or view count).</summary>
    Refused,
}

/// <summary>
/// The bounded, persisted store of labelled feature samples: one reservoir of known-good samples per camera
/// (<see cref="GoodPerCamera"/> each) and one of labelled defects (<see cref="DefectCapacity"/>), each a uniform random
/// sample of everything that reservoir was offered (Vitter's algorithm R). It survives restarts of the training node.
/// <para>
/// On disk, in one folder: each reservoir is a file of fixed-size slots (a sample with its SHA-256 prefix, so that a
/// slot torn by a crash is recognised and skipped), and <c>store.json</c> holds the shape and each reservoir's counts,
/// replaced atomically by <see cref="Flush"/>. A sample written to a slot costs one positioned write; each reservoir's
/// file stays open from its first write until <see cref="Dispose"/>.
/// </para>
/// Not thread-safe: one owner at a time (the training actor's storage work, which runs off the actor's thread).
/// </summary>
public sealed class SampleStore : IDisposable
{
    private const string StateFileName = "store.json";
    private const uint SlotMagic = 0x4C504D53; // "SMPL"
    private const int FrameIdBytes = 128;
    private const int CameraIdBytes = 64;
    private const int HashBytes = 8;
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    private readonly string folder;
    private readonly Dictionary<string, Reservoir> reservoirs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SafeFileHandle> openFiles = new(StringComparer.Ordinal);
    private readonly Random random;
    private SampleShape? shape;

    private SampleStore(string folder, int goodPerCamera, int defectCapacity, int seed)
    {
        this.folder = folder;
        GoodPerCamera = goodPerCamera;
        DefectCapacity = defectCapacity;
        random = new Random(seed);
    }

    public int GoodPerCamera { get; }
    public int DefectCapacity { get; }

    /// <summary>Image size and views per sample of everything stored; null while empty.</summary>
    public (int ImageSize, int Views)? Shape => shape is { } s ? (s.ImageSize, s.Views) : null;

    public int GoodCount => reservoirs.Values.Where(r => r.Label == FrameLabel.Good).Sum(r => r.Samples.Count);
    public int DefectCount => reservoirs.Values.Where(r => r.Label == FrameLabel.Defect).Sum(r => r.Samples.Count);

    /// <summary>Every stored known-good sample, camera by camera.</summary>
    public IReadOnlyList<FeatureSample> Good => reservoirs.Values.Where(r => r.Label == FrameLabel.Good).OrderBy(r => r.File, StringComparer.Ordinal).SelectMany(r => r.Samples).ToArray();

    public IReadOnlyList<FeatureSample> Defects => reservoirs.Values.Where(r => r.Label == FrameLabel.Defect).SelectMany(r => r.Samples).ToArray();

    /// <summary>Samples stored per camera (good ones).</summary>
    public IReadOnlyDictionary<string, int> GoodPerCameraCounts =>
        reservoirs.Values.Where(r => r.Label == FrameLabel.Good).ToDictionary(r => r.CameraId, r => r.Samples.Count);

    /// <summary>
    /// The folder of <paramref name="product"/>'s store under the configured sample store folder <paramref name="root"/>:
    /// the folder itself for <see cref="ProductName.Default"/> (a deployment without products keeps its store), else
    /// <c>products/&lt;name&gt;/</c> inside it. Each product's samples refit that product's flow only.
    /// </summary>
    public static string FolderOf(string root, string product) =>
        ProductName.Require(product, "product") == ProductName.Default ? root : Path.Combine(root, "products", product);

    /// <summary>
    /// Opens the store in <paramref name="folder"/> (creating it), reading back what an earlier run stored. Slots that
    /// fail their checksum are skipped and counted in <paramref name="skippedSlots"/>.
    /// </summary>
    public static SampleStore Open(string folder, int goodPerCamera, int defectCapacity, out int skippedSlots, int seed = 1)
    {
        if (goodPerCamera < 1 || defectCapacity < 1)
            throw new PipelineInputException($"The sample store needs room for at least one sample per reservoir (good per camera {goodPerCamera}, defects {defectCapacity}).");
        var full = Path.GetFullPath(folder);
        try { Directory.CreateDirectory(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new PipelineInputException($"The sample store '{full}' cannot be created ({e.Message}).", e); }
        var store = new SampleStore(full, goodPerCamera, defectCapacity, seed);
        skippedSlots = store.ReadBack();
        return store;
    }

    /// <summary>Offers a sample to its reservoir (its camera's for good ones, the defects' otherwise) and writes it if kept.</summary>
    public SampleAdmission Add(FeatureSample sample, out string? refusal)
    {
        refusal = sample.ShapeProblem();
        if (refusal is null && shape is { } s && (s.ImageSize != sample.ImageSize || s.Views != sample.Views))
            refusal = $"sample of frame {sample.FrameId} is {sample.ImageSize} px × {sample.Views} views, the store holds {s.ImageSize} px × {s.Views} views (clear the store after changing the model's image size or views)";
        if (refusal is not null) return SampleAdmission.Refused;
        shape ??= new SampleShape(sample.ImageSize, sample.Views);

        var reservoir = ReservoirFor(sample);
        reservoir.Seen++;
        if (reservoir.Samples.Count < reservoir.Capacity)
        {
            reservoir.Samples.Add(sample);
            WriteSlot(reservoir, reservoir.Samples.Count - 1, sample);
            return SampleAdmission.Stored;
        }
        var draw = random.NextInt64(reservoir.Seen);
        if (draw >= reservoir.Capacity) return SampleAdmission.Passed;
        reservoir.Samples[(int)draw] = sample;
        WriteSlot(reservoir, (int)draw, sample);
        return SampleAdmission.Replaced;
    }

    /// <summary>Writes the counts and shape (atomically); call after a batch of <see cref="Add"/>s.</summary>
    public void Flush()
    {
        var state = new StoreState(shape, reservoirs.Values.Select(r => new ReservoirState(r.File, r.CameraId, r.Label, r.Seen, r.Samples.Count)).ToList());
        var path = Path.Combine(folder, StateFileName);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(state, Json));
        File.Move(temporary, path, overwrite: true);
    }

    private Reservoir ReservoirFor(FeatureSample sample)
    {
        var key = sample.Label == FrameLabel.Good ? $"good-{FileSafe(sample.CameraId)}.samples" : "defects.samples";
        if (!reservoirs.TryGetValue(key, out var reservoir))
            reservoirs[key] = reservoir = new Reservoir(key, sample.Label == FrameLabel.Good ? sample.CameraId : "*", sample.Label,
                sample.Label == FrameLabel.Good ? GoodPerCamera : DefectCapacity);
        return reservoir;
    }

    private int SlotLength => 4 + 1 + 8 + 2 + (1 + FrameIdBytes) + (1 + CameraIdBytes) + shape!.Views * FeatureSample.FeatureSize * sizeof(float) + HashBytes;

    private void WriteSlot(Reservoir reservoir, int slot, FeatureSample sample)
    {
        var bytes = new byte[SlotLength];
        var span = bytes.AsSpan();
        var at = 0;
        BitConverter.TryWriteBytes(span[at..], SlotMagic); at += 4;
        span[at++] = (byte)sample.Label;
        BitConverter.TryWriteBytes(span[at..], sample.CapturedAt.UtcTicks); at += 8;
        BitConverter.TryWriteBytes(span[at..], (short)sample.CapturedAt.TotalOffsetMinutes); at += 2;
        at = WriteText(span, at, sample.FrameId, FrameIdBytes);
        at = WriteText(span, at, sample.CameraId, CameraIdBytes);
        var features = MemoryMarshal.AsBytes(sample.Features.AsSpan());
        features.CopyTo(span[at..]); at += features.Length;
        SHA256.HashData(span[..at]).AsSpan(0, HashBytes).CopyTo(span[at..]);
        if (!openFiles.TryGetValue(reservoir.File, out var handle))
            openFiles[reservoir.File] = handle = File.OpenHandle(Path.Combine(folder, reservoir.File), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.Write(handle, bytes, (long)slot * bytes.Length);
    }

    /// <summary>Closes the reservoirs' files (what was written is on disk already; <see cref="Flush"/> first to keep the counts).</summary>
    public void Dispose()
    {
        foreach (var handle in openFiles.Values) handle.Dispose();
        openFiles.Clear();
    }

    private int ReadBack()
    {
        var statePath = Path.Combine(folder, StateFileName);
        if (!File.Exists(statePath)) return 0;
        StoreState state;
        try
        {
            state = JsonSerializer.Deserialize<StoreState>(File.ReadAllBytes(statePath), Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new PipelineInputException($"The sample store's state '{statePath}' is unreadable ({e.Message}); move the folder aside to start an empty store.", e);
        }
        shape = state.Shape;
        if (shape is null) return 0;
        var skipped = 0;
        var slotLength = SlotLength;
        foreach (var saved in state.Reservoirs)
        {
            var reservoir = new Reservoir(saved.File, saved.CameraId, saved.Label, saved.Label == FrameLabel.Good ? GoodPerCamera : DefectCapacity) { Seen = saved.Seen };
            reservoirs[saved.File] = reservoir;
            var path = Path.Combine(folder, saved.File);
            if (!File.Exists(path)) { skipped += saved.Count; continue; }
            var buffer = new byte[slotLength];
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            // A smaller capacity than before keeps the first slots; the draw goes on from there.
            for (var slot = 0; slot < Math.Min(saved.Count, reservoir.Capacity); slot++)
            {
                var read = RandomAccess.Read(handle, buffer, (long)slot * slotLength);
                if (read == slotLength && ReadSlot(buffer) is { } sample) reservoir.Samples.Add(sample);
                else skipped++;
            }
        }
        return skipped;
    }

    private FeatureSample? ReadSlot(byte[] bytes)
    {
        var span = bytes.AsSpan();
        var hashAt = span.Length - HashBytes;
        if (BitConverter.ToUInt32(span) != SlotMagic || !SHA256.HashData(span[..hashAt]).AsSpan(0, HashBytes).SequenceEqual(span[hashAt..])) return null;
        var at = 4;
        var label = (FrameLabel)span[at++];
        var ticks = BitConverter.ToInt64(span[at..]); at += 8;
        var offset = BitConverter.ToInt16(span[at..]); at += 2;
        var frameId = ReadText(span, ref at, FrameIdBytes);
        var cameraId = ReadText(span, ref at, CameraIdBytes);
        var features = MemoryMarshal.Cast<byte, float>(span[at..hashAt]).ToArray();
        var capturedAt = new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offset));
        return new FeatureSample(frameId, cameraId, label, capturedAt, shape!.ImageSize, shape.Views, features);
    }

    /// <summary>Text in a fixed field: a length byte and up to <paramref name="room"/> UTF-8 bytes (longer text is cut at a character boundary).</summary>
    private static int WriteText(Span<byte> span, int at, string text, int room)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var length = Math.Min(bytes.Length, room);
        while (length > 0 && length < bytes.Length && (bytes[length] & 0xC0) == 0x80) length--;
        span[at] = (byte)length;
        bytes.AsSpan(0, length).CopyTo(span[(at + 1)..]);
        return at + 1 + room;
    }

    private static string ReadText(ReadOnlySpan<byte> span, ref int at, int room)
    {
        var length = Math.Min(span[at], (byte)room);
        var text = Encoding.UTF8.GetString(span.Slice(at + 1, length));
        at += 1 + room;
        return text;
    }

    /// <summary>A file name for a camera's reservoir: its id's safe characters and a hash (so different ids never share a file).</summary>
    private static string FileSafe(string cameraId)
    {
        var safe = new string(cameraId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(40).ToArray());
        return $"{safe}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cameraId)))[..8]}";
    }

    private sealed class Reservoir(string file, string cameraId, FrameLabel label, int capacity)
    {
        public string File { get; } = file;
        public string CameraId { get; } = cameraId;
        public FrameLabel Label { get; } = label;
        public int Capacity { get; } = capacity;
        public long Seen { get; set; }
        public List<FeatureSample> Samples { get; } = [];
    }

    private sealed record SampleShape(int ImageSize, int Views);

    private sealed record ReservoirState(string File, string CameraId, FrameLabel Label, long Seen, int Count);

    private sealed record StoreState(SampleShape? Shape, List<ReservoirState> Reservoirs);
}
