using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using Pipeline.Tests.Scoring;
using Pipeline.Tests.Support;
using Pipeline.Training;
using Xunit;

namespace Pipeline.Tests.Model;

/// <summary>
/// Frames of three products (three tiny real models on one CPU backbone, one of them with fewer test views) scored in
/// one backbone pass: every frame scores as it does alone with its own product's model.
/// </summary>
[Collection(TinyDefectModelsCollection.Name)]
public sealed class SharedBackbonePassTests(TinyDefectModelsFixture fixture) : IDisposable
{
    private readonly DefectModel a = DefectModel.Load(fixture.A, fixture.Backbone);
    private readonly DefectModel b = DefectModel.Load(fixture.B, fixture.Backbone);
    // Two test views instead of four: the rows of a frame in the shared features are not at a fixed stride.
    private readonly DefectModel c = DefectModel.Load(
        ModelTraining.UntrainedArtifact("C", TinyArtifacts.Flow(), fixture.Backbone.Sha256, TinyArtifacts.ImageSize, testViews: 2, seed: 7, threshold: 1), fixture.Backbone);

    /// <summary>Products interleaved, each product's frames not adjacent, every frame of the fixture under more than one model.</summary>
    private (DefectModel Model, RgbImage Prepared)[] MixedBatch()
    {
        var models = new[] { a, c, b, a, c, b, b, a, c };
        return models.Select((model, i) => (model, fixture.Frames[i % fixture.Frames.Count])).ToArray();
    }

    /// <param name="maxViewsPerPass">The backbone in one pass; in passes of 6 views (frames of 4 and 2 views share one,
    /// two of 4 do not); in passes of 3, fewer than some frames' views (those go alone).</param>
    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(6)]
    [InlineData(3)]
    public void A_mixed_batch_gives_every_frame_the_score_it_gets_alone_with_its_products_model(int maxViewsPerPass)
    {
        var batch = MixedBatch();

        var together = SharedBackbonePass.Score(batch, maxViewsPerPass);

        Assert.Equal(batch.Length, together.Length);
        for (var i = 0; i < batch.Length; i++)
        {
            var alone = batch[i].Model.Score([batch[i].Prepared])[0];
            Assert.True(Math.Abs(alone - together[i]) <= 1e-4 * Math.Max(1, Math.Abs(alone)),
                $"frame {i} (model {batch[i].Model.Manifest.ModelVersion}): {together[i]} in the mixed batch, {alone} alone");
        }
        // The models do score apart, so a frame scored by another product's flow would show.
        Assert.True(Math.Abs(a.Score([fixture.Frames[1]])[0] - c.Score([fixture.Frames[1]])[0]) > 1e-3);
        Assert.True(Math.Abs(a.Score([fixture.Frames[1]])[0] - b.Score([fixture.Frames[1]])[0]) > 1e-3);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(6)]
    public void A_mixed_batch_gives_every_frame_the_features_of_its_own_models_views_as_alone(int maxViewsPerPass)
    {
        var batch = MixedBatch();

        var (scores, features) = SharedBackbonePass.ScoreWithFeatures(batch, maxViewsPerPass);

        Assert.Equal(SharedBackbonePass.Score(batch, maxViewsPerPass), scores);
        for (var i = 0; i < batch.Length; i++)
        {
            var (_, alone) = batch[i].Model.ScoreWithFeatures([batch[i].Prepared]);
            Assert.Equal(batch[i].Model.TestViews.Count * FeaturePyramid.FeatureSize, features[i].Length);
            Assert.Equal(alone[0].Length, features[i].Length);
            var largest = alone[0].Zip(features[i], (x, y) => Math.Abs(x - y)).Max();
            Assert.True(largest <= 1e-5f * Math.Max(1, alone[0].Max(Math.Abs)), $"frame {i}: features differ by up to {largest} from the frame's alone");
        }
    }

    [Fact]
    public void Frames_of_models_of_another_size_are_refused_with_both_sizes_named()
    {
        using var larger = DefectModel.Load(
            ModelTraining.UntrainedArtifact("L", TinyArtifacts.Flow(), fixture.Backbone.Sha256, imageSize: 96, testViews: 2, seed: 8, threshold: 1), fixture.Backbone);

        var error = Assert.Throws<ArgumentException>(() => SharedBackbonePass.Score([(a, fixture.Frames[0]), (larger, FramePreparation.Prepare(fixture.Frames[0], 96))]));
        Assert.Contains("96", error.Message);
        Assert.Contains("64", error.Message);
    }

    [Fact]
    public void An_empty_batch_scores_nothing() => Assert.Empty(SharedBackbonePass.Score([]));

    public void Dispose()
    {
        a.Dispose();
        b.Dispose();
        c.Dispose();
    }
}
