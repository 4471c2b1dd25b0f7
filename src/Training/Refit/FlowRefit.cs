using TorchSharp;
using System.Diagnostics;
using System.Globalization;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using Pipeline.Shared.Training;
using static TorchSharp.torch;

namespace Pipeline.Training.Refit;

/// <summary>The numbers a refit's validation gate decided on; null where a number was not (or could not be) computed.</summary>
/// <param name="TrainingSamples">Good samples the flow was trained on.</param>
/// <param name="HeldBackGood">Good samples held back: the gate and the new threshold are computed on them.</param>
/// <param name="Defects">Labelled defect samples given to the gate.</param>
/// <param name="ServingGoodScore">The serving model's median score of the held-back good samples (<see cref="FlowRefit.GoodScoreStatistic"/>).</param>
/// <param name="NewGoodScore">The new model's median score of the same samples.</param>
/// <param name="ServingThreshold">The serving model's threshold (from its manifest).</param>
/// <param name="NewThreshold">The new model's threshold, calibrated on the held-back good samples.</param>
/// <param name="ServingFalseAlarmRate">Share of the held-back good samples the serving model flags at its threshold.</param>
/// <param name="NewFalseAlarmRate">Share the new model flags at its new threshold (calibrated on the same samples, so at most the rate asked for).</param>
/// <param name="ServingAuroc">AUROC of the serving model, held-back good against defects; only with enough defects.</param>
/// <param name="NewAuroc">AUROC of the new model on the same samples.</param>
/// <param name="Epochs">Epochs asked for.</param>
/// <param name="FinalLoss">The last epoch's mean loss; null when training did not finish.</param>
/// <param name="TrainingSeconds">Time spent fitting the flow.</param>
/// <param name="Seconds">Time the whole refit took: checks, fitting, scoring and calibration.</param>
public sealed record RefitValidation(
    int TrainingSamples,
    int HeldBackGood,
    int Defects,
    double? ServingGoodScore,
    double? NewGoodScore,
    double? ServingThreshold,
    double? NewThreshold,
    double? ServingFalseAlarmRate,
    double? NewFalseAlarmRate,
    double? ServingAuroc,
    double? NewAuroc,
    int Epochs,
    double? FinalLoss,
    double TrainingSeconds,
    double Seconds);

/// <summary>
/// What a refit produced: the new model when the validation gate accepted it, else the reason it was rejected.
/// Either way <see cref="Validation"/> holds the numbers.
/// </summary>
/// <param name="Accepted">The new model (manifest and weights), ready to publish; null when rejected.</param>
/// <param name="RejectionReason">One sentence naming the rule that failed and its numbers; null when accepted.</param>
public sealed record RefitOutcome(ModelArtifact? Accepted, string? RejectionReason, RefitValidation Validation)
{
    public bool IsAccepted => Accepted is not null;
}

/// <summary>
/// Refits the serving model's flow on stored features (the backbone is frozen and never runs) and validates the
/// result before anything is published: warm start from the serving weights, training on most of the good samples,
/// and a gate on the rest (and on labelled defects) that compares the new flow with the serving one.
/// </summary>
public static class FlowRefit
{
    /// <summary>The statistic of held-back good scores the gate compares: the median, robust to a few odd or mislabelled samples.</summary>
    public const string GoodScoreStatistic = "median";

