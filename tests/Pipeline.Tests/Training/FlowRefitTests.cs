using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Features;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using Pipeline.Simulation;
using Pipeline.Shared.Training;
using Pipeline.Tests.Support;
using Pipeline.Training;
using Pipeline.Training.Refit;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Tests.Training;

/// <summary>
/// A tiny serving model (64 px, 4 test views, 2 coupling blocks of width 32) trained on generated good parts, and
/// features of parts photographed brighter (a shifted good distribution), all computed once with the pretrained backbone.
/// </summary>
public sealed class RefitScenarioFixture : IDisposable
{
    /// <summary>Brighter camera: every pixel value × this (clamped to 255).</summary>
    public const double Brightening = 1.35;

    public RefitScenarioFixture()
    {
        Backbone = PretrainedBackbone.Load(CPU);
        Extractor = new ViewFeatureExtractor(Backbone, TinyArtifacts.ImageSize, cache: null);
        Views = InspectionViews.ForTesting(TinyArtifacts.TestViews, rotations: true);
        var parts = new SyntheticParts(TinyArtifacts.ImageSize);
        var rng = new Random(11);
        RgbImage[] Good(int count) => Enumerable.Range(0, count).Select(_ => parts.Good(rng)).ToArray();

        Serving = TrainServing(Features(Good(48)), Features(Good(16)));
        ShiftedGood = Samples("shifted", Good(40).Select(Brighter).ToArray(), FrameLabel.Good);
        FreshShiftedGood = Features(Good(40).Select(Brighter).ToArray());
        var kinds = Enum.GetValues<DefectKind>();
        ShiftedDefects = Samples("defect", Enumerable.Range(0, 6).Select(i => Brighter(parts.Defective(rng, kinds[i % kinds.Length]))).ToArray(), FrameLabel.Defect);
    }

    public PretrainedBackbone Backbone { get; }
    public ViewFeatureExtractor Extractor { get; }
    public IReadOnlyList<ViewTransform> Views { get; }

    /// <summary>Serving model trained on ordinary good parts; its threshold flags 5 % of 16 held-back ones (i.e. none).</summary>
    public ModelArtifact Serving { get; }

    /// <summary>40 brighter good parts, as the training side would have stored them.</summary>
    public IReadOnlyList<FeatureSample> ShiftedGood { get; }

    /// <summary>40 more brighter good parts, never given to a refit.</summary>
    public IReadOnlyList<float[]> FreshShiftedGood { get; }

    /// <summary>6 brighter defective parts (scratches, holes, stains).</summary>
    public IReadOnlyList<FeatureSample> ShiftedDefects { get; }

    public static RgbImage Brighter(RgbImage image) =>
        new(image.Width, image.Height, image.Pixels.Select(value => (byte)Math.Min(255, Math.Round(value * Brightening))).ToArray());

    /// <summary>Scores of per-image test-view features under a model, through the product's scoring path.</summary>
    public double[] Scores(ModelArtifact artifact, IReadOnlyList<float[]> features)
    {
        using var model = DefectModel.Load(artifact, Backbone);
        return model.ScoreFeatures(features);
    }

    public static double FlaggedShare(IReadOnlyList<double> scores, double threshold) =>
        scores.Count(score => score > threshold) / (double)scores.Count;

    private IReadOnlyList<float[]> Features(IReadOnlyList<RgbImage> images)
    {
        using var scope = NewDisposeScope();
        using var all = Extractor.Extract(images, Views); // [N·V, 768]
        var values = all.data<float>().ToArray();
        var perImage = Views.Count * Extractor.FeatureSize;
        return Enumerable.Range(0, images.Count).Select(i => values.AsSpan(i * perImage, perImage).ToArray()).ToArray();
    }

    public IReadOnlyList<FeatureSample> Samples(string prefix, IReadOnlyList<RgbImage> images, FrameLabel label) =>
        Features(images).Select((features, i) => new FeatureSample($"{prefix}-{i:D3}", "camera-1", label,
            DateTimeOffset.UnixEpoch.AddSeconds(i), TinyArtifacts.ImageSize, Views.Count, features)).ToArray();

    private ModelArtifact TrainServing(IReadOnlyList<float[]> training, IReadOnlyList<float[]> calibration)
    {
        manual_seed(3);
        using var flow = new CouplingFlow(TinyArtifacts.Flow(hiddenWidth: 32));
        using (var rows = ModelTraining.Stack(training, Extractor.FeatureSize))
            FlowTrainer.Fit(flow, rows, TrainingOptions.Cpu with { Epochs = 40, BatchSize = 32, LearningRate = 1e-3 }, SilentProgress.Instance);
        var threshold = ThresholdCalibration.AtFalseAlarmRate(FlowScoring.Score(flow, calibration, Views.Count, CPU), 0.05);
        return ModelArtifact.Create(new ModelManifest
        {
            ModelVersion = "serving",
            CreatedAt = DateTimeOffset.UnixEpoch,
            BackboneSha256 = Backbone.Sha256,
            ImageSize = TinyArtifacts.ImageSize,
            TestViews = Views.Count,
            Rotations = true,
            Flow = flow.Config,
            Threshold = threshold,
            FalseAlarmRate = 0.05,
        }, ModelTraining.WeightsOf(flow));
    }

