using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>
/// One <c>pipeline demo --stay --refit-after 12</c> for the tests of a class: it has streamed its frames, refitted once
/// or more, and keeps its node, mock Kafka and console running; the addresses it printed, parsed.
/// </summary>
public sealed class StayingDemo : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    internal DemoProcess Process { get; private set; } = null!;

    /// <summary>The operator's login link.</summary>
    public string OperatorUrl { get; private set; } = "";

    /// <summary>The viewer's login link.</summary>
    public string ViewerUrl { get; private set; } = "";

    /// <summary>The console's origin (http://127.0.0.1:PORT).</summary>
    public string Origin => new Uri(OperatorUrl).GetLeftPart(UriPartial.Authority);

    /// <summary>The operator's token, from the link.</summary>
    public string OperatorToken => new Uri(OperatorUrl).Query["?token=".Length..];

    /// <summary>The demo's mock Kafka cluster, with a consumer group of the tests' own.</summary>
    public KafkaOptions Kafka { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Process = DemoProcess.Start("--frames", "60", "--rate", "8", "--corrupt-every", "0", "--image-size", "64", "--no-cache", "--refit-after", "12", "--stay");
        await Process.LineAsync("the node and its console keep running", TimeSpan.FromMinutes(10));
        OperatorUrl = (await Process.LineAsync("console at ", Patience))["console at ".Length..];
        var viewer = await Process.LineAsync("console for a viewer", Patience);
        ViewerUrl = viewer[(viewer.LastIndexOf(" at ", StringComparison.Ordinal) + 4)..];
        var kafka = await Process.LineAsync("mock Kafka cluster at ", Patience);
        Kafka = new KafkaOptions { BootstrapServers = kafka["mock Kafka cluster at ".Length..kafka.IndexOf(';')], ConsumerGroup = $"console-tests-{Guid.NewGuid():N}" };
    }

    /// <summary>Stops the demo with SIGTERM, as a service manager would, and fails unless it ends with exit code 0.</summary>
    public async Task DisposeAsync()
    {
        try
        {
            var exit = await Process.StopAsync(TimeSpan.FromSeconds(60));
            if (exit != 0) throw new InvalidOperationException($"pipeline demo --stay ended with exit code {exit} on SIGTERM, not 0:\n{Process.Output}");
        }
        finally
        {
            Process.Dispose();
        }
    }
}