    /// <summary>
    /// Refits <paramref name="serving"/> on <paramref name="good"/> and validates the result. A refit that cannot be
    /// done (too few samples, samples of another image size or view count, a loss that diverges) or that fails the
    /// gate is rejected with a reason; it does not throw. Invalid <paramref name="options"/> throw
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>, a serving artifact whose weights do not fit
    /// its manifest throws <see cref="ModelArtifactException"/>, and cancellation throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="serving">The model now serving: the warm start and the model to beat.</param>
    /// <param name="good">Known-good samples of the serving model's image size and test views.</param>
    /// <param name="defects">Known defect samples, used by the gate only (never trained on); may be empty.</param>
    /// <param name="newVersion">The <see cref="ModelManifest.ModelVersion"/> of the new model.</param>
    /// <param name="device">Where the flows train and score.</param>
    public static RefitOutcome Run(
        ModelArtifact serving,
        IReadOnlyList<FeatureSample> good,
        IReadOnlyList<FeatureSample> defects,
        RefitOptions options,
        string newVersion,
        Device device,
        IWorkProgressSink progress,
        CancellationToken cancellation = default)
    {
        options.Validated();
        ArgumentException.ThrowIfNullOrWhiteSpace(newVersion);
        var clock = Stopwatch.StartNew();
        var manifest = serving.Manifest;

        RefitOutcome Reject(string reason, RefitValidation validation)
        {
            progress.Note($"refit {newVersion} of {manifest.ModelVersion} rejected: {reason}");
            return new RefitOutcome(null, reason, validation with { Seconds = clock.Elapsed.TotalSeconds });
        }

        var counts = new RefitValidation(0, 0, defects.Count, null, null, manifest.Threshold, null, null, null, null, null,
            options.Epochs, null, 0, 0);
        if ((SampleProblem(good, FrameLabel.Good, manifest) ?? SampleProblem(defects, FrameLabel.Defect, manifest)) is { } problem)
            return Reject(problem, counts);
        if (good.Count < options.MinGoodSamples)
            return Reject($"{good.Count} good samples, but a refit needs at least {options.MinGoodSamples} (RefitOptions.MinGoodSamples).", counts);

        var (training, heldBack) = Split(good, options);
        var falseAlarmRate = options.FalseAlarmRate ?? manifest.FalseAlarmRate;
        var validation = counts with { TrainingSamples = training.Count, HeldBackGood = heldBack.Count };
        progress.Note($"refit {newVersion} of {manifest.ModelVersion}: {training.Count} good samples to train on, {heldBack.Count} held back, {defects.Count} defects; {options.Epochs} epochs at learning rate {options.LearningRate:g3}");

        using var servingFlow = LoadFlow(serving, device);
        using var newFlow = LoadFlow(serving, device);
        FlowFitHistory history;
        var trainingClock = Stopwatch.StartNew();
        try
        {
            using var rows = ModelTraining.Stack(training.Select(sample => sample.Features).ToArray(), FeatureSample.FeatureSize); // [train·V, 768]
            history = FlowTrainer.Fit(newFlow, rows, options.ForFlowTrainer(), progress, cancellation: cancellation);
        }
        catch (InvalidOperationException diverged)
        {
            return Reject($"training diverged: {diverged.Message}", validation with { TrainingSeconds = trainingClock.Elapsed.TotalSeconds });
        }
        validation = validation with { FinalLoss = history.FinalLoss, TrainingSeconds = history.Seconds };

        var views = manifest.TestViews;
        var heldBackFeatures = heldBack.Select(sample => sample.Features).ToArray();
        var defectFeatures = defects.Select(sample => sample.Features).ToArray();
        var servingGood = FlowScoring.Score(servingFlow, heldBackFeatures, views, device);
        var newGood = FlowScoring.Score(newFlow, heldBackFeatures, views, device);
        var servingDefects = FlowScoring.Score(servingFlow, defectFeatures, views, device);
        var newDefects = FlowScoring.Score(newFlow, defectFeatures, views, device);

        var servingMedian = MedianOrInfinity(servingGood);
        validation = validation with
        {
            ServingGoodScore = servingMedian,
            ServingFalseAlarmRate = FlaggedShare(servingGood, manifest.Threshold),
        };
        var nonFinite = newGood.Count(score => !double.IsFinite(score)) + newDefects.Count(score => !double.IsFinite(score));
        if (nonFinite > 0)
            return Reject($"the new model gives {nonFinite} of {newGood.Length + newDefects.Length} held-back samples a score that is not a finite number.", validation);

        var newMedian = ScoreStatistics.Of(newGood).Median;
        var newThreshold = ThresholdCalibration.AtFalseAlarmRate(newGood, falseAlarmRate);
        validation = validation with
        {
            NewGoodScore = newMedian,
            NewThreshold = newThreshold,
            NewFalseAlarmRate = FlaggedShare(newGood, newThreshold),
        };
        if (defects.Count >= options.MinDefectsForAuroc)
        {
            validation = validation with
            {
                ServingAuroc = servingGood.Concat(servingDefects).All(double.IsFinite) ? RocAnalysis.Auroc(servingGood, servingDefects) : null,
                NewAuroc = RocAnalysis.Auroc(newGood, newDefects),
            };
        }

        var allowedMedian = servingMedian * (1 + options.MaxScoreIncrease);
        if (!(newMedian <= allowedMedian))
            return Reject(Invariant($"the new model's median score of the {heldBack.Count} held-back good samples is {newMedian:0.####}, above the serving model's {servingMedian:0.####} by more than the allowed {options.MaxScoreIncrease:P0} ({allowedMedian:0.####})."), validation);
        if (validation is { ServingAuroc: { } servingAuroc, NewAuroc: { } newAuroc } && newAuroc < servingAuroc - options.MaxAurocDrop)
            return Reject(Invariant($"the new model's AUROC of {heldBack.Count} held-back good samples against {defects.Count} labelled defects is {newAuroc:0.####}, below the serving model's {servingAuroc:0.####} by more than the allowed {options.MaxAurocDrop:0.####}."), validation);

        var newManifest = manifest with
        {
            ModelVersion = newVersion,
            CreatedAt = DateTimeOffset.UtcNow,
            Threshold = newThreshold,
            FalseAlarmRate = falseAlarmRate,
            Training = new TrainingSummary(
                $"refit of model {manifest.ModelVersion} on {good.Count} stored feature samples of good frames",
                training.Count, heldBack.Count, views, options.Epochs, history.FinalLoss, history.Seconds),
        };
        var artifact = ModelArtifact.Create(newManifest, ModelTraining.WeightsOf(newFlow));
        validation = validation with { Seconds = clock.Elapsed.TotalSeconds };
        progress.Note(Invariant($"refit {newVersion} accepted: median held-back good score {newMedian:0.####} (serving {servingMedian:0.####}), threshold {newThreshold:0.####}, {validation.TrainingSeconds:0.0} s of training"));
        return new RefitOutcome(artifact, null, validation);
    }

