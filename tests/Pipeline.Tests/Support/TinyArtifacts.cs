using Pipeline.Shared.Model;
using Pipeline.Training;
using static TorchSharp.torch;

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
        manual_seed(seed);
        using var flow = new CouplingFlow(weightsFlow ?? manifestFlow);
        return ModelArtifact.Create(new ModelManifest
        {
            ModelVersion = version,
            CreatedAt = DateTimeOffset.UnixEpoch,
            BackboneSha256 = backboneSha256,
            ImageSize = ImageSize,
            TestViews = TestViews,
            Rotations = true,
            Flow = manifestFlow,
            Threshold = threshold,
            FalseAlarmRate = 0.05,
        }, ModelTraining.WeightsOf(flow));
    }
}
