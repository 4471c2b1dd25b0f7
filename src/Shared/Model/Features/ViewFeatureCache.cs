using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Shared.Features;

/// <summary>
/// Features of image views, kept in memory and (optionally) on disk. The backbone is frozen, so the
/// features of a given image, size and set of views never change: a rerun, an evaluation or a refit
/// reads them instead of running the backbone again. Entries are keyed by the image's content, the
/// backbone, the image size and the exact views, so a stale entry can never be returned.
/// A damaged file is ignored and recomputed (the cache is disposable).
/// </summary>
public sealed class ViewFeatureCache
{
    private static readonly byte[] Magic = "DNFC"u8.ToArray();
    private readonly ConcurrentDictionary<string, float[]> memory = new();

    /// <param name="directory">Where entries are stored on disk; null keeps them in memory only.</param>
    public ViewFeatureCache(string? directory)
    {
        Directory = directory;
        if (directory is not null) System.IO.Directory.CreateDirectory(directory);
    }

    public string? Directory { get; }

    /// <summary>Default location: $XDG_CACHE_HOME/differnet-pipeline/features, else ~/.cache/differnet-pipeline/features.</summary>
    public static string DefaultDirectory()
    {
        var root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root))
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "differnet-pipeline", "features");
    }

    public static string Key(string backboneSha256, int imageSize, string imageSha256, IEnumerable<string> viewSignatures)
    {
        var text = $"v1|{backboneSha256}|{imageSize}|{imageSha256}|{string.Join(";", viewSignatures)}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public bool TryGet(string key, int expectedLength, out float[] features)
    {
        if (memory.TryGetValue(key, out features!) && features.Length == expectedLength) return true;
        if (Directory is null) return false;
        var path = PathOf(key);
        if (!File.Exists(path)) return false;
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length != 8 + expectedLength * 4 || !bytes.AsSpan(0, 4).SequenceEqual(Magic)
                || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)) != expectedLength)
                return false;
            features = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(8)).ToArray();
            memory[key] = features;
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Put(string key, float[] features)
    {
        memory[key] = features;
        if (Directory is null) return;
        var path = PathOf(key);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[8 + features.Length * 4];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), features.Length);
        MemoryMarshal.AsBytes(features.AsSpan()).CopyTo(bytes.AsSpan(8));
        var temporary = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    private string PathOf(string key) => Path.Combine(Directory!, key[..2], key + ".f32");
}
