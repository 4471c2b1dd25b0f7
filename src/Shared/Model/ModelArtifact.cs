using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;

namespace Pipeline.Shared.Model;

/// <summary>
/// The one file format of a trained model: a manifest (JSON) and the flow weights, sealed with a SHA-256.
/// <code>
/// "DIFFNETM" | u32 format version | u64 manifest length | manifest (UTF-8 JSON)
///            | u64 weights length | weights (TorchSharp state dict) | SHA-256 of all bytes before it (32 bytes)
/// </code>
/// <para>
/// An artifact read from a file (<see cref="Load"/>, <see cref="FromFile"/>) keeps the file open and its weights on
/// disk: a process holds the manifest and an open handle, not hundreds of MB of weights, and reads the weights again
/// (<see cref="OpenWeights"/>) each time a model is loaded from it. The handle keeps reading the file that was
/// verified even when it is renamed over or deleted (as <see cref="Save"/> and the model registry replace files); an
/// artifact whose file was changed in place since it was verified refuses to be read. An artifact made in memory
/// (<see cref="Create"/>, <see cref="FromBytes"/>) holds its weights. Thread-safe: every read is positioned.
/// </para>
/// </summary>
public sealed class ModelArtifact
{
    public const string FileExtension = ".dnfm";
    public const string DefaultFileName = "model" + FileExtension;

    private static readonly byte[] Magic = "DIFFNETM"u8.ToArray();
    private const int HashLength = 32;
    private const int HeaderLength = 8 + 4 + 8;
    private const int CopyBufferBytes = 1024 * 1024;

    internal static readonly JsonSerializerOptions ManifestJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly WeightsSource weights;

    private ModelArtifact(ModelManifest manifest, WeightsSource weights, string sha256)
    {
        Manifest = manifest;
        this.weights = weights;
        Sha256 = sha256;
    }

    public ModelManifest Manifest { get; }

    /// <summary>Lower-case hex SHA-256 over the manifest and weights: the identity of this exact model.</summary>
    public string Sha256 { get; }

    /// <summary>Bytes of the flow's state dict (the weights section).</summary>
    public long WeightsLength => weights.Length;

    /// <summary>Whether the weights stay on disk (an artifact read from a file) rather than in this process's memory.</summary>
    public bool WeightsOnDisk => weights is FileWeights;

    /// <summary>An artifact of <paramref name="weights"/> (a TorchSharp state dict) held in memory.</summary>
    public static ModelArtifact Create(ModelManifest manifest, byte[] weights)
    {
        var source = new MemoryWeights(weights);
        return new ModelArtifact(manifest, source, Convert.ToHexStringLower(Seal(manifest, source, Stream.Null)));
    }

    /// <summary>The flow's state dict as TorchSharp reads it (<c>module.load(stream)</c>): from memory or from the artifact's file.</summary>
    public Stream OpenWeights() => weights.Open();

    /// <summary>All the weights in a new array: for small models and tests; a loader reads <see cref="OpenWeights"/> instead.</summary>
    public byte[] ReadWeights()
    {
        using var stream = OpenWeights();
        var bytes = new byte[weights.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Writes the artifact atomically: to a temporary file next to <paramref name="path"/>, then renamed over it.</summary>
    public void Save(string path) => SaveAs(path, Manifest);

    /// <summary>
    /// Writes this artifact's weights with <paramref name="manifest"/> (a registry stamps its version) atomically to
    /// <paramref name="path"/>, streaming the weights and sealing as it writes, and returns the artifact of the new file.
    /// </summary>
    public ModelArtifact SaveAs(string path, ModelManifest manifest)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            string sha256;
            using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.Read, CopyBufferBytes))
                sha256 = Convert.ToHexStringLower(Seal(manifest, weights, output));
            // Opened before the rename, so that the handle is on the file just written whatever replaces the name later.
            var handle = File.OpenHandle(temporary, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            try
            {
                File.Move(temporary, full, overwrite: true);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
            return new ModelArtifact(manifest, FileWeights.Of(handle, full, WeightsAt(manifest), weights.Length), sha256);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>The whole file as bytes (for tests and small models: it holds the weights in memory).</summary>
    public byte[] ToBytes()
    {
        using var bytes = new MemoryStream();
        Seal(Manifest, weights, bytes);
        return bytes.ToArray();
    }

    /// <summary>
    /// Reads a model file or a model directory (containing <see cref="DefaultFileName"/>). Refuses a file
    /// that is not a model, was written by a newer format, is truncated, or whose checksum does not match.
    /// The file stays open and its weights on disk.
    /// </summary>
    public static ModelArtifact Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, DefaultFileName) : path;
        if (!File.Exists(file))
            throw new ModelArtifactException(file, Directory.Exists(path)
                ? $"the model directory has no {DefaultFileName}; train one with 'pipeline train --out {path}'"
                : "no such file or directory");
        SafeFileHandle handle;
        try { handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new ModelArtifactException(file, $"cannot be read ({e.Message})", e); }
        return FromFile(handle, file);
    }