    public void Dispose() => Backbone.Dispose();
}

[Collection(AloneWithTheCollector.Name)]
public sealed class FlowRefitTests(RefitScenarioFixture scenario, ITestOutputHelper output) : IClassFixture<RefitScenarioFixture>
{
    private RefitOutcome Refit(IReadOnlyList<FeatureSample> good, IReadOnlyList<FeatureSample>? defects = null, RefitOptions? options = null)
    {
        var outcome = FlowRefit.Run(scenario.Serving, good, defects ?? [], options ?? new RefitOptions(), "refit-1", CPU, SilentProgress.Instance);
        output.WriteLine(outcome.IsAccepted ? "accepted" : $"rejected: {outcome.RejectionReason}");
        output.WriteLine(outcome.Validation.ToString());
        return outcome;
    }

    private static FeatureSample Reshaped(FeatureSample sample, int imageSize, int views) =>
        sample with { ImageSize = imageSize, Views = views, Features = new float[views * FeatureSample.FeatureSize] };

    [Fact]
    public void A_refit_on_brighter_good_parts_lowers_the_false_alarms_on_fresh_brighter_parts()
    {
        var servingScores = scenario.Scores(scenario.Serving, scenario.FreshShiftedGood);
        var servingFalseAlarms = RefitScenarioFixture.FlaggedShare(servingScores, scenario.Serving.Manifest.Threshold);

        var outcome = Refit(scenario.ShiftedGood, scenario.ShiftedDefects);

        var refitted = Assert.IsType<ModelArtifact>(outcome.Accepted);
        var newScores = scenario.Scores(refitted, scenario.FreshShiftedGood);
        var newFalseAlarms = RefitScenarioFixture.FlaggedShare(newScores, refitted.Manifest.Threshold);
        output.WriteLine($"false alarms on {newScores.Length} fresh brighter good parts: serving {servingFalseAlarms:P0}, refitted {newFalseAlarms:P0}");
        Assert.True(servingFalseAlarms >= 0.5, $"the brighter parts must trouble the serving model, but it flags only {servingFalseAlarms:P0} of them");
        Assert.True(newFalseAlarms <= 0.25, $"the refitted model flags {newFalseAlarms:P0} of fresh brighter good parts (serving: {servingFalseAlarms:P0})");
        Assert.True(outcome.Validation.NewGoodScore < outcome.Validation.ServingGoodScore);
    }

    [Fact]
    public void The_new_model_keeps_the_serving_models_shape_and_carries_a_threshold_calibrated_on_the_held_back_samples()
    {
        var outcome = Refit(scenario.ShiftedGood, options: new RefitOptions { FalseAlarmRate = 0.1 });

        var manifest = Assert.IsType<ModelArtifact>(outcome.Accepted).Manifest;
        var serving = scenario.Serving.Manifest;
        Assert.Equal("refit-1", manifest.ModelVersion);
        Assert.Equal((serving.Flow, serving.ImageSize, serving.TestViews, serving.Rotations, serving.BackboneSha256),
            (manifest.Flow, manifest.ImageSize, manifest.TestViews, manifest.Rotations, manifest.BackboneSha256));
        Assert.Equal(0.1, manifest.FalseAlarmRate);
        Assert.Equal(outcome.Validation.NewThreshold, manifest.Threshold);
        Assert.NotEqual(serving.Threshold, manifest.Threshold);
        var validation = outcome.Validation;
        Assert.Equal((32, 8, 0), (validation.TrainingSamples, validation.HeldBackGood, validation.Defects));
        Assert.True(validation.NewFalseAlarmRate <= 0.1);
        var training = Assert.IsType<TrainingSummary>(manifest.Training);
        Assert.Equal((32, 8, 4, 10), (training.TrainingImages, training.CalibrationImages, training.TrainingViewsPerImage, training.Epochs));
        Assert.Contains("refit of model serving", training.DataSource);
        Assert.Equal(validation.FinalLoss, training.FinalLoss);
    }

    [Fact]
    public void The_refit_starts_from_the_serving_weights_and_is_deterministic()
    {
        var barelyMoving = new RefitOptions { Epochs = 1, LearningRate = 1e-9 };

        var first = Refit(scenario.ShiftedGood, options: barelyMoving);
        var second = Refit(scenario.ShiftedGood, options: barelyMoving);

        var validation = first.Validation;
        var serving = validation.ServingGoodScore!.Value;
        Assert.True(Math.Abs(validation.NewGoodScore!.Value - serving) <= 1e-4 * serving,
            $"after one step of 1e-9 the new model scores the held-back samples {validation.NewGoodScore}, the serving one {serving}");
        Assert.Equal(validation with { TrainingSeconds = 0, Seconds = 0 }, second.Validation with { TrainingSeconds = 0, Seconds = 0 });
        Assert.Equal(first.Accepted!.ReadWeights(), second.Accepted!.ReadWeights());
    }

