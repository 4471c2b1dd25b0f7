using Pipeline.Shared;
using Pipeline.Shared.Model;

namespace Pipeline.Training;

/// <summary>
/// How a model is trained. Defaults (<see cref="Cpu"/>) are sized so that training and evaluating on a few
/// hundred images finishes in well under half an hour on a 2-core CPU; <see cref="Paper"/> is DifferNet's
/// published configuration, for GPU machines.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Side S of the square input image; features come from S, S/2 and S/4.</summary>
    public int ImageSize { get; init; } = 224;
    /// <summary>Augmented views per training image; each view's features are computed once and cached.</summary>
    public int TrainViews { get; init; } = 16;
    /// <summary>Evenly spaced rotations per image at test time (the score is the mean over them).</summary>
    public int TestViews { get; init; } = 16;
    public int Epochs { get; init; } = 20;
    /// <summary>Feature vectors (views) per optimisation step.</summary>
    public int BatchSize { get; init; } = 96;
    /// <summary>Adam's learning rate; with <see cref="LearningRateSchedule.Cosine"/> the rate of the first step.</summary>
    public double LearningRate { get; init; } = 4e-4;
    /// <summary>How the learning rate moves over the fit (DifferNet keeps it constant).</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Cosine;
    public double Beta1 { get; init; } = 0.8;
    public double Beta2 { get; init; } = 0.8;
    public double AdamEpsilon { get; init; } = 1e-4;
    public double WeightDecay { get; init; } = 1e-5;
    public int CouplingBlocks { get; init; } = 8;
    public int HiddenWidth { get; init; } = 512;
    public double Dropout { get; init; }
    public double ClampAlpha { get; init; } = 3.0;
    public AugmentationOptions Augmentation { get; init; } = new();
    /// <summary>Share of known-good images the threshold should flag (false alarms).</summary>
    public double FalseAlarmRate { get; init; } = 0.05;
    /// <summary>Share of the good training images held back (not trained on) to calibrate the threshold.</summary>
    public double CalibrationFraction { get; init; } = 0.1;
    public int Seed { get; init; } = 1;
    /// <summary>Blur of the anomaly maps (σ in pixels of the prepared image; DifferNet: 3), stored in the model with the region level calibrated for it.</summary>
    public double MapSigma { get; init; } = GradientMap.DefaultSigma;

    /// <summary>The default: fast on a CPU.</summary>
    public static TrainingOptions Cpu { get; } = new();

    /// <summary>DifferNet's paper settings: 448 px, 4 training and 64 test views, 192 epochs of batch 24 images × 4 views.</summary>
    public static TrainingOptions Paper { get; } = new()
    {
        ImageSize = 448,
        TrainViews = 4,
        TestViews = 64,
        Epochs = 192,
        BatchSize = 96,
        HiddenWidth = 2048,
        LearningRate = 2e-4,
        LearningRateSchedule = LearningRateSchedule.Constant,
    };

    public static IReadOnlyDictionary<string, TrainingOptions> Presets { get; } = new Dictionary<string, TrainingOptions>
    {
        ["cpu"] = Cpu,
        ["paper"] = Paper,
    };

    public FlowConfig Flow => new FlowConfig
    {
        FeatureSize = FeaturePyramid.FeatureSize,
        CouplingBlocks = CouplingBlocks,
        HiddenWidth = HiddenWidth,
        Dropout = Dropout,
        ClampAlpha = ClampAlpha,
        PermutationSeed = Seed,
    }.Validated();

    /// <summary>Throws <see cref="PipelineInputException"/> naming the first unusable value.</summary>
    public TrainingOptions Validated()
    {
        void Require(bool ok, string message) { if (!ok) throw new PipelineInputException(message); }
        Require(ImageSize is >= 32 and <= 2048 && ImageSize % 4 == 0, $"Image size must be a multiple of 4 between 32 and 2048, got {ImageSize}.");
        Require(TrainViews >= 1, $"Training views per image must be at least 1, got {TrainViews}.");
        Require(TestViews >= 1, $"Test views per image must be at least 1, got {TestViews}.");
        Require(Epochs >= 1, $"Epochs must be at least 1, got {Epochs}.");
        Require(BatchSize >= 2, $"Batch size must be at least 2, got {BatchSize}.");
        Require(LearningRate > 0, $"Learning rate must be positive, got {LearningRate}.");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"Adam betas must be in [0, 1), got {Beta1} and {Beta2}.");
        Require(AdamEpsilon > 0 && WeightDecay >= 0, $"Adam epsilon must be positive and weight decay not negative, got {AdamEpsilon} and {WeightDecay}.");
        Require(CouplingBlocks >= 1 && HiddenWidth >= 1, $"The flow needs at least one coupling block and hidden unit, got {CouplingBlocks} blocks of width {HiddenWidth}.");
        Require(Dropout is >= 0 and < 1, $"Dropout must be in [0, 1), got {Dropout}.");
        Require(FalseAlarmRate is >= 0 and < 1, $"False-alarm rate must be in [0, 1), got {FalseAlarmRate}.");
        Require(MapSigma is >= 0 and <= 64, $"The anomaly map blur σ must be between 0 and 64 pixels, got {MapSigma}.");
        Require(CalibrationFraction is > 0 and < 0.9, $"Calibration fraction must be in (0, 0.9), got {CalibrationFraction}.");
        Require(Augmentation.Brightness is >= 0 and < 1 && Augmentation.Contrast is >= 0 and < 1 && Augmentation.Saturation is >= 0 and < 1,
            "Colour jitter amounts (brightness, contrast, saturation) must each be in [0, 1).");
        return this;
    }
}