    /// <summary>
    /// The artifact in the open file <paramref name="handle"/> (which it takes over: disposed when refused, kept open
    /// otherwise), checked as <see cref="Load"/> checks. The file may already be unlinked: the handle keeps it.
    /// </summary>
    public static ModelArtifact FromFile(SafeFileHandle handle, string sourceName)
    {
        try
        {
            var length = RandomAccess.GetLength(handle);
            var (manifest, weightsAt, weightsLength, sha256) = Parse((offset, buffer) => ReadFully(handle, buffer, offset), length, sourceName);
            return new ModelArtifact(manifest, FileWeights.Of(handle, sourceName, weightsAt, weightsLength), sha256);
        }
        catch (Exception e)
        {
            handle.Dispose();
            if (e is IOException io) throw new ModelArtifactException(sourceName, $"cannot be read ({io.Message})", io);
            throw;
        }
    }

    /// <summary>The artifact in <paramref name="bytes"/> (held in memory), checked as <see cref="Load"/> checks.</summary>
    public static ModelArtifact FromBytes(byte[] bytes, string sourceName)
    {
        var (manifest, weightsAt, weightsLength, sha256) = Parse((offset, buffer) =>
        {
            var count = (int)Math.Clamp(bytes.LongLength - offset, 0, buffer.Length);
            bytes.AsSpan((int)offset, count).CopyTo(buffer);
            return count;
        }, bytes.LongLength, sourceName);
        return new ModelArtifact(manifest, new MemoryWeights(bytes.AsSpan((int)weightsAt, (int)weightsLength).ToArray()), sha256);
    }

    /// <summary>Checks an artifact of <paramref name="length"/> bytes read through <paramref name="readAt"/> and reads its manifest.</summary>
    private static (ModelManifest Manifest, long WeightsAt, long WeightsLength, string Sha256) Parse(Func<long, Span<byte>, int> readAt, long length, string sourceName)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        var headerRead = readAt(0, header);
        if (headerRead < Magic.Length || !header[..Magic.Length].SequenceEqual(Magic))
            throw new ModelArtifactException(sourceName, "is not a model artifact (it does not start with the DIFFNETM marker)");
        if (headerRead < HeaderLength)
            throw new ModelArtifactException(sourceName, "is truncated (shorter than the artifact header)");
        var formatVersion = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (formatVersion != ModelManifest.CurrentFormatVersion)
            throw new ModelArtifactException(sourceName, $"has artifact format {formatVersion}; this build reads format {ModelManifest.CurrentFormatVersion}");

        var manifestLength = BinaryPrimitives.ReadUInt64LittleEndian(header[12..]);
        var weightsLengthAt = (ulong)HeaderLength + manifestLength;
        if (weightsLengthAt + 8 > (ulong)length)
            throw new ModelArtifactException(sourceName, "is truncated (the manifest runs past the end of the file)");
        Span<byte> weightsLengthBytes = stackalloc byte[8];
        readAt((long)weightsLengthAt, weightsLengthBytes);
        var weightsLength = BinaryPrimitives.ReadUInt64LittleEndian(weightsLengthBytes);
        var hashAt = weightsLengthAt + 8 + weightsLength;
        if (hashAt + HashLength != (ulong)length)
            throw new ModelArtifactException(sourceName, hashAt + HashLength > (ulong)length
                ? $"is truncated ({length} bytes, expected {hashAt + HashLength})"
                : $"has {(ulong)length - hashAt - HashLength} unexpected bytes after the checksum");