    /// <summary>
    /// The deterministic split of good samples into training and held-back ones: ordered by frame id, shuffled with
    /// <see cref="RefitOptions.Seed"/>, the first <see cref="RefitOptions.HoldOutFraction"/> (at least 1, leaving at least 2) held back.
    /// </summary>
    public static (IReadOnlyList<FeatureSample> Training, IReadOnlyList<FeatureSample> HeldBack) Split(IReadOnlyList<FeatureSample> good, RefitOptions options)
    {
        if (good.Count < 3) throw new ArgumentException($"Splitting needs at least 3 good samples, got {good.Count}.", nameof(good));
        var shuffled = good.OrderBy(sample => sample.FrameId, StringComparer.Ordinal).ThenBy(sample => sample.CapturedAt).ToArray();
        new Random(options.Seed).Shuffle(shuffled);
        var heldBackCount = Math.Clamp((int)Math.Round(good.Count * options.HoldOutFraction), 1, good.Count - 2);
        return (shuffled[heldBackCount..], shuffled[..heldBackCount]);
    }

    /// <summary>A sentence naming the first sample that does not fit the serving model, or null when all fit.</summary>
    private static string? SampleProblem(IReadOnlyList<FeatureSample> samples, FrameLabel expected, ModelManifest manifest)
    {
        var kind = expected == FrameLabel.Good ? "good" : "defect";
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            if (sample.Label != expected)
                return $"{kind} sample {i} (frame {sample.FrameId}) is labelled {sample.Label}.";
            if (sample.ImageSize != manifest.ImageSize || sample.Views != manifest.TestViews)
            {
                var misfits = samples.Count(s => s.ImageSize != manifest.ImageSize || s.Views != manifest.TestViews);
                return $"{misfits} of {samples.Count} {kind} samples do not fit model {manifest.ModelVersion}, which works on {manifest.ImageSize} px frames with {manifest.TestViews} test views; the first, frame {sample.FrameId}, has {sample.ImageSize} px and {sample.Views} views. Refit only on samples scored by a model of the same image size and views.";
            }
            if (sample.ShapeProblem() is { } shape)
                return $"{kind} {shape}.";
        }
        return null;
    }

    /// <summary>The artifact's flow on <paramref name="device"/>, in eval mode; refuses weights that do not fit its manifest.</summary>
    private static CouplingFlow LoadFlow(ModelArtifact artifact, Device device)
    {
        var flow = new CouplingFlow(artifact.Manifest.Flow);
        try
        {
            using var stream = artifact.OpenWeights();
            flow.load(stream, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or EndOfStreamException)
        {
            flow.Dispose();
            throw new ModelArtifactException(artifact.Sha256[..12], $"has weights that do not fit its flow configuration ({e.Message})", e);
        }
        flow.to(device);
        flow.eval();
        return flow;
    }

    /// <summary>The median, or +∞ when a score is not finite (a serving model that cannot score a sample is beaten by any finite one).</summary>
    private static double MedianOrInfinity(double[] scores) =>
        scores.All(double.IsFinite) ? ScoreStatistics.Of(scores).Median : double.PositiveInfinity;

    private static double FlaggedShare(double[] scores, double threshold) =>
        scores.Count(score => !(score <= threshold)) / (double)scores.Length;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