    [Fact]
    public void Labelled_defects_enter_the_gate_as_aurocs_once_there_are_enough_of_them()
    {
        var enough = Refit(scenario.ShiftedGood, scenario.ShiftedDefects);
        var tooFew = Refit(scenario.ShiftedGood, scenario.ShiftedDefects.Take(4).ToArray());

        Assert.Equal(6, enough.Validation.Defects);
        Assert.InRange(enough.Validation.ServingAuroc!.Value, 0, 1);
        Assert.InRange(enough.Validation.NewAuroc!.Value, enough.Validation.ServingAuroc.Value - 0.02, 1);
        Assert.Equal(4, tooFew.Validation.Defects);
        Assert.Null(tooFew.Validation.ServingAuroc);
        Assert.Null(tooFew.Validation.NewAuroc);
    }

    [Fact]
    public void A_refit_whose_new_model_scores_the_held_back_good_parts_worse_is_rejected()
    {
        // A learning rate of 0.1 throws the flow far from any fit within 10 epochs, without the loss overflowing.
        var outcome = Refit(scenario.ShiftedGood, options: new RefitOptions { LearningRate = 0.1 });

        Assert.Null(outcome.Accepted);
        Assert.Contains("median score of the 8 held-back good samples", outcome.RejectionReason);
        Assert.True(outcome.Validation.NewGoodScore > outcome.Validation.ServingGoodScore * 1.05);
    }

    [Fact]
    public void A_refit_whose_training_diverges_is_rejected_not_thrown()
    {
        var outcome = Refit(scenario.ShiftedGood, options: new RefitOptions { LearningRate = 1e3 });

        Assert.Null(outcome.Accepted);
        Assert.StartsWith("training diverged: The flow's loss became", outcome.RejectionReason);
        Assert.Null(outcome.Validation.FinalLoss);
        Assert.Null(outcome.Validation.NewGoodScore);
    }

    [Fact]
    public void Too_few_good_samples_are_rejected_with_the_counts()
    {
        var outcome = Refit(scenario.ShiftedGood.Take(19).ToArray());

        Assert.Null(outcome.Accepted);
        Assert.Equal("19 good samples, but a refit needs at least 20 (RefitOptions.MinGoodSamples).", outcome.RejectionReason);
        Assert.Equal(0, outcome.Validation.TrainingSamples);
    }

    [Theory]
    [InlineData(128, 4, "has 128 px and 4 views")]
    [InlineData(64, 8, "has 64 px and 8 views")]
    public void Good_samples_made_for_another_image_size_or_view_count_are_rejected_with_both_shapes_named(int imageSize, int views, string expected)
    {
        var mixed = scenario.ShiftedGood.Select((sample, i) => i % 10 == 3 ? Reshaped(sample, imageSize, views) : sample).ToArray();

        var outcome = Refit(mixed);

        Assert.Null(outcome.Accepted);
        Assert.StartsWith("4 of 40 good samples do not fit model serving, which works on 64 px frames with 4 test views; the first, frame shifted-003,", outcome.RejectionReason);
        Assert.Contains(expected, outcome.RejectionReason);
    }

    [Fact]
    public void A_defect_sample_of_another_shape_or_a_sample_with_the_wrong_label_is_rejected()
    {
        var truncated = scenario.ShiftedDefects.Select((sample, i) => i == 2 ? sample with { Features = sample.Features[..^1] } : sample).ToArray();
        var mislabelled = scenario.ShiftedGood.Select((sample, i) => i == 5 ? sample with { Label = FrameLabel.Defect } : sample).ToArray();

        Assert.Equal($"defect sample of frame defect-002 has {4 * 768 - 1} feature values, expected 4 views × 768.", Refit(scenario.ShiftedGood, truncated).RejectionReason);
        Assert.Equal("good sample 5 (frame shifted-005) is labelled Defect.", Refit(mislabelled).RejectionReason);
    }

    [Fact]
    public void Options_bind_from_their_configuration_section_and_name_every_unusable_value()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pipeline:Training:Refit:Epochs"] = "5",
            ["Pipeline:Training:Refit:LearningRate"] = "5e-5",
            ["Pipeline:Training:Refit:FalseAlarmRate"] = "0.01",
            ["Pipeline:Training:Refit:MaxScoreIncrease"] = "0",
        }).Build();

        var bound = configuration.GetSection(RefitOptions.SectionName).Get<RefitOptions>()!;

        Assert.Equal((5, 5e-5, 0.01, 0.0, 96, 0.2), (bound.Epochs, bound.LearningRate, bound.FalseAlarmRate, bound.MaxScoreIncrease, bound.BatchSize, bound.HoldOutFraction));
        Assert.Empty(bound.Problems());
        var bad = new RefitOptions { Epochs = 0, HoldOutFraction = 0.9, MaxScoreIncrease = -0.1, FalseAlarmRate = 1 };
        Assert.Equal(4, bad.Problems().Count);
        Assert.Contains("Pipeline:Training:Refit:HoldOutFraction is 0.9", string.Join(" ", bad.Problems()));
        Assert.Throws<OptionsValidationException>(() => FlowRefit.Run(scenario.Serving, scenario.ShiftedGood, [], bad, "x", CPU, SilentProgress.Instance));
    }
}
