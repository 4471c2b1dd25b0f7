using Akka.Actor;
using Akka.TestKit;
using Pipeline.Scoring;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;
using Xunit;

namespace Pipeline.Tests.Scoring;

/// <summary>
/// One device scorer serving several products' models (stand-in models, see <see cref="FakeScoringModel"/>): each
/// model adds its own offset to the scores, so an answer shows which model scored it.
/// </summary>
public sealed class DeviceScoringActorProductTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Each version's offset and image size: versions of product a (a1, a2), b (b1), and a large one.</summary>
    private static readonly Dictionary<string, (double Offset, int Size)> Versions = new()
    {
        ["a1"] = (0.001, FakeScoringModel.Size),
        ["a2"] = (0.002, FakeScoringModel.Size),
        ["b1"] = (0.003, FakeScoringModel.Size),
        ["large1"] = (0.004, 16),
    };

    private readonly ScoringMetrics metrics = new();
    private readonly TestProbe requester;
    private readonly ManualClock clock = new();

    public DeviceScoringActorProductTests() => requester = CreateTestProbe();

    private static IScoringModel Load(ModelArtifact artifact)
    {
        var version = artifact.Manifest.ModelVersion;
        return new FakeScoringModel(version, Versions[version].Size) { Offset = Versions[version].Offset };
    }

    private IActorRef Scorer(ScoringOptions options, IActorRef? featureSink = null, TimeProvider? time = null) =>
        Sys.ActorOf(DeviceScoringActor.Props("cuda:0", options, Load, metrics, clock: time, featureSink: featureSink));

    private void Serve(IActorRef scorer, string product, string version)
    {
        scorer.Tell(new LoadModel(FakeScoringModel.Artifact(version), product), requester);
        requester.ExpectMsg<ModelSwapped>(swapped => swapped.Product == product && swapped.ModelVersion == version, Patience);
    }

    private static ScoreFrame Frame(string id, string product, byte value = 10, int size = FakeScoringModel.Size) =>
        new(id, "camera-1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, FakeScoringModel.Frame(value, size), Correlation: id, Product: product);

    private static void AssertScoredBy(FrameScored answer, byte value = 10) =>
        Assert.Equal(value / 100.0 + Versions[answer.ModelVersion].Offset, answer.Score, 12);

    [Fact]
    public void Frames_of_two_products_share_a_batch_and_each_is_scored_by_its_products_model()
    {
        using var recorded = new MetricsRecorder(metrics.Meter);
        // MaxBatchViews counts per product: 2 frames of 2 views of each product fill a batch of 8 views.
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 4, MaxWaitMilliseconds = 10_000 }, time: clock);
        Serve(scorer, "a", "a1");
        Serve(scorer, "b", "b1");

        foreach (var (id, product) in new[] { ("f1", "a"), ("f2", "b"), ("f3", "b"), ("f4", "a") }) scorer.Tell(Frame(id, product), requester);

        var answers = requester.ReceiveN(4, Patience).Cast<FrameScored>().ToArray();
        Assert.Equal([("f1", "a", "a1"), ("f2", "b", "b1"), ("f3", "b", "b1"), ("f4", "a", "a1")],
            answers.Select(answer => (answer.FrameId, answer.Product, answer.ModelVersion)));
        Assert.All(answers, answer => AssertScoredBy(answer));
        Assert.All(answers, answer => Assert.Equal(4, answer.BatchSize));
        Assert.Single(answers.Select(answer => answer.ScoredAt).Distinct());
        Assert.Equal([4.0], recorded.Of("batch_size").Select(m => m.Value));
        var scoredPerProduct = recorded.Of("frames_scored")
            .Select(m => ((string)m.Tags["product"]!, (string)m.Tags["model.version"]!, m.Value)).Order().ToArray();
        Assert.Equal([("a", "a1", 2.0), ("b", "b1", 2.0)], scoredPerProduct);

        scorer.Tell(GetScoringStatus.Instance, requester);
        var status = requester.ExpectMsg<ScoringStatus>();
        Assert.Equal([new ServedModel("a", "a1", FakeScoringModel.Size), new ServedModel("b", "b1", FakeScoringModel.Size)], status.ServedModels);
        Assert.Equal((true, "a1"), (status.ModelLoaded, status.ModelVersion)); // no default product's model: the first served
    }

    [Fact]
    public void A_frame_of_a_product_without_a_model_is_answered_no_model_for_product_and_the_others_are_scored()
    {
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 8, MaxWaitMilliseconds = 0 });
        Serve(scorer, ProductName.Default, "a1");

        scorer.Tell(Frame("unknown", "bracket-b"), requester);
        scorer.Tell(Frame("known", ProductName.Default), requester);

        var failed = requester.ExpectMsg<ScoringFailed>(Patience);
        Assert.Equal(("unknown", ScoringFailureKind.NoModelForProduct, "unknown"), (failed.FrameId, failed.Kind, failed.Correlation));
        Assert.Contains("'bracket-b'", failed.Reason);
        var scored = requester.ExpectMsg<FrameScored>(Patience);
        Assert.Equal(("known", ProductName.Default, "a1"), (scored.FrameId, scored.Product, scored.ModelVersion));
    }

    [Fact]
    public void A_batch_holds_frames_of_one_size_and_the_other_sizes_wait_for_a_batch_of_their_own()
    {
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 8, MaxWaitMilliseconds = 10_000 });
        Serve(scorer, "a", "a1");
        Serve(scorer, "large", "large1");

        // 4 small frames fill a batch; the large ones between them do not go in it.
        foreach (var (id, product) in new[] { ("s1", "a"), ("l1", "large"), ("s2", "a"), ("l2", "large"), ("s3", "a"), ("s4", "a") })
            scorer.Tell(Frame(id, product, size: product == "large" ? 16 : FakeScoringModel.Size), requester);

        var answers = requester.ReceiveN(6, Patience).Cast<FrameScored>().ToArray();
        Assert.Equal(["s1", "s2", "s3", "s4", "l1", "l2"], answers.Select(answer => answer.FrameId));
        Assert.Equal([4, 4, 4, 4, 2, 2], answers.Select(answer => answer.BatchSize));
        Assert.Equal(["a1", "a1", "a1", "a1", "large1", "large1"], answers.Select(answer => answer.ModelVersion));
    }

    [Fact]
    public void The_oldest_waiting_frame_decides_the_size_of_the_next_batch()
    {
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 8, MaxWaitMilliseconds = 10_000 }, time: clock);
        Serve(scorer, "a", "a1");
        Serve(scorer, "large", "large1");

        scorer.Tell(Frame("l1", "large", size: 16), requester);
        foreach (var id in new[] { "s1", "s2", "s3", "s4" }) scorer.Tell(Frame(id, "a"), requester);
        // A full batch of small frames waits: the oldest frame is large, and its batch is not full nor due.
        scorer.Tell(GetScoringStatus.Instance, requester);
        Assert.Equal(5, requester.ExpectMsg<ScoringStatus>(Patience).Queued);

        clock.Advance(TimeSpan.FromSeconds(10));
        scorer.Tell(Frame("s5", "a"), requester);

        var answers = requester.ReceiveN(6, Patience).Cast<FrameScored>().ToArray();
        Assert.Equal(["l1", "s1", "s2", "s3", "s4", "s5"], answers.Select(answer => answer.FrameId));
        Assert.Equal([1, 4, 4, 4, 4, 1], answers.Select(answer => answer.BatchSize));
    }

    [Fact]
    public void A_frame_of_the_wrong_size_for_its_products_model_fails_as_invalid_and_the_rest_of_its_batch_is_scored()
    {
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 8, MaxWaitMilliseconds = 0 });
        Serve(scorer, "a", "a1");
        Serve(scorer, "large", "large1");

        scorer.Tell(Frame("small-for-large", "large", size: FakeScoringModel.Size), requester);
        scorer.Tell(Frame("fine", "a"), requester);

        var answers = requester.ReceiveN(2, Patience);
        var invalid = Assert.Single(answers.OfType<ScoringFailed>());
        Assert.Equal(("small-for-large", ScoringFailureKind.InvalidFrame), (invalid.FrameId, invalid.Kind));
        Assert.Contains("16×16", invalid.Reason);
        Assert.Equal("fine", Assert.Single(answers.OfType<FrameScored>()).FrameId);
    }

    [Fact]
    public void A_swap_of_one_products_model_under_load_switches_its_version_once_and_never_touches_the_other_products()
    {
        const int framesPerProduct = 150;
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 8, MaxWaitMilliseconds = 0, MaxQueuedFrames = 4 * framesPerProduct });
        Serve(scorer, "a", "a1");
        Serve(scorer, "b", "b1");

        for (var i = 0; i < framesPerProduct; i++)
        {
            if (i == framesPerProduct / 2) scorer.Tell(new LoadModel(FakeScoringModel.Artifact("a2"), "a"), requester);
            scorer.Tell(Frame($"a-{i}", "a", (byte)(i % 200)), requester);
            scorer.Tell(Frame($"b-{i}", "b", (byte)(i % 200)), requester);
        }

        var answers = requester.ReceiveN(2 * framesPerProduct + 1, Patience);
        Assert.Equal(new ModelSwapped("cuda:0", "a2", "a1", "a"), Assert.Single(answers.OfType<ModelSwapped>()));
        var scored = answers.OfType<FrameScored>().ToArray();
        // Every frame answered once, by the version its answer names.
        Assert.Equal(2 * framesPerProduct, scored.Select(answer => answer.FrameId).Distinct().Count());
        Assert.All(scored, answer => AssertScoredBy(answer, (byte)(int.Parse(answer.FrameId[2..]) % 200)));
        Assert.All(scored, answer => Assert.Equal(answer.FrameId[..1], answer.Product));
        // Product a: a1 … a1 then a2 … a2, in answer order; product b: b1 throughout.
        var aVersions = scored.Where(answer => answer.Product == "a").Select(answer => answer.ModelVersion).ToArray();
        Assert.Equal("a1", aVersions[0]);
        Assert.Equal("a2", aVersions[^1]);
        Assert.Equal(aVersions.Order(StringComparer.Ordinal), aVersions);
        Assert.All(scored.Where(answer => answer.Product == "b"), answer => Assert.Equal("b1", answer.ModelVersion));
        // Both products were scored throughout: b's frames were not held while a's model changed.
        var firstA2 = Array.FindIndex(scored, answer => answer.ModelVersion == "a2");
        Assert.Contains(scored[..firstA2], answer => answer.Product == "b");
        Assert.Contains(scored[firstA2..], answer => answer.Product == "b");
    }

    [Fact]
    public void A_scored_frames_features_go_to_the_collector_with_its_product()
    {
        var collector = CreateTestProbe();
        var scorer = Scorer(new ScoringOptions { MaxBatchViews = 8, MaxWaitMilliseconds = 0 }, featureSink: collector);
        Serve(scorer, "b", "b1");

        scorer.Tell(Frame("good", "b", 20) with { Label = FrameLabel.Good }, requester);

        Assert.Equal("good", requester.ExpectMsg<FrameScored>(Patience).FrameId);
        var collected = collector.ExpectMsg<FrameFeatures>(Patience);
        Assert.Equal(("good", "b", 20f), (collected.FrameId, collected.Product, collected.Features[0]));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        metrics.Dispose();
    }
}
