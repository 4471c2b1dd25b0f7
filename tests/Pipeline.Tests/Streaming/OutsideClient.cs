using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Pipeline.Tests.Deploy;
using Xunit;

namespace Pipeline.Tests.Streaming;

/// <summary>A message as the outside client (kafkajs) read it.</summary>
internal sealed record OutsideMessage(string Topic, int Partition, long Offset, string? Key, IReadOnlyDictionary<string, string?[]> Headers, byte[]? Value)
{
    /// <summary>The last value of header <paramref name="name"/>, as a Kafka client reads a repeated header; null when absent.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var values) && values.Length > 0 ? values[^1] : null;
}

/// <summary>
/// Runs tests/outside-client/read-topics.js: kafkajs from npm, a Kafka client that shares no code with librdkafka and
/// reads only the codecs built into it (none and gzip). Needs Node.js and <c>npm ci</c> in that folder (.ci/run does both).
/// </summary>
internal static class OutsideClient
{
    public static string Folder { get; } = Path.Combine(DeployFiles.RepositoryRoot, "tests", "outside-client");

    /// <summary>Fails the test, saying what to install, unless Node.js runs and kafkajs is installed; call it before building anything.</summary>
    public static async Task AssertInstalledAsync()
    {
        using var node = Start(["--version"]);
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, $"`node --version` exited {node.ExitCode}: {await node.StandardError.ReadToEndAsync()}");
        if (!File.Exists(Path.Combine(Folder, "node_modules", "kafkajs", "package.json")))
            Assert.Fail($"kafkajs is not installed in {Folder}: run `npm ci` there (.ci/run does it before the tests).");
    }

    /// <summary>Reads each topic from its beginning until it has given its count of messages, or fails the test saying why.</summary>
    public static async Task<IReadOnlyList<OutsideMessage>> ReadAsync(string bootstrapServers, IReadOnlyDictionary<string, int> counts, TimeSpan timeout)
    {
        await AssertInstalledAsync();
        List<string> arguments = ["read-topics.js", "--brokers", bootstrapServers, "--timeout-ms", ((int)timeout.TotalMilliseconds).ToString()];
        foreach (var (topic, count) in counts) arguments.AddRange(["--topic", $"{topic}={count}"]);

        using var process = Start(arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(timeout + TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"read-topics.js did not end within {timeout.TotalSeconds + 30} s: {await errors}");
        }

        var log = await errors;
        Assert.True(process.ExitCode == 0, $"kafkajs could not read the topics (read-topics.js exited {process.ExitCode}): {log}");
        using var document = JsonDocument.Parse(await output);
        return document.RootElement.GetProperty("messages").EnumerateArray().Select(Message).ToArray();
    }

    /// <summary>Starts <c>node</c> in <see cref="Folder"/> with its output captured, or fails the test saying how to install it.</summary>
    private static Process Start(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            return Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Node.js is needed to run the outside Kafka client, but `node` could not be started ({e.Message}). " +
                        "Install it (Debian: apt-get install -y nodejs npm) and run `npm ci` in tests/outside-client; .ci/run does both.");
            throw;
        }
    }

    private static OutsideMessage Message(JsonElement message) => new(
        message.GetProperty("topic").GetString()!,
        message.GetProperty("partition").GetInt32(),
        message.GetProperty("offset").GetInt64(),
        message.GetProperty("key").GetString(),
        message.GetProperty("headers").EnumerateObject().ToDictionary(
            header => header.Name, header => header.Value.EnumerateArray().Select(value => value.GetString()).ToArray()),
        message.GetProperty("value_base64").GetString() is { } value ? Convert.FromBase64String(value) : null);
}
