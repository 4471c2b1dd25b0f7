using Pipeline.Shared.Model;
using Pipeline.Training;

namespace Pipeline.Tests.Support;

/// <summary>Small real model artifacts for tests: 64×64 images, 4 test views, a randomly initialised flow.</summary>
public static class TinyArtifacts
{
    public const int ImageSize = 64;
    public const int TestViews = 4;

    /// <summary>A flow of 2 coupling blocks of the given hidden width over the pyramid's 768 features.</summary>
    public static FlowConfig Flow(int hiddenWidth = 8) =>
        new() { FeatureSize = FeaturePyramid.FeatureSize, CouplingBlocks = 2, HiddenWidth = hiddenWidth };

    /// <summary>
    /// An artifact whose manifest says <paramref name="manifestFlow"/> and whose weights come from a flow built with
    /// <paramref name="weightsFlow"/> (the same unless a test wants a mismatch), initialised from <paramref name="seed"/>, flagging scores above <paramref name="threshold"/>.
    /// </summary>
    public static ModelArtifact Create(string version, string backboneSha256, int seed, FlowConfig manifestFlow, FlowConfig? weightsFlow = null, double threshold = 1)
    {
        var untrained = ModelTraining.UntrainedArtifact(version, weightsFlow ?? manifestFlow, backboneSha256, ImageSize, TestViews, seed, threshold);
        return ModelArtifact.Create(untrained.Manifest with { CreatedAt = DateTimeOffset.UnixEpoch, Flow = manifestFlow, FalseAlarmRate = 0.05 }, untrained.ReadWeights());
    }
}
