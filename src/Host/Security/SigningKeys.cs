using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Security;

/// <summary>One HMAC key that signs and checks access tokens; <see cref="Id"/> (its file name) is the tokens' <c>kid</c>.</summary>
public sealed record SigningKey(string Id, byte[] Bytes)
{
    public SymmetricSecurityKey ToSecurityKey() => new(Bytes) { KeyId = Id };

    public override string ToString() => Id; // never the bytes
}

/// <summary>Reads, checks and makes signing key files: base64 text of at least <see cref="MinimumBytes"/> random bytes.</summary>
public static class SigningKeys
{
    /// <summary>HMAC-SHA256 needs a key of at least 256 bits.</summary>
    public const int MinimumBytes = 32;

    /// <summary>What <see cref="Generate"/> writes.</summary>
    public const int GeneratedBytes = 48;

    private const string Key = HttpAuthOptions.Section + ":SigningKeysPath";

    /// <summary>
    /// The keys at <paramref name="path"/>: every file of a directory whose name does not start with '.' (a mounted
    /// Secret's bookkeeping), or the one file. None when <paramref name="path"/> is not set.
    /// </summary>
    /// <exception cref="PipelineInputException">A key cannot be read or is too short; the message names the file.</exception>
    public static IReadOnlyList<SigningKey> Read(string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return [];
        if (File.Exists(path)) return [ReadFile(path)];
        if (!Directory.Exists(path))
            throw new PipelineInputException($"{Key} is '{path}', which does not exist; give the directory of the signing keys (a mounted Secret) or one key file.");
        return Directory.EnumerateFiles(path)
            .Where(file => !Path.GetFileName(file).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .Select(ReadFile)
            .ToArray();
    }

    /// <summary>Reads one key file; its name (without directory) is the key's id.</summary>
    public static SigningKey ReadFile(string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineInputException($"The signing key '{file}' cannot be read: {e.Message}", e);
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException e)
        {
            throw new PipelineInputException($"The signing key '{file}' is not base64 text; make keys with 'pipeline token new-key <file>' (or: head -c {GeneratedBytes} /dev/urandom | base64 -w0).", e);
        }
        if (bytes.Length < MinimumBytes)
            throw new PipelineInputException($"The signing key '{file}' has {bytes.Length} bytes; HMAC-SHA256 needs at least {MinimumBytes} (make one with 'pipeline token new-key <file>').");
        return new SigningKey(Path.GetFileName(file), bytes);
    }

    /// <summary>Writes a new random key to <paramref name="file"/>, readable by its owner only; returns it.</summary>
    public static SigningKey Generate(string file)
    {
        var bytes = RandomNumberGenerator.GetBytes(GeneratedBytes);
        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        Directory.CreateDirectory(directory);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(file, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(Convert.ToBase64String(bytes));
        return new SigningKey(Path.GetFileName(file), bytes);
    }
}
