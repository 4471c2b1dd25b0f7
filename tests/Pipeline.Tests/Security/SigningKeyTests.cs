using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Host.Cli;
using Pipeline.Host.Security;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Scoring;
using Xunit;

namespace Pipeline.Tests.Security;

/// <summary>Signing key files, the key ring's reading them again for rotation, and token lifetimes.</summary>
public sealed class SigningKeyTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    private string Keys => Path.Combine(folder.Path, "keys");

    [Fact]
    public void A_key_directory_as_Kubernetes_mounts_a_Secret_yields_its_files_by_name()
    {
        SigningKeys.Generate(Path.Combine(Keys, "..2026_01_01_08_00_00.000000000", "key-b"));
        SigningKeys.Generate(Path.Combine(Keys, "key-b"));
        SigningKeys.Generate(Path.Combine(Keys, "key-a"));
        File.WriteAllText(Path.Combine(Keys, ".hidden"), "not a key");

        var keys = SigningKeys.Read(Keys);

        Assert.Equal(["key-a", "key-b"], keys.Select(key => key.Id));
        Assert.All(keys, key => Assert.Equal(SigningKeys.GeneratedBytes, key.Bytes.Length));
        Assert.Equal("key-a", keys[0].ToString());
    }

    [Theory]
    [InlineData("c2hvcnQ=", "has 5 bytes; HMAC-SHA256 needs at least 32")]
    [InlineData("not base64!", "is not base64 text; make keys with 'pipeline token new-key <file>'")]
    public void A_bad_key_file_is_named(string content, string said)
    {
        Directory.CreateDirectory(Keys);
        File.WriteAllText(Path.Combine(Keys, "key-1"), content);

        var error = Assert.Throws<PipelineInputException>(() => SigningKeys.Read(Keys));

        Assert.Contains($"The signing key '{Path.Combine(Keys, "key-1")}' {said}", error.Message);
    }

    [Fact]
    public void The_ring_reads_the_directory_again_only_after_the_reload_interval_and_keeps_its_keys_when_a_reading_fails()
    {
        var clock = new ManualClock();
        SigningKeys.Generate(Path.Combine(Keys, "key-1"));
        var ring = new SigningKeyRing(new HttpAuthOptions { SigningKeysPath = Keys, KeyReloadSeconds = 30 }, clock, NullLogger<SigningKeyRing>.Instance);
        Assert.Equal(["key-1"], ring.Keys.Select(key => key.Id));

        SigningKeys.Generate(Path.Combine(Keys, "key-2"));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(["key-1"], ring.Keys.Select(key => key.Id));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["key-1", "key-2"], ring.Keys.Select(key => key.Id));

        File.Delete(Path.Combine(Keys, "key-1"));
        File.WriteAllText(Path.Combine(Keys, "key-3"), "half-written");
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(["key-1", "key-2"], ring.Keys.Select(key => key.Id));

        File.Delete(Path.Combine(Keys, "key-3"));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(["key-2"], ring.Keys.Select(key => key.Id));
    }

    [Fact]
    public void A_new_key_is_readable_by_its_owner_only_and_never_overwrites_one()
    {
        var path = Path.Combine(Keys, "key-1");
        SigningKeys.Generate(path);

        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Throws<IOException>(() => SigningKeys.Generate(path));
    }

    [Theory]
    [InlineData("30m", 0.5)]
    [InlineData("8h", 8)]
    [InlineData("8", 8)]
    [InlineData("7d", 168)]
    public void Lifetimes_are_minutes_hours_or_days(string text, double hours) =>
        Assert.Equal(TimeSpan.FromHours(hours), TokenCommand.ParseLifetime(text));

    [Theory]
    [InlineData("32d", "at most 31 days")]
    [InlineData("0h", "must be more than 0")]
    [InlineData("8 hours", "is not a lifetime")]
    public void Bad_lifetimes_are_named(string text, string said) =>
        Assert.Contains(said, Assert.Throws<PipelineInputException>(() => TokenCommand.ParseLifetime(text)).Message);
}
