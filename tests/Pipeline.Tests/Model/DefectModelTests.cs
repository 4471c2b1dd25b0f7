using Pipeline.Shared.Model;
using Pipeline.Simulation;
using Pipeline.Tests.Support;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

public sealed class DefectModelTests : IDisposable
{
    private readonly PretrainedBackbone backbone = PretrainedBackbone.Load(CPU);

    private ModelArtifact ArtifactWithFlow(FlowConfig manifestFlow, FlowConfig weightsFlow, string? backboneSha = null) =>
        TinyArtifacts.Create("t", backboneSha ?? backbone.Sha256, seed: 2, manifestFlow, weightsFlow);

    private static FlowConfig Small(int hidden) => TinyArtifacts.Flow(hidden);

    [Fact]
    public void Weights_that_do_not_fit_the_manifest_are_refused()
    {
        var artifact = ArtifactWithFlow(manifestFlow: Small(16), weightsFlow: Small(8));
        var error = Assert.Throws<ModelArtifactException>(() => DefectModel.Load(artifact, backbone));
        Assert.Contains("do not fit", error.Message);
    }

    [Fact]
    public void A_model_made_for_another_backbone_is_refused()
    {
        var artifact = ArtifactWithFlow(Small(8), Small(8), backboneSha: new string('0', 64));
        var error = Assert.Throws<ModelArtifactException>(() => DefectModel.Load(artifact, backbone));
        Assert.Contains("backbone", error.Message);
    }

    [Fact]
    public void Scoring_images_directly_equals_scoring_their_cached_features()
    {
        using var model = DefectModel.Load(ArtifactWithFlow(Small(8), Small(8)), backbone);
        var parts = new SyntheticParts(80);
        var rng = new Random(4);
        var decoded = new[] { parts.Good(rng), parts.Defective(rng, DefectKind.Hole) };
        var prepared = decoded.Select(model.Features.Prepare).ToArray();

        var direct = model.Score(prepared);
        var viaFeatures = model.ScoreFeatures(prepared.Select(image =>
        {
            using var features = model.Features.Extract(image, model.TestViews);
            return features.data<float>().ToArray();
        }).ToArray());

        Assert.Equal(2, direct.Length);
        Assert.Equal(direct[0], viaFeatures[0], 5);
        Assert.Equal(direct[1], viaFeatures[1], 5);
        Assert.All(direct, score => Assert.True(double.IsFinite(score) && score > 0));
    }

    public void Dispose() => backbone.Dispose();
}
