using Akka.Actor;
using Akka.TestKit;
using Pipeline.Scoring;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Scoring;
using Xunit;

namespace Pipeline.Tests.Scoring;

/// <summary>The device scorer's protocol, with a stand-in model (see <see cref="FakeScoringModel"/>).</summary>
public sealed class DeviceScoringActorTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly ScoringMetrics metrics = new();
    private readonly TestProbe requester;
    private readonly List<FakeScoringModel> loaded = [];

    public DeviceScoringActorTests() => requester = CreateTestProbe();

    // The fake model weighs 2 views per frame: 8 views make batches of up to 4 frames.
    private static ScoringOptions Options(int maxWaitMilliseconds = 100, int maxQueuedFrames = 64, int maxBatchViews = 8) =>
        new() { MaxBatchViews = maxBatchViews, MaxWaitMilliseconds = maxWaitMilliseconds, MaxQueuedFrames = maxQueuedFrames };

    private IActorRef Scorer(ScoringOptions options) =>
        Sys.ActorOf(DeviceScoringActor.Props("cuda:0", options, Load, metrics));

    private IScoringModel Load(ModelArtifact artifact)
    {
        var model = FakeScoringModel.Load(artifact);
        lock (loaded) loaded.Add((FakeScoringModel)model);
        return model;
    }

    private IActorRef ScorerWithModel(ScoringOptions options, string version = "A")
    {
        var scorer = Scorer(options);
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact(version)), requester);
        requester.ExpectMsg<ModelSwapped>(swapped => swapped.ModelVersion == version);
        return scorer;
    }

    private static ScoreFrame Frame(string id, byte value, int size = FakeScoringModel.Size) =>
        new(id, "camera-1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(1), FakeScoringModel.Frame(value, size), Correlation: $"offset of {id}");

    [Fact]
    public void A_frame_is_answered_with_its_score_verdict_model_version_and_correlation()
    {
        var scorer = ScorerWithModel(Options(maxWaitMilliseconds: 0));
        scorer.Tell(Frame("f1", 150), requester);

        var scored = requester.ExpectMsg<FrameScored>();
        Assert.Equal(("f1", "camera-1", 1.5, 1.0, true, "A", "offset of f1"),
            (scored.FrameId, scored.CameraId, scored.Score, scored.Threshold, scored.IsAnomalous, scored.ModelVersion, scored.Correlation));
        Assert.Equal((DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(1)), (scored.CapturedAt, scored.IngestedAt));
        Assert.True(scored.ScoredAt > scored.IngestedAt);
        // Answered once: the next answer the requester gets is the next frame's.
        scorer.Tell(Frame("f2", 20), requester);
        Assert.Equal("f2", requester.ExpectMsg<FrameScored>().FrameId);
    }

    [Fact]
    public void A_batch_the_model_fails_on_fails_each_of_its_frames_and_scoring_goes_on()
    {
        var scorer = ScorerWithModel(Options(maxWaitMilliseconds: 10_000, maxBatchViews: 6)); // 3 frames fill a batch

        EventFilter.Error(contains: "failed on cuda:0 scoring a batch of 3 frames").ExpectOne(() =>
        {
            scorer.Tell(Frame("f1", 10), requester);
            scorer.Tell(Frame("f2", FakeScoringModel.Poison), requester);
            scorer.Tell(Frame("f3", 30), requester);
            var failed = requester.ReceiveN(3).Cast<ScoringFailed>().ToArray();
            Assert.Equal(["f1", "f2", "f3"], failed.Select(f => f.FrameId));
            Assert.All(failed, f => Assert.Equal(ScoringFailureKind.ModelFailed, f.Kind));
            Assert.All(failed, f => Assert.Contains("out of memory", f.Reason));
            Assert.Equal("offset of f2", failed[1].Correlation);
        });

        for (var i = 4; i <= 6; i++) scorer.Tell(Frame($"f{i}", (byte)(10 * i)), requester);
        Assert.Equal([0.4, 0.5, 0.6], requester.ReceiveN(3).Cast<FrameScored>().Select(f => f.Score));
    }

    [Fact]
    public void Frames_scored_while_the_map_queue_is_full_are_answered_at_once_without_a_map()
    {
        var options = Options(maxWaitMilliseconds: 10_000, maxBatchViews: 6); // 3 frames fill a batch
        options.MaxQueuedMaps = 1;
        var scorer = ScorerWithModel(options);
        var model = loaded.Single();
        model.MapGate.Reset(); // the first map is held on the device

        foreach (var id in new[] { "f1", "f2", "f3" }) scorer.Tell(Frame(id, 200), requester); // all anomalous (score 2 > 1)

        // f1 waits for its map; the queue (1) is then full, so f2 and f3 are answered now, without one.
        var unmapped = requester.ReceiveN(2).Cast<FrameScored>().ToArray();
        Assert.Equal(["f2", "f3"], unmapped.Select(f => f.FrameId));
        Assert.All(unmapped, f => Assert.Null(f.Map));

        model.MapGate.Set();
        var mapped = requester.ExpectMsg<FrameScored>();
        Assert.Equal("f1", mapped.FrameId);
        Assert.NotNull(mapped.Map);
        Assert.NotEmpty(mapped.Map!.Regions);
    }

    [Fact]
    public void A_strongly_anomalous_frames_region_is_where_its_map_peaks_not_the_whole_frame_above_a_low_calibrated_level()
    {
        var scorer = ScorerWithModel(Options(maxWaitMilliseconds: 0));
        var model = loaded.Single();
        (model.MapBackground, model.MapRegionLevel) = (0.3f, 0.1); // the whole map is above the calibrated level

        scorer.Tell(Frame("hole", 200), requester);

        var region = Assert.Single(requester.ExpectMsg<FrameScored>().Map!.Regions);
        Assert.Equal((4, 4, 1, 1), (region.X, region.Y, region.Width, region.Height)); // the hot pixel of the 8×8 frame
    }

    [Fact]
    public void A_frame_of_the_wrong_size_fails_alone_as_invalid()
    {
        var scorer = ScorerWithModel(Options());
        scorer.Tell(Frame("small", 10), requester);
        scorer.Tell(Frame("large", 20, size: 16), requester);

        var answers = requester.ReceiveN(2);
        var invalid = Assert.Single(answers.OfType<ScoringFailed>());
        Assert.Equal(("large", ScoringFailureKind.InvalidFrame), (invalid.FrameId, invalid.Kind));
        Assert.Contains("16×16", invalid.Reason);
        Assert.Equal("small", Assert.Single(answers.OfType<FrameScored>()).FrameId);
    }

    [Fact]
    public void Frames_wait_for_a_model_and_the_status_tells_when_the_scorer_is_ready()
    {
        var scorer = Scorer(Options(maxWaitMilliseconds: 0));
        scorer.Tell(Frame("f1", 10), requester);
        scorer.Tell(Frame("f2", 20), requester);
        scorer.Tell(GetScoringStatus.Instance, requester);
        Assert.Equal(new ScoringStatus(false, null, null, 2, 0, "cuda:0"), requester.ExpectMsg<ScoringStatus>());

        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("A")), requester);
        var answers = requester.ReceiveN(3).ToArray();
        Assert.Equal(new ModelSwapped("cuda:0", "A", null), answers[0]);
        Assert.Equal(["f1", "f2"], answers.OfType<FrameScored>().Select(f => f.FrameId));

        scorer.Tell(GetScoringStatus.Instance, requester);
        Assert.Equal(new ScoringStatus(true, "A", FakeScoringModel.Size, 0, 0, "cuda:0"), requester.ExpectMsg<ScoringStatus>());
    }

    [Fact]
    public void A_full_queue_answers_busy_and_says_when_it_has_room_again()
    {
        var scorer = Scorer(Options(maxWaitMilliseconds: 0, maxQueuedFrames: 2));
        scorer.Tell(Frame("f1", 10), requester);
        scorer.Tell(Frame("f2", 20), requester);
        scorer.Tell(Frame("f3", 30), requester);
        Assert.Equal(new ScoringBusy("f3", "camera-1", 2, 2, "offset of f3"), requester.ExpectMsg<ScoringBusy>());

        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("A")), requester);
        requester.ExpectMsg<ModelSwapped>();
        requester.ExpectMsg<ScoringAvailable>(available => available.FreeSlots == 2);
        Assert.Equal(["f1", "f2"], requester.ReceiveN(2).Cast<FrameScored>().Select(f => f.FrameId));
    }

    [Fact]
    public void A_model_that_cannot_be_loaded_is_refused_and_the_current_one_keeps_scoring()
    {
        var scorer = ScorerWithModel(Options(maxWaitMilliseconds: 0));
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("broken-B")), requester);
        var refused = requester.ExpectMsg<ModelLoadFailed>();
        Assert.Equal(("cuda:0", "broken-B"), (refused.Device, refused.ModelVersion));
        Assert.Contains("do not fit", refused.Reason);

        scorer.Tell(Frame("f1", 10), requester);
        Assert.Equal("A", requester.ExpectMsg<FrameScored>().ModelVersion);
    }

    [Fact]
    public void The_replaced_model_is_disposed_once_swapped_out_and_the_last_one_when_the_scorer_stops()
    {
        var scorer = ScorerWithModel(Options(maxWaitMilliseconds: 0));
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("B")), requester);
        requester.ExpectMsg<ModelSwapped>(swapped => swapped is { ModelVersion: "B", PreviousVersion: "A" });
        AwaitAssert(() => Assert.True(loaded[0].Disposed));
        Assert.False(loaded[1].Disposed);

        Watch(scorer);
        Sys.Stop(scorer);
        ExpectTerminated(scorer);
        AwaitAssert(() => Assert.True(loaded[1].Disposed));
    }

    [Fact]
    public void Without_a_use_for_unlabelled_features_only_labelled_frames_have_their_features_copied_and_collected()
    {
        var collector = CreateTestProbe();
        var scorer = Sys.ActorOf(DeviceScoringActor.Props("cuda:0", Options(maxWaitMilliseconds: 0), Load, metrics, featureSink: collector, unlabelledFeatures: false));
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("A")), requester);
        requester.ExpectMsg<ModelSwapped>();

        scorer.Tell(Frame("unlabelled", 10), requester);
        Assert.Equal("unlabelled", requester.ExpectMsg<FrameScored>().FrameId);
        scorer.Tell(Frame("good", 20) with { Label = FrameLabel.Good }, requester);
        Assert.Equal("good", requester.ExpectMsg<FrameScored>().FrameId);

        // The labelled frame's features are the first the collector gets: the unlabelled frame's were never told.
        var collected = collector.ExpectMsg<FrameFeatures>();
        Assert.Equal(("good", FrameLabel.Good, 20f), (collected.FrameId, collected.Label, collected.Features[0]));
        Assert.Equal(1, loaded.Single().BatchesWithFeatures); // the unlabelled frame's batch was scored without them
    }

    [Fact]
    public void A_collector_that_keeps_unlabelled_frames_gets_every_frames_features()
    {
        var collector = CreateTestProbe();
        var scorer = Sys.ActorOf(DeviceScoringActor.Props("cuda:0", Options(maxWaitMilliseconds: 0), Load, metrics, featureSink: collector));
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("A")), requester);
        requester.ExpectMsg<ModelSwapped>();

        scorer.Tell(Frame("unlabelled", 10), requester);

        var collected = collector.ExpectMsg<FrameFeatures>();
        Assert.Equal(("unlabelled", (FrameLabel?)null), (collected.FrameId, collected.Label));
    }

    [Fact]
    public void The_device_goes_on_scoring_with_the_current_model_while_the_next_one_loads()
    {
        using var loadMayFinish = new ManualResetEventSlim();
        var scorer = Sys.ActorOf(DeviceScoringActor.Props("cuda:0", Options(maxWaitMilliseconds: 0), artifact =>
        {
            if (artifact.Manifest.ModelVersion == "B") loadMayFinish.Wait(TimeSpan.FromSeconds(30)); // a load that takes its time
            return Load(artifact);
        }, metrics));
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact("A")), requester);
        requester.ExpectMsg<ModelSwapped>(swapped => swapped.ModelVersion == "A");
        try
        {
            scorer.Tell(new LoadModel(FakeScoringModel.Artifact("B")), requester);
            scorer.Tell(Frame("while-loading", 10), requester);

            Assert.Equal("A", requester.ExpectMsg<FrameScored>().ModelVersion);
        }
        finally
        {
            loadMayFinish.Set();
        }
        requester.ExpectMsg<ModelSwapped>(swapped => swapped is { ModelVersion: "B", PreviousVersion: "A" });
        scorer.Tell(Frame("after", 20), requester);
        Assert.Equal("B", requester.ExpectMsg<FrameScored>().ModelVersion);
    }

    [Fact]
    public void A_stopping_scorer_answers_the_frames_it_holds_as_interrupted()
    {
        var scorer = Scorer(Options());
        scorer.Tell(Frame("f1", 10), requester);
        scorer.Tell(GetScoringStatus.Instance, requester);
        requester.ExpectMsg<ScoringStatus>(status => status.Queued == 1);

        Sys.Stop(scorer);
        var failed = requester.ExpectMsg<ScoringFailed>();
        Assert.Equal(("f1", ScoringFailureKind.Interrupted), (failed.FrameId, failed.Kind));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        metrics.Dispose();
    }
}