        // The checksum over everything before it, read in chunks: a model of hundreds of MB is never in memory at once.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[(int)Math.Min(CopyBufferBytes, (long)hashAt)];
        for (long at = 0; at < (long)hashAt;)
        {
            var read = readAt(at, buffer.AsSpan(0, (int)Math.Min(buffer.Length, (long)hashAt - at)));
            if (read <= 0) throw new ModelArtifactException(sourceName, $"is truncated (it ended at {at} bytes while being read)");
            hash.AppendData(buffer, 0, read);
            at += read;
        }
        var expectedHash = new byte[HashLength];
        readAt((long)hashAt, expectedHash);
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(expectedHash))
            throw new ModelArtifactException(sourceName, "is corrupted: its SHA-256 does not match the checksum stored in it");

        ModelManifest manifest;
        try
        {
            var manifestBytes = new byte[(int)manifestLength];
            readAt(HeaderLength, manifestBytes);
            manifest = JsonSerializer.Deserialize<ModelManifest>(manifestBytes, ManifestJson)
                ?? throw new JsonException("empty manifest");
        }
        catch (JsonException e)
        {
            throw new ModelArtifactException(sourceName, $"has an unreadable manifest ({e.Message})", e);
        }
        return (manifest, (long)weightsLengthAt + 8, (long)weightsLength, Convert.ToHexStringLower(expectedHash));
    }

    private static long WeightsAt(ModelManifest manifest) => HeaderLength + JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson).Length + 8;

    /// <summary>Writes the artifact of <paramref name="manifest"/> and <paramref name="source"/> to <paramref name="output"/>, returning its SHA-256.</summary>
    private static byte[] Seal(ModelManifest manifest, WeightsSource source, Stream output)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Write(ReadOnlySpan<byte> bytes)
        {
            hash.AppendData(bytes);
            output.Write(bytes);
        }

        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson);
        Span<byte> header = stackalloc byte[HeaderLength];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)manifest.FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(header[12..], (ulong)manifestBytes.Length);
        Write(header);
        Write(manifestBytes);
        Span<byte> weightsLength = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(weightsLength, (ulong)source.Length);
        Write(weightsLength);
        using (var weights = source.Open())
        {
            var buffer = new byte[(int)Math.Clamp(source.Length, 1, CopyBufferBytes)];
            int read;
            while ((read = weights.Read(buffer)) > 0) Write(buffer.AsSpan(0, read));
        }
        var sha256 = hash.GetHashAndReset();
        output.Write(sha256);
        return sha256;
    }

    private static int ReadFully(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    /// <summary>Where an artifact's weights are: in memory, or a section of an open file.</summary>
    private abstract class WeightsSource
    {
        public abstract long Length { get; }

        public abstract Stream Open();
    }

    private sealed class MemoryWeights(byte[] bytes) : WeightsSource
    {
        public override long Length => bytes.LongLength;

        public override Stream Open() => new MemoryStream(bytes, writable: false);
    }

    /// <summary>
    /// The weights section of an open file. The handle is closed when the artifact is collected (its finalizer), which
    /// also frees the disk space of a file that was unlinked meanwhile.
    /// </summary>
    private sealed class FileWeights : WeightsSource
    {
        private readonly SafeFileHandle handle;
        private readonly string sourceName;
        private readonly long offset;
        private readonly long length;
        private readonly DateTime verifiedWriteTime;

        private FileWeights(SafeFileHandle handle, string sourceName, long offset, long length)
        {
            this.handle = handle;
            this.sourceName = sourceName;
            this.offset = offset;
            this.length = length;
            verifiedWriteTime = File.GetLastWriteTimeUtc(handle);
        }

        public static FileWeights Of(SafeFileHandle handle, string sourceName, long offset, long length) => new(handle, sourceName, offset, length);

        public override long Length => length;

        public override Stream Open()
        {
            if (File.GetLastWriteTimeUtc(handle) != verifiedWriteTime)
                throw new ModelArtifactException(sourceName, "was changed in place since it was checked; write model files to a new name and rename them (as 'pipeline train' and the registry do), then load it again");
            return new BufferedStream(new FileSectionStream(handle, offset, length), 64 * 1024);
        }
    }

    /// <summary>A read-only, seekable view of <c>length</c> bytes of a file from <c>offset</c>, read with positioned reads (the handle stays open).</summary>
    private sealed class FileSectionStream(SafeFileHandle handle, long offset, long length) : Stream
    {
        private long position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => position;
            set => position = Math.Clamp(value, 0, length);
        }

        public override int Read(byte[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - position);
            if (count <= 0) return 0;
            var read = RandomAccess.Read(handle, buffer[..count], offset + position);
            position += read;
            return read;
        }

        public override long Seek(long at, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => at,
            SeekOrigin.Current => position + at,
            _ => length + at,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int index, int count) => throw new NotSupportedException();
    }
}

/// <summary>A model file that cannot be used: the message names the file and the problem.</summary>
public sealed class ModelArtifactException : PipelineInputException
{
    public ModelArtifactException(string source, string problem, Exception? inner = null)
        : base($"Model '{source}' {problem}.", inner)
    {
        ArtifactPath = source;
        Problem = problem;
    }

    public string ArtifactPath { get; }
    public string Problem { get; }
}
