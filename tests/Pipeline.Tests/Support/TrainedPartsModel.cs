using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using Pipeline.Simulation;
using Pipeline.Training;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Support;

/// <summary>
/// A real model trained once on generated good parts (128 px, 8 views, a flow of 4 blocks of width 128, as the demo
/// trains), for tests that need a model that has learned what a good part looks like: anomaly maps, pixel evaluation.
/// </summary>
public sealed class TrainedPartsModelFixture : IDisposable
{
    public const int ImageSize = 128;

    private readonly TempFolder folder = new();

    public TrainedPartsModelFixture()
    {
        Backbone = PretrainedBackbone.Load(CPU);
        var data = Path.Combine(folder.Path, "parts");
        SyntheticParts.WriteMvtecFolder(data, trainGood: 40, testGood: 0, testPerDefect: 0, ImageSize, seed: 11);
        var options = TrainingOptions.Cpu with
        {
            ImageSize = ImageSize, TrainViews = 8, TestViews = 8, Epochs = 25, HiddenWidth = 128, CouplingBlocks = 4,
            CalibrationFraction = 0.2,
        };
        Artifact = ModelTraining.TrainOnFolder(data, options, Backbone, cache: null, SilentProgress.Instance, "parts").Artifact;
        Model = DefectModel.Load(Artifact, Backbone);
    }

    public PretrainedBackbone Backbone { get; }
    public ModelArtifact Artifact { get; }
    public DefectModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        Backbone.Dispose();
        folder.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class TrainedPartsModelCollection : ICollectionFixture<TrainedPartsModelFixture>
{
    public const string Name = "A model trained on generated parts";
}
