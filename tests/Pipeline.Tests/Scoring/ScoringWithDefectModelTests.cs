using Akka.TestKit;
using Pipeline.Scoring;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using Pipeline.Shared.Scoring;
using Pipeline.Simulation;
using Pipeline.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Scoring;

/// <summary>Two tiny real models (64×64 images, 4 test views, hidden width 8) on the CPU backbone, loaded once.</summary>
public sealed class TinyDefectModelsFixture : IDisposable
{
    public TinyDefectModelsFixture()
    {
        Backbone = PretrainedBackbone.Load(CPU);
        A = Artifact("A", seed: 2);
        B = Artifact("B", seed: 3);
        var parts = new SyntheticParts(80);
        var rng = new Random(5);
        Frames = Enumerable.Range(0, 4)
            .Select(i => FramePreparation.Prepare(i == 0 ? parts.Defective(rng, DefectKind.Scratch) : parts.Good(rng), TinyArtifacts.ImageSize))
            .ToArray();
    }

    public PretrainedBackbone Backbone { get; }
    public ModelArtifact A { get; }
    public ModelArtifact B { get; }
    public IReadOnlyList<RgbImage> Frames { get; }

    /// <summary>Each frame's score from <see cref="DefectModel.Score"/> of that frame alone.</summary>
    public double[] ScoresAlone(ModelArtifact artifact)
    {
        using var model = DefectModel.Load(artifact, Backbone);
        return Frames.Select(frame => model.Score([frame])[0]).ToArray();
    }

    private ModelArtifact Artifact(string version, int seed) =>
        TinyArtifacts.Create(version, Backbone.Sha256, seed, TinyArtifacts.Flow());

    public void Dispose() => Backbone.Dispose();
}

[CollectionDefinition(Name)]
public sealed class TinyDefectModelsCollection : ICollectionFixture<TinyDefectModelsFixture>
{
    public const string Name = "Tiny defect models";
}

