using Pipeline.Host.OperatorConsole;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Scoring;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>What the console keeps of the topics it reads: bounded, one entry per frame, rates over a window of time.</summary>
public sealed class ConsoleFeedTests
{
    private readonly ManualClock clock = new();

    private static InspectionResult Result(string frameId, double score, string camera = "camera-1", string version = "v1", double threshold = 1) => new()
    {
        FrameId = frameId, CameraId = camera, Score = score, Threshold = threshold,
        Verdict = InspectionResult.VerdictFor(score, threshold), ModelVersion = version,
        CapturedAt = DateTimeOffset.UnixEpoch, IngestedAt = DateTimeOffset.UnixEpoch, ScoredAt = DateTimeOffset.UnixEpoch,
        SourcePartition = 0, SourceOffset = 0,
    };

    [Fact]
    public void The_live_list_keeps_the_newest_anomalies_first_and_each_frame_once()
    {
        var feed = new ConsoleFeed(new ConsoleOptions { RecentAnomalies = 3 }, clock);

        foreach (var id in new[] { "f1", "f2", "f2", "f3", "f4" }) feed.AddAnomaly(Result(id, 2));

        Assert.Equal(["f4", "f3", "f2"], feed.Snapshot().Anomalies.Select(item => item.Result.FrameId));
        feed.AddAnomaly(Result("f1", 2)); // gone from the list, so it is news again
        Assert.Equal(["f1", "f4", "f3"], feed.Snapshot().Anomalies.Select(item => item.Result.FrameId));
    }

    [Fact]
    public void Only_good_frames_at_or_above_the_review_share_of_their_threshold_enter_the_review_queue()
    {
        var feed = new ConsoleFeed(new ConsoleOptions { ReviewScoreFraction = 0.5, ReviewQueue = 2 }, clock);

        feed.AddResult(Result("low", 0.49));
        feed.AddResult(Result("near", 0.5));
        feed.AddResult(Result("anomalous", 1.5));
        feed.AddResult(Result("nearer", 0.9));
        feed.AddResult(Result("nearest", 1.0));

        Assert.Equal(["nearest", "nearer"], feed.Snapshot().Review.Select(item => item.Result.FrameId));
    }

    [Fact]
    public void Frames_per_second_and_anomaly_rate_per_camera_count_only_the_results_of_the_window()
    {
        var feed = new ConsoleFeed(new ConsoleOptions { RateWindowSeconds = 10 }, clock);
        feed.AddResult(Result("old", 2, "camera-1"));
        clock.Advance(TimeSpan.FromSeconds(6));
        feed.AddResult(Result("a", 2, "camera-1"));
        feed.AddResult(Result("b", 0.1, "camera-1"));
        feed.AddResult(Result("c", 0.1, "camera-2", version: "v2"));
        clock.Advance(TimeSpan.FromSeconds(5)); // "old" is 11 s old now

        var snapshot = feed.Snapshot();

        Assert.Equal(
            [new CameraRate("camera-1", 2, 1, 0.2, 0.5), new CameraRate("camera-2", 1, 0, 0.1, 0)],
            snapshot.Cameras);
        Assert.Equal(["v1", "v2"], snapshot.VersionsSeen.Select(seen => seen.Version).Order());
        Assert.Equal(4, snapshot.ResultsRead);
    }

    [Fact]
    public void A_node_serves_the_last_version_it_adopted_and_keeps_it_when_it_refuses_a_newer_one()
    {
        var feed = new ConsoleFeed(new ConsoleOptions(), clock);
        ModelEvent Event(ModelEventKind kind, string version) => new() { Kind = kind, Version = version, Node = "scoring-1", Detail = kind.ToString(), At = clock.GetUtcNow() };

        feed.AddModelEvent(Event(ModelEventKind.Adopted, "v1"));
        feed.AddModelEvent(Event(ModelEventKind.Refused, "v2"));

        var node = Assert.Single(feed.Snapshot().Nodes);
        Assert.Equal(("scoring-1", "v1", false), (node.Node, node.Version, node.Adopted));
        feed.AddModelEvent(Event(ModelEventKind.Adopted, "v3"));
        Assert.Equal("v3", Assert.Single(feed.Snapshot().Nodes).Version);
        Assert.Equal(3, feed.Snapshot().ModelEvents.Count);
    }

    [Fact]
    public void Each_product_of_a_node_serves_its_own_version()
    {
        var feed = new ConsoleFeed(new ConsoleOptions(), clock);
        ModelEvent Adopted(string product, string version) => new() { Kind = ModelEventKind.Adopted, Product = product, Version = version, Node = "scoring-1", Detail = "", At = clock.GetUtcNow() };

        feed.AddModelEvent(Adopted("bracket-a", "v2"));
        feed.AddModelEvent(Adopted("gasket-b", "v1"));
        feed.AddModelEvent(Adopted("bracket-a", "v3"));

        Assert.Equal([("bracket-a", "v3"), ("gasket-b", "v1")], feed.Snapshot().Nodes.Select(node => (node.Product, node.Version)));
    }

    [Fact]
    public async Task Maps_are_kept_by_frame_id_up_to_their_bound_the_oldest_going_first_and_a_listening_page_is_told()
    {
        var feed = new ConsoleFeed(new ConsoleOptions { RecentAnomalies = 2, ReviewQueue = 1 }, clock); // 2 × (2 + 1) = 6 maps
        using var leave = new CancellationTokenSource();
        var changes = feed.Listen(leave.Token);

        for (var i = 1; i <= 7; i++) feed.AddMap(new ConsoleMap($"f{i}", [(byte)i], Peak: i, RegionLevel: 0.5));
        feed.AddMap(new ConsoleMap("f7", [70], Peak: 70, RegionLevel: 0.5)); // a re-delivery replaces, and keeps its place

        Assert.Equal(6, feed.MapCapacity);
        Assert.Equal(6, feed.MapsHeld);
        Assert.Null(feed.FindMap("f1"));
        Assert.Equal([2], feed.FindMap("f2")!.Png);
        Assert.Equal(70, feed.FindMap("f7")!.Peak);
        Assert.Equal("f1", Assert.IsType<MapArrived>(await changes.ReadAsync()).FrameId);
    }

    [Fact]
    public async Task A_listening_page_is_told_of_new_anomalies_and_review_items_but_not_of_repeats()
    {
        var feed = new ConsoleFeed(new ConsoleOptions(), clock);
        using var leave = new CancellationTokenSource();
        var changes = feed.Listen(leave.Token);

        feed.AddAnomaly(Result("f1", 2));
        feed.AddAnomaly(Result("f1", 2));
        feed.AddResult(Result("f2", 0.8));

        Assert.Equal("f1", Assert.IsType<AnomalyArrived>(await changes.ReadAsync()).Item.Result.FrameId);
        Assert.Equal("f2", Assert.IsType<ReviewArrived>(await changes.ReadAsync()).Item.Result.FrameId);
        Assert.False(changes.TryRead(out _));
        leave.Cancel();
        Assert.Equal(0, feed.Listeners);
    }
}
