using System.Diagnostics;
using System.Globalization;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Streaming;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// A <c>pipeline serve</c> node (ingest and scoring, the rig's tiny model) is stopped mid-stream, by SIGTERM or by
/// kill -9, and a new process takes over; every frame sent must get its outcome, counted by the test's own consumer on
/// the results and dead-letter topics. The figures (sent, results, dead letters, lost, duplicates, time until the new
/// process consumes) are printed; docs/benchmarks.md quotes them with the command that runs these tests.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ServeFaultTests(StreamingRigFixture fixture, ITestOutputHelper output)
{
    private const int Frames = 150;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly StreamingRig rig = fixture.Rig;

    /// <summary>
    /// The consumers' session timeout: short by default so that the tests stay quick; set
    /// <c>PIPELINE_FAULT_SESSION_TIMEOUT_MS=45000</c> (Kafka's default) to measure with it.
    /// </summary>
    private static int SessionTimeoutMilliseconds =>
        int.TryParse(Environment.GetEnvironmentVariable("PIPELINE_FAULT_SESSION_TIMEOUT_MS"), CultureInfo.InvariantCulture, out var ms) ? ms : 6000;

    [Fact]
    public Task A_node_stopped_by_SIGTERM_mid_stream_loses_no_frame_and_its_successor_consumes_at_once() => StopMidStream("TERM");

    [Fact]
    public Task A_node_killed_mid_stream_loses_no_frame() => StopMidStream("KILL");

    private async Task StopMidStream(string signal)
    {
        var line = rig.NewLine($"serve-{signal.ToLowerInvariant()}");
        using var watcher = line.Watch();
        var environment = NodeEnvironment(line.Topics);

        using var first = ServeProcess.Start("ingest,scoring", TestNodes.FreePort(), environment);
        await first.WaitUntilReadyAsync(Patience);
        var sent = line.SendFrames(Frames, cameras: 3);
        Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults >= 20, Patience), $"the first node published nothing:\n{first.Output}");
        await first.SignalAsync(signal);
        await first.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var doneByFirst = watcher.DistinctResults;
        if (signal == "TERM") Assert.True(first.ExitCode == 0, $"exit {first.ExitCode} after SIGTERM:\n{first.Output}");

        var restart = Stopwatch.StartNew();
        using var second = ServeProcess.Start("ingest,scoring", TestNodes.FreePort(), environment);
        await second.WaitUntilReadyAsync(Patience);
        var ready = restart.Elapsed;
        Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults > doneByFirst, Patience), $"the second node published nothing:\n{second.Output}");
        var consuming = restart.Elapsed;
        var expected = sent.Select(frame => frame.Metadata.FrameId).ToHashSet(StringComparer.Ordinal);
        await watcher.WaitUntilAsync(w => expected.IsSubsetOf(w.Results.Select(r => r.FrameId).Concat(w.DeadLetters.Select(d => d.FrameId ?? ""))), Patience);

        var outcomes = watcher.Results.Select(r => r.FrameId).Concat(watcher.DeadLetters.Select(d => d.FrameId ?? "")).ToArray();
        var lost = expected.Count(id => !outcomes.Contains(id));
        var duplicates = outcomes.Length - outcomes.Distinct(StringComparer.Ordinal).Count();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kill -{signal} after {doneByFirst} results, session {SessionTimeoutMilliseconds} ms: sent {Frames}, results {watcher.Results.Count}, dead letters {watcher.DeadLetters.Count}, lost {lost}, duplicates {duplicates}; successor ready after {ready.TotalSeconds:0.0} s, consuming after {consuming.TotalSeconds:0.0} s"));
        Assert.Equal(0, lost);
        Assert.Empty(watcher.DeadLetters);
        if (signal == "TERM")
        {
            // The old member left: the successor waits for the group's next rebalance only (on the mock, session − 1 s
            // after the leave; on a real broker group.initial.rebalance.delay.ms), not for old sessions to expire.
            Assert.True(consuming < TimeSpan.FromMilliseconds(SessionTimeoutMilliseconds) + TimeSpan.FromSeconds(20),
                $"the successor consumed only after {consuming.TotalSeconds:0.0} s:\n{second.Output}");
        }

        await second.SignalAsync("TERM");
        await second.WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    private Dictionary<string, string> NodeEnvironment(TopicNames topics) => new()
    {
        ["Pipeline__Kafka__BootstrapServers"] = rig.Kafka.BootstrapServers,
        ["Pipeline__Kafka__Extra__session.timeout.ms"] = SessionTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture),
        ["Pipeline__Kafka__Extra__heartbeat.interval.ms"] = Math.Max(500, SessionTimeoutMilliseconds / 10).ToString(CultureInfo.InvariantCulture),
        ["Pipeline__Kafka__Extra__reconnect.backoff.max.ms"] = "200",
        ["Pipeline__Kafka__Topics__Frames"] = topics.Frames,
        ["Pipeline__Kafka__Topics__Results"] = topics.Results,
        ["Pipeline__Kafka__Topics__Anomalies"] = topics.Anomalies,
        ["Pipeline__Kafka__Topics__DeadLetter"] = topics.DeadLetter,
        ["Pipeline__Kafka__Topics__Labels"] = topics.Labels,
        ["Pipeline__Kafka__Topics__ModelEvents"] = topics.ModelEvents,
        ["Pipeline__Scoring__ModelPath"] = rig.ModelFile,
        ["Pipeline__Scoring__Device"] = "cpu",
        ["Pipeline__Cluster__Port"] = "0",
        ["Logging__LogLevel__Default"] = "Information",
    };
}
