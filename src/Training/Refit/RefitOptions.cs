using Microsoft.Extensions.Options;

namespace Pipeline.Training.Refit;

/// <summary>
/// How the serving flow is refitted on stored features and when the result may replace it (see
/// docs/continuous-learning.md); bound from the configuration section <see cref="SectionName"/>.
/// </summary>
public sealed class RefitOptions
{
    public const string SectionName = "Pipeline:Training:Refit";

    /// <summary>Passes over the training samples' feature vectors, starting from the serving flow's weights.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Feature vectors (views) per optimisation step.</summary>
    public int BatchSize { get; set; } = 96;

    /// <summary>
    /// Adam learning rate (the other optimiser settings are those of training, <see cref="TrainingOptions"/>). Half of
    /// training's 2e-4: the flow starts from a fitted model and should move, not start over.
    /// </summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Share of the good samples held back from training: the gate and the new threshold are computed on them.</summary>
    public double HoldOutFraction { get; set; } = 0.2;

    /// <summary>Fewest good samples a refit runs on; with fewer it is rejected (nothing is trained).</summary>
    public int MinGoodSamples { get; set; } = 20;

    /// <summary>
    /// How much worse the new model may score the held-back good samples than the serving one: the new median score
    /// may be at most the serving median × (1 + this). 0.05 = at most 5 % higher; 0 = not higher at all.
    /// </summary>
    public double MaxScoreIncrease { get; set; } = 0.05;

    /// <summary>
    /// How far the new model's AUROC (held-back good samples against labelled defects) may fall below the serving
    /// model's, in AUROC units (0.02 = two points). Checked only with at least <see cref="MinDefectsForAuroc"/> defects.
    /// </summary>
    public double MaxAurocDrop { get; set; } = 0.02;

    /// <summary>Fewest labelled defect samples for the AUROC check; with fewer the AUROC is neither computed nor checked.</summary>
    public int MinDefectsForAuroc { get; set; } = 5;

    /// <summary>
    /// Share of held-back good samples the new threshold may flag, in [0, 1); null keeps the serving model's
    /// (its manifest's false-alarm rate).
    /// </summary>
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
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Epochs < 1)
            problems.Add($"{SectionName}:Epochs is {Epochs}; use at least 1.");
        if (BatchSize < 2)
            problems.Add($"{SectionName}:BatchSize is {BatchSize}; use at least 2 feature vectors per step.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            problems.Add($"{SectionName}:LearningRate is {LearningRate}; use a positive number such as 1e-4.");
        if (HoldOutFraction is not (> 0 and <= 0.5))
            problems.Add($"{SectionName}:HoldOutFraction is {HoldOutFraction}; use a share in (0, 0.5], such as 0.2.");
        if (MinGoodSamples < 5)
            problems.Add($"{SectionName}:MinGoodSamples is {MinGoodSamples}; use at least 5 (some are held back, at least 2 are trained on).");
        if (!(MaxScoreIncrease >= 0) || !double.IsFinite(MaxScoreIncrease))
            problems.Add($"{SectionName}:MaxScoreIncrease is {MaxScoreIncrease}; use 0 or a small positive share such as 0.05.");
        if (MaxAurocDrop is not (>= 0 and <= 1))
            problems.Add($"{SectionName}:MaxAurocDrop is {MaxAurocDrop}; use a value in [0, 1] such as 0.02.");
        if (MinDefectsForAuroc < 1)
            problems.Add($"{SectionName}:MinDefectsForAuroc is {MinDefectsForAuroc}; use at least 1.");
        if (FalseAlarmRate is not null and not (>= 0 and < 1))
            problems.Add($"{SectionName}:FalseAlarmRate is {FalseAlarmRate}; use a share in [0, 1), or leave it out to keep the serving model's.");
        return problems;
    }

    /// <summary>These options when they are usable; otherwise an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public RefitOptions Validated()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new OptionsValidationException(SectionName, typeof(RefitOptions), problems);
    }
}

/// <summary>Checks <see cref="RefitOptions"/> when they are first used (and at start with ValidateOnStart).</summary>
public sealed class RefitOptionsValidator : IValidateOptions<RefitOptions>
{
    public ValidateOptionsResult Validate(string? name, RefitOptions options)
    {
        var problems = options.Problems();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