/// <summary>The device scorer with the product's model: batching and swapping never change what a frame scores.</summary>
[Collection(TinyDefectModelsCollection.Name)]
public sealed class ScoringWithDefectModelTests(TinyDefectModelsFixture models) : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly ScoringMetrics metrics = new();

    private ScoreFrame Frame(int index) =>
        new($"f{index}", "camera-1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, models.Frames[index % models.Frames.Count], index);

    private static void AssertScore(double expected, double actual, string frameId) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Max(1, Math.Abs(expected)),
            $"frame {frameId}: scored {actual} in a batch, {expected} alone");

    [Fact]
    public void Frames_sent_at_once_are_scored_together_each_once_and_as_each_scores_alone()
    {
        var alone = models.ScoresAlone(models.A);
        using var recorded = new MetricsRecorder(metrics.Meter);
        // 8 frames × 4 views fill a batch; the long wait only guards against a stalled test.
        var options = new ScoringOptions { MaxBatchViews = 32, MaxWaitMilliseconds = 10_000 };
        var scorer = Sys.ActorOf(DeviceScoringActor.Props("cpu", options, DefectScoringModel.Loader(() => models.Backbone), metrics, models.A));
        var requester = CreateTestProbe();

        for (var i = 0; i < 8; i++) scorer.Tell(Frame(i), requester);

        var answers = requester.ReceiveN(8, Patience).Cast<FrameScored>().ToArray();
        // Nothing queued or running any more, and the status is the next message: no frame is answered twice.
        scorer.Tell(GetScoringStatus.Instance, requester);
        Assert.Equal(new ScoringStatus(true, "A", TinyArtifacts.ImageSize, 0, 0, "cpu"), requester.ExpectMsg<ScoringStatus>(Patience));
        Assert.Equal(Enumerable.Range(0, 8), answers.Select(answer => (int)answer.Correlation!).Order());
        foreach (var answer in answers)
            AssertScore(alone[(int)answer.Correlation! % models.Frames.Count], answer.Score, answer.FrameId);
        Assert.All(answers, answer => Assert.Equal(8, answer.BatchSize));
        Assert.Equal([8.0], recorded.Of("batch_size").Select(m => m.Value));
    }

    [Fact]
    public void A_model_swap_happens_between_batches_and_every_answer_names_the_model_that_scored_it()
    {
        var expected = new Dictionary<string, double[]> { ["A"] = models.ScoresAlone(models.A), ["B"] = models.ScoresAlone(models.B) };
        Assert.All(expected["A"].Zip(expected["B"]), pair => Assert.True(Math.Abs(pair.First - pair.Second) > 1e-3, "models A and B must score apart"));
        var options = new ScoringOptions { MaxBatchViews = 64, MaxWaitMilliseconds = 0 };
        var scorer = Sys.ActorOf(DeviceScoringActor.Props("cpu", options, DefectScoringModel.Loader(() => models.Backbone), metrics));
        var requester = CreateTestProbe();
        scorer.Tell(new LoadModel(models.A), requester);
        requester.ExpectMsg<ModelSwapped>(swapped => swapped.ModelVersion == "A", Patience);

        for (var i = 0; i < 6; i++) scorer.Tell(Frame(i), requester);
        scorer.Tell(new LoadModel(models.B), requester);
        for (var i = 6; i < 12; i++) scorer.Tell(Frame(i), requester);
        var answers = requester.ReceiveN(13, Patience).ToArray();
        Assert.Equal(new ModelSwapped("cpu", "B", "A"), Assert.Single(answers.OfType<ModelSwapped>()));
        for (var i = 12; i < 14; i++) scorer.Tell(Frame(i), requester);
        var scored = answers.OfType<FrameScored>().Concat(requester.ReceiveN(2, Patience).Cast<FrameScored>()).ToArray();

        foreach (var answer in scored)
            AssertScore(expected[answer.ModelVersion][(int)answer.Correlation! % models.Frames.Count], answer.Score, answer.FrameId);
        var versions = scored.Select(answer => answer.ModelVersion).ToArray();
        Assert.Equal("A", versions[0]);
        Assert.Equal(["B", "B"], versions[^2..]);
        Assert.Equal(versions.Order(StringComparer.Ordinal), versions); // A…A then B…B: never back
        Assert.All(scored.GroupBy(answer => answer.ScoredAt), batch => Assert.Single(batch.Select(answer => answer.ModelVersion).Distinct()));

        scorer.Tell(GetScoringStatus.Instance, requester);
        Assert.Equal(new ScoringStatus(true, "B", TinyArtifacts.ImageSize, 0, 0, "cpu"), requester.ExpectMsg<ScoringStatus>());
    }

    [Fact]
    public void Frames_of_two_products_in_one_batch_score_as_each_scores_alone_with_its_products_model()
    {
        var alone = new Dictionary<string, double[]> { ["a"] = models.ScoresAlone(models.A), ["b"] = models.ScoresAlone(models.B) };
        // 8 frames × 4 views fill a batch; the long wait only guards against a stalled test.
        var options = new ScoringOptions { MaxBatchViews = 32, MaxWaitMilliseconds = 10_000 };
        var scorer = Sys.ActorOf(DeviceScoringActor.Props("cpu", options, DefectScoringModel.Loader(() => models.Backbone), metrics));
        var requester = CreateTestProbe();
        scorer.Tell(new LoadModel(models.A, "a"), requester);
        scorer.Tell(new LoadModel(models.B, "b"), requester);
        requester.ReceiveN(2, Patience).Cast<ModelSwapped>();

        for (var i = 0; i < 8; i++) scorer.Tell(Frame(i) with { Product = i % 3 == 0 ? "b" : "a" }, requester);

        var answers = requester.ReceiveN(8, Patience).Cast<FrameScored>().ToArray();
        Assert.All(answers, answer => Assert.Equal(8, answer.BatchSize));
        Assert.Equal(["a", "b"], answers.Select(answer => answer.Product).Distinct().Order());
        foreach (var answer in answers)
        {
            Assert.Equal(answer.Product == "a" ? "A" : "B", answer.ModelVersion);
            var expected = alone[answer.Product][(int)answer.Correlation! % models.Frames.Count];
            Assert.True(Math.Abs(expected - answer.Score) <= 1e-4 * Math.Max(1, Math.Abs(expected)),
                $"frame {answer.FrameId} of product {answer.Product}: scored {answer.Score} in a mixed batch, {expected} alone with its product's model");
        }
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        metrics.Dispose();
    }
}
