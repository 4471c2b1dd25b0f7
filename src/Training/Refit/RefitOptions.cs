using Microsoft.Extensions.Options;
using Pipeline.Shared.Configuration;

namespace Pipeline.Training.Refit;

/// <summary>
/// How the serving flow is refitted on stored features and when the result may replace it (see
/// docs/continuous-learning.md); bound from the configuration section <see cref="SectionName"/>. Checked by the rules
/// on its settings, through the generated <see cref="RefitOptionsValidator"/>.
/// </summary>
public sealed class RefitOptions
{
    public const string SectionName = "Pipeline:Training:Refit";

    /// <summary>Passes over the training samples' feature vectors, starting from the serving flow's weights.</summary>
    [AtLeast(1, Note = "10 by default")]
    public int Epochs { get; set; } = 10;

    /// <summary>Feature vectors (views) per optimisation step.</summary>
    [AtLeast(2, Note = "feature vectors per step; 96 by default")]
    public int BatchSize { get; set; } = 96;

    /// <summary>
    /// Adam learning rate (the other optimiser settings are those of training, <see cref="TrainingOptions"/>). Half of
    /// training's 2e-4: the flow starts from a fitted model and should move, not start over.
    /// </summary>
    [MoreThan(0, Note = "such as 1e-4, the default")]
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Share of the good samples held back from training: the gate and the new threshold are computed on them.</summary>
    [Between(0, 0.5, MinimumIsExclusive = true, Note = "a share such as 0.2, the default")]
    public double HoldOutFraction { get; set; } = 0.2;

    /// <summary>Fewest good samples a refit runs on; with fewer it is rejected (nothing is trained).</summary>
    [AtLeast(5, Note = "some are held back, at least 2 are trained on; 20 by default")]
    public int MinGoodSamples { get; set; } = 20;

    /// <summary>
    /// How much worse the new model may score the held-back good samples than the serving one: the new median score
    /// may be at most the serving median × (1 + this). 0.05 = at most 5 % higher; 0 = not higher at all.
    /// </summary>
    [AtLeast(0, Note = "a small share such as 0.05, the default")]
    public double MaxScoreIncrease { get; set; } = 0.05;

    /// <summary>
    /// How far the new model's AUROC (held-back good samples against labelled defects) may fall below the serving
    /// model's, in AUROC units (0.02 = two points). Checked only with at least <see cref="MinDefectsForAuroc"/> defects.
    /// </summary>
    [Between(0, 1, Note = "in AUROC units, such as 0.02, the default")]
    public double MaxAurocDrop { get; set; } = 0.02;

    /// <summary>Fewest labelled defect samples for the AUROC check; with fewer the AUROC is neither computed nor checked.</summary>
    [AtLeast(1, Note = "5 by default")]
    public int MinDefectsForAuroc { get; set; } = 5;

    /// <summary>
    /// Share of held-back good samples the new threshold may flag, in [0, 1); null keeps the serving model's
    /// (its manifest's false-alarm rate).
    /// </summary>
    [Between(0, 1, MaximumIsExclusive = true, Note = "a share, or leave it out to keep the serving model's")]
    public double? FalseAlarmRate { get; set; }

    /// <summary>Seed of the split into training and held-back samples and of the order of training batches.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>
    /// What <see cref="FlowTrainer"/> needs of these options: training's optimiser with this constant learning rate,
    /// batch size, epochs and seed. A refit starts from fitted weights and takes small steps throughout, so it does
    /// not use training's cosine schedule (its learning rate was chosen for a constant rate).
    /// </summary>
    public TrainingOptions ForFlowTrainer() => TrainingOptions.Cpu with
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        LearningRateSchedule = LearningRateSchedule.Constant,
        Seed = Seed,
    };

    /// <summary>What is wrong with these options, one sentence each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems() =>
        new RefitOptionsValidator().Validate(null, this) is { Failed: true, Failures: { } failures } ? [.. failures] : [];

    /// <summary>These options when they are usable; otherwise an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public RefitOptions Validated()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new OptionsValidationException(SectionName, typeof(RefitOptions), problems);
    }
}

/// <summary>Checks <see cref="RefitOptions"/> at start: generated from the rules on its settings.</summary>
[OptionsValidator]
public sealed partial class RefitOptionsValidator : IValidateOptions<RefitOptions>;
