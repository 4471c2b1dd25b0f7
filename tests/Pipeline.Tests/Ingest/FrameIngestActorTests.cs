using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Ingest;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;
using Pipeline.Simulation;
using ClusterCollection = Pipeline.Tests.Cluster.ClusterCollection;
using Pipeline.Tests.Imaging;
using Pipeline.Tests.Kafka;
using Xunit;

namespace Pipeline.Tests.Ingest;

/// <summary>One mock Kafka cluster for the ingest actor's tests; each test makes topics of its own on it.</summary>
public sealed class IngestKafkaFixture : IDisposable
{
    public MockKafkaCluster Cluster { get; } = MockKafkaCluster.Start(brokers: 1);

    public void Dispose() => Cluster.Dispose();
}

/// <summary>
/// The ingest actor's own behaviour against a real (mock) Kafka, with a probe standing in for scoring so that each
/// test decides what scoring answers.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FrameIngestActorTests : Akka.TestKit.Xunit2.TestKit, IClassFixture<IngestKafkaFixture>
{
    private const int FrameSize = 32;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>How soon an actor that is not starved answers, even on a loaded machine.</summary>
    private static readonly TimeSpan Responsive = TimeSpan.FromSeconds(3);
    private static readonly byte[] Png = ImageEncoding.ToPng(new SyntheticParts(48).Good(new Random(1)));

    private readonly MockKafkaCluster cluster;
    private readonly TestProbe scoring;
    private readonly IngestMetrics metrics = new();
    private readonly TopicNames topics;
    private readonly KafkaOptions kafka;
    private IActorRef ingest = ActorRefs.Nobody;

    public FrameIngestActorTests(IngestKafkaFixture fixture)
    {
        cluster = fixture.Cluster;
        scoring = CreateTestProbe("scoring");
        var name = $"ingest-{Guid.NewGuid():N}";
        topics = TestKafka.CreateTopics(cluster, name, framePartitions: 1, resultPartitions: 1);
        kafka = TestKafka.Options(cluster, $"{name}-group", topics);
    }

    [Fact]
    public async Task A_scored_frame_goes_to_the_results_topic_and_an_anomalous_one_to_the_anomalies_topic_too()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest();
        SendFrames(Frame("normal", "camera-1"), Frame("anomalous", "camera-2"));

        var first = ExpectScoreFrame();
        var second = ExpectScoreFrame();
        foreach (var frame in new[] { first, second })
        {
            Assert.Equal((FrameSize, FrameSize, FrameSize * FrameSize * 3), (frame.Image.Width, frame.Image.Height, frame.Image.Pixels.Length));
            Assert.IsType<long>(frame.Correlation);
        }

        var byId = new[] { first, second }.ToDictionary(frame => frame.FrameId);
        Assert.Equal(new[] { "anomalous", "normal" }, byId.Keys.Order());
        Assert.Equal("camera-1", byId["normal"].CameraId);
        Assert.Equal("camera-2", byId["anomalous"].CameraId);

        Answer(Scored(byId["normal"], score: 0.25));
        Answer(Scored(byId["anomalous"], score: 0.75));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 2 && w.Anomalies.Count >= 1, Patience),
            $"results: {Ids(watcher.Results)}; anomalies: {Ids(watcher.Anomalies)}");
        var results = watcher.Results.ToDictionary(result => result.FrameId);
        Assert.Equal((0.25, 0.5, "v1", InspectionVerdict.Good, "camera-1"),
            (results["normal"].Score, results["normal"].Threshold, results["normal"].ModelVersion, results["normal"].Verdict, results["normal"].CameraId));
        Assert.Equal((0.75, InspectionVerdict.Anomalous, "camera-2"),
            (results["anomalous"].Score, results["anomalous"].Verdict, results["anomalous"].CameraId));
        var anomaly = Assert.Single(watcher.Anomalies);
        Assert.Equal(("anomalous", 0.75, "v1"), (anomaly.FrameId, anomaly.Score, anomaly.ModelVersion));
        Assert.Empty(watcher.DeadLetters);

        static string Ids(IEnumerable<InspectionResult> list) => string.Join(", ", list.Select(result => result.FrameId));
    }

    [Fact]
    public async Task A_frame_the_model_failed_on_is_sent_again_and_dead_lettered_after_the_last_attempt()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(Options(maxScoringAttempts: 2), clock);
        SendFrames(Frame("failing", "camera-1"));

        var first = ExpectScoreFrame("failing");
        await AnswerAndAwaitHandled(Failed(first, ScoringFailureKind.ModelFailed));
        Assert.False(scoring.HasMessages, "the frame was sent again before its back-off");
        clock.Advance(RetryDelay);
        var second = ExpectScoreFrame("failing");
        Assert.Equal(first.Correlation, second.Correlation);
        await AnswerAndAwaitHandled(Failed(second, ScoringFailureKind.ModelFailed));

        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= 1, Patience), "no dead letter arrived");
        await AdvanceAndAwaitHandled(clock, TimeSpan.FromSeconds(10)); // every back-off there could be, and ten sweeps
        Assert.False(scoring.HasMessages, "the frame was sent a third time");
        var dead = Assert.Single(watcher.DeadLetters);
        Assert.Equal(("failing", "camera-1", DeadLetterReasons.ScoringFailed), (dead.FrameId, dead.CameraId, dead.Reason));
        Assert.Empty(watcher.Results);
    }

    [Fact]
    public async Task An_interrupted_frame_is_sent_again_without_limit_and_its_later_score_is_published()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(Options(maxScoringAttempts: 1), clock);
        SendFrames(Frame("interrupted", "camera-1"));

        var first = ExpectScoreFrame("interrupted");
        await AnswerAndAwaitHandled(Failed(first, ScoringFailureKind.Interrupted));
        clock.Advance(RetryDelay);
        var second = ExpectScoreFrame("interrupted");
        await AnswerAndAwaitHandled(Failed(second, ScoringFailureKind.Interrupted));
        clock.Advance(RetryDelay);
        var third = ExpectScoreFrame("interrupted");
        Assert.Equal(first.Correlation, third.Correlation);
        Answer(Scored(third, score: 0.125));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        var result = Assert.Single(watcher.Results);
        Assert.Equal(("interrupted", 0.125, "v1"), (result.FrameId, result.Score, result.ModelVersion));
        Assert.Empty(watcher.DeadLetters);
    }

    [Fact]
    public async Task A_frame_without_an_answer_is_sent_again_after_the_scoring_timeout()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(Options(scoringTimeoutMilliseconds: 2000), clock);
        SendFrames(Frame("unanswered", "camera-1"));

        var first = ExpectScoreFrame("unanswered");
        await AdvanceAndAwaitHandled(clock, TimeSpan.FromMilliseconds(1900)); // a sweep, before the timeout
        Assert.False(scoring.HasMessages, "the frame was sent again before the scoring timeout");
        clock.Advance(TimeSpan.FromMilliseconds(1100)); // the sweep at 3 s finds it 3 s without an answer
        var again = ExpectScoreFrame("unanswered");
        Assert.Equal(first.Correlation, again.Correlation);
        Answer(Scored(again, score: 0.25));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        Assert.Equal("unanswered", Assert.Single(watcher.Results).FrameId);
    }

    [Fact]
    public async Task A_frame_scoring_was_too_busy_for_is_sent_again_only_once_scoring_is_available()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(Options(), clock);
        SendFrames(Frame("held", "camera-1"));

        var first = ExpectScoreFrame("held");
        await AnswerAndAwaitHandled(new ScoringBusy(first.FrameId, first.CameraId, QueuedFrames: 8, QueueCapacity: 8, first.Correlation));
        // Ten sweeps and every back-off there could be, yet below the scoring timeout (30 s) after which a silent
        // scorer is tried again.
        await AdvanceAndAwaitHandled(clock, TimeSpan.FromSeconds(10));
        Assert.False(scoring.HasMessages, "the frame was sent again while scoring was busy");

        Answer(new ScoringAvailable("cpu", FreeSlots: 4));
        var again = ExpectScoreFrame("held");
        Assert.Equal(first.Correlation, again.Correlation);
        Answer(Scored(again, score: 0.25));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        Assert.Equal("held", Assert.Single(watcher.Results).FrameId);
    }

    [Fact]
    public async Task A_scorer_that_is_busy_holds_only_the_frames_meant_for_it()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var scorerA = CreateTestProbe("scorer-a");
        var scorerB = CreateTestProbe("scorer-b");
        var status = Serving(true, (ProductName.Default, FrameSize));
        StartIngestBehind(Sys.ActorOf(Props.Create(() => new TwoScorersRouter(scorerA.Ref, scorerB.Ref, status))));
        SendFrames(Frame("a-1", "camera-a"), Frame("b-1", "camera-b"));

        var a1 = scorerA.ExpectMsg<ScoreFrame>(Patience);
        scorerA.Reply(Busy(a1));
        scorerB.Reply(Scored(scorerB.ExpectMsg<ScoreFrame>(Patience), score: 0.25));
        SendFrames(Frame("a-2", "camera-a"), Frame("b-2", "camera-b"));

        // Frames keep going while A is busy: ingest cannot know which scorer a frame will reach, so a-2 is sent and
        // refused too; a-1 is not sent again.
        var a2 = scorerA.ExpectMsg<ScoreFrame>(Patience);
        Assert.Equal("a-2", a2.FrameId);
        scorerA.Reply(Busy(a2));
        var b2 = scorerB.ExpectMsg<ScoreFrame>(Patience);
        Assert.Equal("b-2", b2.FrameId);
        scorerB.Reply(Scored(b2, score: 0.25));
        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 2, Patience), "B's results did not arrive while A was busy");
        var waiting = await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience);
        Assert.Equal((2, false), (waiting.WaitingForBusyScorers, waiting.ReadingHeld));

        // B saying it has room releases nothing of A's: had it, a-1 would reach A before b-3 reaches B.
        scorerB.Send(ingest, new ScoringAvailable("b", FreeSlots: 4));
        SendFrames(Frame("b-3", "camera-b"));
        var b3 = scorerB.ExpectMsg<ScoreFrame>(Patience);
        Assert.Equal("b-3", b3.FrameId);
        Assert.False(scorerA.HasMessages, "B's room released frames A had refused");

        // A's room releases A's frames, in the order they were read.
        scorerA.Send(ingest, new ScoringAvailable("a", FreeSlots: 4));
        var again = new[] { scorerA.ExpectMsg<ScoreFrame>(Patience), scorerA.ExpectMsg<ScoreFrame>(Patience) };
        Assert.Equal(["a-1", "a-2"], again.Select(frame => frame.FrameId));
        foreach (var frame in again) scorerA.Send(ingest, Scored(frame, score: 0.25));
        scorerB.Send(ingest, Scored(b3, score: 0.25));
        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 5, Patience), $"{watcher.Results.Count} of 5 results arrived");
        Assert.Equal(["a-1", "a-2", "b-1", "b-2", "b-3"], watcher.Results.Select(result => result.FrameId).Order());
    }

    [Fact]
    public async Task A_scorer_silent_since_it_said_busy_gets_its_frames_again_after_the_scoring_timeout()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(Options(scoringTimeoutMilliseconds: 2000), clock);
        SendFrames(Frame("held", "camera-1"));

        await AnswerAndAwaitHandled(Busy(ExpectScoreFrame("held")));
        await AdvanceAndAwaitHandled(clock, TimeSpan.FromMilliseconds(1900)); // a sweep, before the timeout
        Assert.False(scoring.HasMessages, "the frame was sent again before the scoring timeout");
        clock.Advance(TimeSpan.FromMilliseconds(1100)); // the sweep at 3 s finds the scorer silent for 3 s

        ExpectScoreFrame("held");
        Assert.Equal(0, (await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience)).WaitingForBusyScorers);
    }

    [Fact]
    public async Task Reading_stops_only_while_the_frames_busy_scorers_refused_reach_half_the_frames_in_flight()
    {
        var options = Options();
        options.MaxInFlightFrames = 4; // reading stops from 2 frames waiting
        StartIngest(options);
        SendFrames(Frame("first", "camera-1"));
        await AnswerAndAwaitHandled(Busy(ExpectScoreFrame("first")));
        Assert.False((await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience)).ReadingHeld, "one frame waiting held reading");

        SendFrames(Frame("second", "camera-2"));
        await AnswerAndAwaitHandled(Busy(ExpectScoreFrame("second")));
        var held = await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience);
        Assert.Equal((2, true), (held.WaitingForBusyScorers, held.ReadingHeld));

        await AnswerAndAwaitHandled(new ScoringAvailable("cpu", FreeSlots: 4));
        Assert.Equal(["first", "second"], new[] { ExpectScoreFrame(), ExpectScoreFrame() }.Select(frame => frame.FrameId));
        var reading = await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience);
        Assert.Equal((0, false), (reading.WaitingForBusyScorers, reading.ReadingHeld));
    }

    [Fact]
    public async Task Each_frame_is_prepared_at_its_products_model_size_and_its_result_names_its_product()
    {
        using var exported = new ExportedMetrics(metrics.Meter, TimeSpan.FromMinutes(5));
        using var watcher = new InspectionStreamWatcher(kafka);
        var catalog = ProductCatalog.From(new Dictionary<string, ProductOptions> { ["bracket-a"] = new() { Cameras = ["camera-2"] } });
        StartIngest(status: Serving(true, (ProductName.Default, FrameSize), ("bracket-a", 24)), products: catalog);
        SendFrames(
            Frame("of-the-default", "camera-1"),
            Frame("of-its-camera", "camera-2"),
            Frame("of-its-header", "camera-1") with { Product = "bracket-a" });

        var sent = new[] { ExpectScoreFrame(), ExpectScoreFrame(), ExpectScoreFrame() }.ToDictionary(frame => frame.FrameId);
        Assert.Equal((ProductName.Default, FrameSize), (sent["of-the-default"].Product, sent["of-the-default"].Image.Width));
        Assert.Equal(("bracket-a", 24), (sent["of-its-camera"].Product, sent["of-its-camera"].Image.Width));
        Assert.Equal(("bracket-a", 24), (sent["of-its-header"].Product, sent["of-its-header"].Image.Height));
        foreach (var frame in sent.Values) Answer(Scored(frame, score: 0.25));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 3, Patience), $"{watcher.Results.Count} of 3 results arrived");
        Assert.Equal(
            [("of-its-camera", "bracket-a"), ("of-its-header", "bracket-a"), ("of-the-default", ProductName.Default)],
            watcher.Results.Select(result => (result.FrameId, result.Product)).Order());
        await AwaitNoFrameInFlight(); // every result acknowledged, so counted
        var counted = await exported.ScrapeAsync("pipeline_ingest_results_published", "product");
        Assert.Equal([("bracket-a", 2.0), (ProductName.Default, 1.0)], counted.Select(entry => (entry.Key, entry.Value)).Order());
    }

    [Fact]
    public async Task Frames_of_an_unknown_product_and_of_a_product_without_a_model_are_dead_lettered_and_the_stream_goes_on()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var catalog = ProductCatalog.From(new Dictionary<string, ProductOptions> { ["bracket-b"] = new() { Cameras = ["camera-9"] } });
        StartIngest(status: Serving(true, (ProductName.Default, FrameSize)), products: catalog);
        SendFrames(
            Frame("unknown", "camera-1") with { Product = "nobody-knows" },
            Frame("no-model", "camera-9"),
            Frame("fine", "camera-1"));

        Answer(Scored(ExpectScoreFrame("fine"), score: 0.25));

        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= 2 && w.Results.Count >= 1, Patience), "the dead letters or the result did not arrive");
        var dead = watcher.DeadLetters.ToDictionary(letter => letter.FrameId!);
        Assert.Equal(DeadLetterReasons.UnknownProduct, dead["unknown"].Reason);
        Assert.Contains("Product 'nobody-knows' (the frame's product header) is not configured in Pipeline:Products", dead["unknown"].Detail);
        Assert.Equal(DeadLetterReasons.NoModelForProduct, dead["no-model"].Reason);
        Assert.Contains("Product 'bracket-b' (the product of camera 'camera-9' in Pipeline:Products) has no model yet; scoring serves default", dead["no-model"].Detail);
        Assert.Equal(("fine", ProductName.Default), (Assert.Single(watcher.Results).FrameId, watcher.Results[0].Product));
    }

    [Fact]
    public async Task A_frame_of_a_product_scoring_does_not_serve_yet_waits_while_scoring_is_not_in_step_and_goes_once_it_serves_it()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(clock: clock, status: Serving(false, (ProductName.Default, FrameSize)));
        SendFrames(Frame("early", "camera-1") with { Product = "bracket-a" });
        await AwaitFramesInFlight(1);

        await AdvanceAndAwaitHandled(clock, TimeSpan.FromSeconds(1)); // the sweep asks again while the frame waits
        scoring.ExpectMsg<GetScoringStatus>(Patience);
        scoring.Reply(Serving(false, (ProductName.Default, FrameSize)));
        await AdvanceAndAwaitHandled(clock, TimeSpan.FromSeconds(1)); // still waiting, so asked again
        scoring.ExpectMsg<GetScoringStatus>(Patience);
        scoring.Reply(Serving(true, (ProductName.Default, FrameSize), ("bracket-a", 24)));

        var sent = ExpectScoreFrame("early");
        Assert.Equal(("bracket-a", 24), (sent.Product, sent.Image.Width));
        Answer(Scored(sent, score: 0.25));
        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        Assert.Empty(watcher.DeadLetters);
    }

    [Fact]
    public async Task Scorings_status_is_asked_at_every_sweep_until_it_serves_a_model_even_with_no_frame_waiting()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StartIngest(clock: clock, status: new ScoringNodeStatus([new ScoringStatus(false, null, null, 0, 0, "cpu")]));

        // Sweeps until one asks again (the first may come before the first answer is in).
        var deadline = DateTime.UtcNow + Patience;
        while (!scoring.HasMessages)
        {
            Assert.True(DateTime.UtcNow < deadline, "scoring was not asked again while it served no model");
            await AdvanceAndAwaitHandled(clock, TimeSpan.FromSeconds(1));
        }

        scoring.ExpectMsg<GetScoringStatus>(Patience);
        scoring.Reply(new ScoringNodeStatus([new ScoringStatus(true, "v1", FrameSize, 0, 0, "cpu")]));
        await AwaitFrameSize(FrameSize); // what makes the node ready (/readyz)

        await AdvanceAndAwaitHandled(clock, TimeSpan.FromSeconds(3));
        Assert.False(scoring.HasMessages, "scoring was asked again once it served a model and no frame waited");
    }

    [Fact]
    public async Task A_frame_a_scorer_has_no_model_for_is_dead_lettered_once_scoring_says_it_serves_none_of_its_product()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var catalog = ProductCatalog.From(new Dictionary<string, ProductOptions> { ["bracket-a"] = new() { Cameras = ["camera-2"] } });
        StartIngest(clock: clock, status: Serving(true, (ProductName.Default, FrameSize), ("bracket-a", 24)), products: catalog);
        SendFrames(Frame("retired", "camera-2"));

        var sent = ExpectScoreFrame("retired");
        Answer(Failed(sent, ScoringFailureKind.NoModelForProduct));
        scoring.ExpectMsg<GetScoringStatus>(Patience); // asked at once
        scoring.Reply(Serving(true, (ProductName.Default, 48)));
        await AwaitFrameSize(48); // the new status is learnt before the back-off ends
        clock.Advance(RetryDelay);

        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= 1, Patience), "no dead letter arrived");
        var dead = Assert.Single(watcher.DeadLetters);
        Assert.Equal(("retired", DeadLetterReasons.NoModelForProduct), (dead.FrameId, dead.Reason));
        Assert.False(scoring.HasMessages, "the frame was sent again");
    }

    [Fact]
    public async Task With_64_frames_in_flight_only_the_decode_workers_decode_and_the_actors_answer_meanwhile()
    {
        // Decoding that keeps its thread busy (not blocked, which the pool would notice and make up for) as long as
        // the test wants: a stand-in for 64 large JPEGs. As one pool task per frame, on the threads the actors run on,
        // 3 to 23 of them were being decoded at once when this test looked (five runs, 2 cores), each holding its
        // whole picture.
        using var gate = new ManualResetEventSlim();
        using var decoding = new SemaphoreSlim(0);
        var options = Options();
        options.DecodeWorkers = 2;
        options.MaxInFlightFrames = 64;
        StartIngest(options, prepareFrame: job =>
        {
            decoding.Release();
            var giveUp = Environment.TickCount64 + 60_000;
            while (!gate.IsSet && Environment.TickCount64 < giveUp) Thread.Yield();
            return TestPictures.Uniform(job.Size, job.Size, (10, 20, 30));
        });
        var echo = Sys.ActorOf(Props.Create(() => new EchoActor()));
        try
        {
            SendFrames(Enumerable.Range(1, 64).Select(n => Frame($"slow-{n}", $"camera-{n % 4}")).ToArray());
            Assert.True(await decoding.WaitAsync(Patience) && await decoding.WaitAsync(Patience), "the two decode workers did not start");

            var deadline = DateTime.UtcNow + Patience;
            IngestStatus status;
            while ((status = await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Responsive)).FramesInFlight < 64)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{status.FramesInFlight} of 64 frames were read");
                await Task.Delay(20);
            }

            for (var question = 0; question < 20; question++)
            {
                Assert.Equal(question, await echo.Ask<int>(question, Responsive));
                Assert.Equal(64, (await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Responsive)).FramesInFlight);
            }

            Assert.True(decoding.CurrentCount == 0, $"{2 + decoding.CurrentCount} frames were being decoded at once; DecodeWorkers is 2");
        }
        finally
        {
            gate.Set();
        }

        var scored = Enumerable.Range(0, 64).Select(_ => ExpectScoreFrame().FrameId).ToHashSet();
        Assert.Equal(64, scored.Count);
    }

    [Fact]
    public async Task A_cameras_results_are_published_in_the_order_its_frames_were_read_whatever_order_they_are_scored_in()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest();
        SendFrames(Frame("earlier", "camera-1"), Frame("later", "camera-1"));

        var sent = new[] { ExpectScoreFrame(), ExpectScoreFrame() }.ToDictionary(frame => frame.FrameId);
        Assert.True((long)sent["earlier"].Correlation! < (long)sent["later"].Correlation!, "the earlier frame should have the lower ticket");

        // Had the later result been published when it was scored, it would be on the topic before the earlier one.
        await AnswerAndAwaitHandled(Scored(sent["later"], score: 0.25));
        Answer(Scored(sent["earlier"], score: 0.125));
        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 2, Patience), "the results did not arrive");
        Assert.Equal(new[] { "earlier", "later" }, watcher.Results.Select(result => result.FrameId));
    }

    [Fact]
    public async Task A_frame_with_a_megabyte_key_and_camera_id_is_dead_lettered_without_them_and_never_scored()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest();
        var camera = new string('c', 1024 * 1024);
        SendRaw([Raw("huge-camera", camera, Png), Raw("after", "camera-1", Png)]);

        Answer(Scored(ExpectScoreFrame("after"), score: 0.25)); // the frame before it never reached scoring

        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= 1 && w.Results.Count >= 1, Patience), "the dead letter or the result did not arrive");
        var dead = Assert.Single(watcher.DeadLetters);
        Assert.Equal(("huge-camera", null, DeadLetterReasons.InvalidHeader), (dead.FrameId, dead.CameraId, dead.Reason));
        Assert.Contains("the message key is 1,048,576 bytes, over the limit of 256", dead.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.True(dead.Detail.Length < 600, dead.Detail);
        Assert.Equal("after", Assert.Single(watcher.Results).FrameId);
    }

    [Fact]
    public async Task Every_dead_letter_is_counted_once_under_its_reason_on_metrics_however_long_apart_they_come()
    {
        // /metrics as prometheus-net exports it, dropping series idle for 1 s instead of 5 minutes.
        using var exported = new ExportedMetrics(metrics.Meter, TimeSpan.FromSeconds(1));
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest(Options(maxScoringAttempts: 1, maxFrameBytes: 4000, maxImagePixels: 5000));

        var firstRound = SendOneFrameOfEveryDeadLetterKind("a");
        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= firstRound, Patience), $"{watcher.DeadLetters.Count} of {firstRound} dead letters arrived");
        await AwaitNoFrameInFlight();
        await exported.AwaitExpiryAsync(Patience);

        var secondRound = SendOneFrameOfEveryDeadLetterKind("b");
        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= firstRound + secondRound, Patience),
            $"{watcher.DeadLetters.Count} of {firstRound + secondRound} dead letters arrived");
        await AwaitNoFrameInFlight();

        var published = watcher.DeadLetters.GroupBy(letter => letter.Reason).ToDictionary(g => g.Key, g => (double)g.Count());
        var counted = await exported.ScrapeAsync("pipeline_ingest_frames_dead_lettered", "reason");
        Assert.Equal(published.OrderBy(p => p.Key), counted.OrderBy(c => c.Key));
        Assert.Equal(4, published[DeadLetterReasons.UndecodableImage]); // a zero-byte frame and one that is not an image, twice
        Assert.Equal(4, published[DeadLetterReasons.InvalidHeader]);
        Assert.Equal(firstRound + secondRound, counted.Values.Sum());

        // The product label where the frame's product is known: not for headers refused before it was.
        var series = await exported.ScrapeSeriesAsync("pipeline_ingest_frames_dead_lettered");
        Assert.All(series.Where(s => s.Labels["reason"] == DeadLetterReasons.UndecodableImage), s => Assert.Equal(ProductName.Default, s.Labels.GetValueOrDefault("product")));
        Assert.All(series.Where(s => s.Labels["reason"] == DeadLetterReasons.MissingHeader), s => Assert.False(s.Labels.ContainsKey("product")));
    }

    /// <summary>
    /// Sends one frame refused for each reason a frame can be refused for (two for some), ids starting with
    /// <paramref name="round"/>, answers scoring for the two that get that far, and returns how many were sent.
    /// Expects the options of the test above (one scoring attempt, 4000 bytes and 5000 pixels at most).
    /// </summary>
    private int SendOneFrameOfEveryDeadLetterKind(string round)
    {
        var largePicture = ImageEncoding.ToPng(TestPictures.Uniform(100, 100, (10, 20, 30)));
        var bad = new List<Message<string, byte[]>>
        {
            Raw($"{round}-missing-key", $"{round}-camera-1", Png, key: null),
            Raw($"{round}-missing-header", $"{round}-camera-2", Png, without: FrameHeaderNames.ContentType),
            Raw($"{round}-not-utf-8", $"{round}-camera-3", Png, replace: (FrameHeaderNames.Label, [0xC3, 0x28])),
            Raw($"{round}-{new string('x', 300)}", $"{round}-camera-4", Png),
            Raw($"{round}-camera-id-mismatch", $"{round}-camera-5", Png, key: $"{round}-camera-50"),
            Raw($"{round}-invalid-captured-at", $"{round}-camera-6", Png, replace: (FrameHeaderNames.CapturedAt, Encoding.UTF8.GetBytes("yesterday"))),
            Raw($"{round}-unknown-label", $"{round}-camera-7", Png, replace: (FrameHeaderNames.Label, Encoding.UTF8.GetBytes("maybe"))),
            Raw($"{round}-unsupported-content-type", $"{round}-camera-8", Png, replace: (FrameHeaderNames.ContentType, Encoding.UTF8.GetBytes("image/gif"))),
            Raw($"{round}-not-an-image", $"{round}-camera-9", Encoding.UTF8.GetBytes("this is not an image")),
            Raw($"{round}-zero-bytes", $"{round}-camera-10", []),
            Raw($"{round}-too-many-bytes", $"{round}-camera-11", new byte[4001]),
            Raw($"{round}-too-many-pixels", $"{round}-camera-12", largePicture),
            Raw($"{round}-model-failed", $"{round}-camera-13", Png),
            Raw($"{round}-refused", $"{round}-camera-14", Png),
        };
        SendRaw(bad);

        var sent = new[] { ExpectScoreFrame(), ExpectScoreFrame() }.ToDictionary(frame => frame.FrameId);
        Answer(Failed(sent[$"{round}-model-failed"], ScoringFailureKind.ModelFailed));
        Answer(Failed(sent[$"{round}-refused"], ScoringFailureKind.InvalidFrame));
        return bad.Count;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) metrics.Dispose();
    }

    private static IngestOptions Options(
        int maxScoringAttempts = 3, int scoringTimeoutMilliseconds = 30_000, int maxFrameBytes = 10 * 1024 * 1024, long maxImagePixels = 50_000_000) => new()
    {
        RetryDelayMilliseconds = 50,
        MaxScoringAttempts = maxScoringAttempts,
        ScoringTimeoutMilliseconds = scoringTimeoutMilliseconds,
        MaxFrameBytes = maxFrameBytes,
        MaxImagePixels = maxImagePixels,
    };

    /// <summary>Starts the actor and answers its question for scoring's status: by default 32 px, model v1 of the default product.</summary>
    /// <param name="clock">The actor's time (its retries and sweeps); the system's when null.</param>
    /// <param name="prepareFrame">Stands in for decoding on the decode workers; the real decoder when null.</param>
    /// <param name="products">The node's products; only the default one when null.</param>
    private void StartIngest(
        IngestOptions? options = null, TimeProvider? clock = null, Func<DecodeFrame, RgbImage>? prepareFrame = null, ScoringNodeStatus? status = null, ProductCatalog? products = null)
    {
        ingest = Sys.ActorOf(FrameIngestActor.Props(options ?? Options(), kafka, scoring.Ref, metrics, NullLoggerFactory.Instance, new KafkaClientsClosing(), clock, null, prepareFrame, products));
        scoring.ExpectMsg<GetScoringStatus>(Patience);
        scoring.Reply(status ?? new ScoringNodeStatus([new ScoringStatus(true, "v1", FrameSize, 0, 0, "cpu")]));
    }

    /// <summary>Starts the actor in front of <paramref name="router"/>, which answers its question for scoring's status itself.</summary>
    private void StartIngestBehind(IActorRef router, IngestOptions? options = null) =>
        ingest = Sys.ActorOf(FrameIngestActor.Props(options ?? Options(), kafka, router, metrics, NullLoggerFactory.Instance, new KafkaClientsClosing()));

    /// <summary>A node of one scorer serving model v1 of each product at its size; <paramref name="inStep"/>: it serves all it will.</summary>
    private static ScoringNodeStatus Serving(bool inStep, params (string Product, int Size)[] models) =>
        new([new ScoringStatus(true, "v1", models.Where(model => model.Product == ProductName.Default).Select(model => (int?)model.Size).FirstOrDefault(), 0, 0, "cpu",
            models.Select(model => new ServedModel(model.Product, "v1", model.Size)).ToArray())], inStep);

    private static ScoringBusy Busy(ScoreFrame frame) => new(frame.FrameId, frame.CameraId, QueuedFrames: 8, QueueCapacity: 8, frame.Correlation);

    /// <summary>Waits until the actor has read <paramref name="count"/> frames (or more) whose outcome is not yet in Kafka.</summary>
    private Task AwaitFramesInFlight(int count) => AwaitIngestStatus(status => status.FramesInFlight >= count);

    /// <summary>Waits until the actor has learnt that scoring takes frames of <paramref name="size"/> (its status reached it).</summary>
    private Task AwaitFrameSize(int size) => AwaitIngestStatus(status => status.FrameSize == size);

    private Task AwaitIngestStatus(Func<IngestStatus, bool> reached) =>
        AwaitConditionAsync(async () => reached(await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience)), Patience);

    private static FrameMetadata Frame(string id, string camera) => new(id, camera, DateTimeOffset.UtcNow, FrameContentTypes.Png);

    private void SendFrames(params FrameMetadata[] frames)
    {
        using var producer = KafkaClients.CreateProducer(kafka, "test-camera", PipelineTopic.Frames);
        foreach (var frame in frames) producer.Produce(topics.Frames, FrameHeaders.CreateMessage(frame, Png));
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// A frame message of camera <paramref name="camera"/> with the contract's headers, then broken as asked: another
    /// key (or none), a header left out, a header's value replaced (or added) as raw bytes.
    /// </summary>
    private static Message<string, byte[]> Raw(
        string id, string camera, byte[] value, string? key = "", string? without = null, (string Name, byte[] Value)? replace = null)
    {
        var message = FrameHeaders.CreateMessage(Frame(id, camera), value);
        message.Key = key == "" ? camera : key!;
        if (without is not null) message.Headers.Remove(without);
        if (replace is { } header)
        {
            message.Headers.Remove(header.Name);
            message.Headers.Add(header.Name, header.Value);
        }

        return message;
    }

    private void SendRaw(IEnumerable<Message<string, byte[]>> messages)
    {
        using var producer = KafkaClients.CreateProducer(kafka, "test-camera", PipelineTopic.Frames);
        foreach (var message in messages) producer.Produce(topics.Frames, message);
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Waits until the actor has no frame whose outcome Kafka has not acknowledged (so its metrics are final).</summary>
    private async Task AwaitNoFrameInFlight()
    {
        var deadline = DateTime.UtcNow + Patience;
        while ((await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience)).FramesInFlight > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"frames were still in flight after {Patience.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    private ScoreFrame ExpectScoreFrame(string? frameId = null)
    {
        var frame = scoring.ExpectMsg<ScoreFrame>(Patience);
        if (frameId is not null) Assert.Equal(frameId, frame.FrameId);
        return frame;
    }

    /// <summary>Scoring's answer, told to the actor as if from scoring.</summary>
    private void Answer(object answer) => ingest.Tell(answer, scoring.Ref);

    /// <summary>Tells scoring's answer and returns once the actor has handled it (and told scoring whatever it tells).</summary>
    private async Task AnswerAndAwaitHandled(object answer)
    {
        Answer(answer);
        await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience);
    }

    /// <summary>
    /// Moves the actor's clock and returns once the actor has handled what its timers told it then: the fake clock
    /// runs the timers within <c>Advance</c>, so their messages are in the mailbox before the status question.
    /// </summary>
    private async Task AdvanceAndAwaitHandled(FakeTimeProvider clock, TimeSpan by)
    {
        clock.Advance(by);
        await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, Patience);
    }

    private static FrameScored Scored(ScoreFrame frame, double score) => new(
        frame.FrameId, frame.CameraId, score, Threshold: 0.5, ModelVersion: "v1", frame.CapturedAt, frame.IngestedAt,
        ScoredAt: DateTimeOffset.UtcNow, BatchSize: 1, frame.Correlation, Product: frame.Product);

    private static ScoringFailed Failed(ScoreFrame frame, ScoringFailureKind kind) =>
        new(frame.FrameId, frame.CameraId, kind, $"{kind} in a test", frame.Correlation);
}

/// <summary>
/// Stands in for the scoring router: frames of camera-a go to scorer A, all others to scorer B, and each scorer answers
/// the requester itself (as a device's scorer does); the status question is answered here.
/// </summary>
internal sealed class TwoScorersRouter : ReceiveActor
{
    public TwoScorersRouter(IActorRef scorerA, IActorRef scorerB, ScoringNodeStatus status)
    {
        Receive<ScoreFrame>(frame => (frame.CameraId == "camera-a" ? scorerA : scorerB).Forward(frame));
        Receive<GetScoringStatus>(_ => Sender.Tell(status));
    }
}

/// <summary>Answers every message with the message itself.</summary>
internal sealed class EchoActor : ReceiveActor
{
    public EchoActor() => ReceiveAny(message => Sender.Tell(message));
}
