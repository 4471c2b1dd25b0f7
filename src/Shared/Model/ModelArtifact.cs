using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Shared.Model;

/// <summary>
/// The one file format of a trained model: a manifest (JSON) and the flow weights, sealed with a SHA-256.
/// <code>
/// "DIFFNETM" | u32 format version | u64 manifest length | manifest (UTF-8 JSON)
///            | u64 weights length | weights (TorchSharp state dict) | SHA-256 of all bytes before it (32 bytes)
/// </code>
/// </summary>
public sealed class ModelArtifact
{
    public const string FileExtension = ".dnfm";
    public const string DefaultFileName = "model" + FileExtension;

    private static readonly byte[] Magic = "DIFFNETM"u8.ToArray();
    private const int HashLength = 32;
    private const int HeaderLength = 8 + 4 + 8;

    internal static readonly JsonSerializerOptions ManifestJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private ModelArtifact(ModelManifest manifest, byte[] weights, string sha256)
    {
        Manifest = manifest;
        Weights = weights;
        Sha256 = sha256;
    }

    public ModelManifest Manifest { get; }

    /// <summary>The flow's state dict as TorchSharp writes it.</summary>
    public byte[] Weights { get; }

    /// <summary>Lower-case hex SHA-256 over the manifest and weights: the identity of this exact model.</summary>
    public string Sha256 { get; }

    public static ModelArtifact Create(ModelManifest manifest, byte[] weights)
    {
        var bytes = Serialize(manifest, weights);
        return new ModelArtifact(manifest, weights, Convert.ToHexStringLower(bytes.AsSpan(bytes.Length - HashLength)));
    }

    /// <summary>Writes the artifact atomically: to a temporary file next to <paramref name="path"/>, then renamed over it.</summary>
    public void Save(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.WriteAllBytes(temporary, ToBytes());
        File.Move(temporary, path, overwrite: true);
    }

    public byte[] ToBytes() => Serialize(Manifest, Weights);

    /// <summary>
    /// Reads a model file or a model directory (containing <see cref="DefaultFileName"/>). Refuses a file
    /// that is not a model, was written by a newer format, is truncated, or whose checksum does not match.
    /// </summary>
    public static ModelArtifact Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, DefaultFileName) : path;
        if (!File.Exists(file))
            throw new ModelArtifactException(file, Directory.Exists(path)
                ? $"the model directory has no {DefaultFileName}; train one with 'pipeline train --out {path}'"
                : "no such file or directory");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new ModelArtifactException(file, $"cannot be read ({e.Message})", e); }
        return FromBytes(bytes, file);
    }

    public static ModelArtifact FromBytes(byte[] bytes, string sourceName)
    {
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new ModelArtifactException(sourceName, "is not a model artifact (it does not start with the DIFFNETM marker)");
        if (bytes.Length < HeaderLength)
            throw new ModelArtifactException(sourceName, "is truncated (shorter than the artifact header)");
        var span = bytes.AsSpan();
        var formatVersion = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        if (formatVersion != ModelManifest.CurrentFormatVersion)
            throw new ModelArtifactException(sourceName, $"has artifact format {formatVersion}; this build reads format {ModelManifest.CurrentFormatVersion}");

        var manifestLength = BinaryPrimitives.ReadUInt64LittleEndian(span[12..]);
        var weightsLengthAt = (ulong)HeaderLength + manifestLength;
        if (weightsLengthAt + 8 > (ulong)bytes.Length)
            throw new ModelArtifactException(sourceName, "is truncated (the manifest runs past the end of the file)");
        var weightsLength = BinaryPrimitives.ReadUInt64LittleEndian(span[(int)weightsLengthAt..]);
        var hashAt = weightsLengthAt + 8 + weightsLength;
        if (hashAt + HashLength != (ulong)bytes.Length)
            throw new ModelArtifactException(sourceName, hashAt + HashLength > (ulong)bytes.Length
                ? $"is truncated ({bytes.Length} bytes, expected {hashAt + HashLength})"
                : $"has {(ulong)bytes.Length - hashAt - HashLength} unexpected bytes after the checksum");

        var expectedHash = span[(int)hashAt..];
        var actualHash = SHA256.HashData(span[..(int)hashAt]);
        if (!actualHash.AsSpan().SequenceEqual(expectedHash))
            throw new ModelArtifactException(sourceName, "is corrupted: its SHA-256 does not match the checksum stored in it");

        ModelManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(span.Slice(HeaderLength, (int)manifestLength), ManifestJson)
                ?? throw new JsonException("empty manifest");
        }
        catch (JsonException e)
        {
            throw new ModelArtifactException(sourceName, $"has an unreadable manifest ({e.Message})", e);
        }
        var weights = span.Slice((int)weightsLengthAt + 8, (int)weightsLength).ToArray();
        return new ModelArtifact(manifest, weights, Convert.ToHexStringLower(expectedHash));
    }

    private static byte[] Serialize(ModelManifest manifest, byte[] weights)
    {
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJson);
        var total = HeaderLength + manifestBytes.Length + 8 + weights.Length + HashLength;
        var bytes = new byte[total];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)manifest.FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(span[12..], (ulong)manifestBytes.Length);
        manifestBytes.CopyTo(span[HeaderLength..]);
        var weightsLengthAt = HeaderLength + manifestBytes.Length;
        BinaryPrimitives.WriteUInt64LittleEndian(span[weightsLengthAt..], (ulong)weights.Length);
        weights.CopyTo(span[(weightsLengthAt + 8)..]);
        var hashAt = weightsLengthAt + 8 + weights.Length;
        SHA256.HashData(span[..hashAt], span[hashAt..]);
        return bytes;
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
