using System.Text.Json.Serialization;

namespace Pipeline.Shared.Evaluation;

/// <summary>
/// The outcome of evaluating a model on a labelled test set: how well its scores separate defective
/// from good images (AUROC), and what a chosen threshold does to good and defective parts.
/// Build it with <see cref="FromScores"/>; write it with <see cref="EvaluationJson"/>.
/// </summary>
public sealed record EvaluationResult
{
    private EvaluationResult() { }

    /// <summary>AUROC over all defect types against all good images, a fraction in [0, 1].</summary>
    public required double Auroc { get; init; }

    /// <summary>For each defect type, the AUROC of its images against all good images.</summary>
    public required IReadOnlyDictionary<string, double> AurocPerDefect { get; init; }

    /// <summary>For each defect type, the fraction of its images scored above <see cref="Threshold"/>.</summary>
    public required IReadOnlyDictionary<string, double> DetectionRatePerDefect { get; init; }

    /// <summary>For each defect type, how many test images it has.</summary>
    public required IReadOnlyDictionary<string, int> NDefectPerType { get; init; }

    /// <summary>A part is judged defective when its score is strictly above this.</summary>
    public required double Threshold { get; init; }

    /// <summary>The false-alarm rate the threshold was calibrated for.</summary>
    public required double FalseAlarmRateTarget { get; init; }

    /// <summary>Fraction of good test images scored above <see cref="Threshold"/> (flagged wrongly).</summary>
    public required double ObservedFalseAlarmRate { get; init; }

    /// <summary>Fraction of defective test images scored above <see cref="Threshold"/> (recall).</summary>
    public required double DetectionRate { get; init; }

    public required int NGood { get; init; }
    public required int NDefect { get; init; }
    public required ScoreStatistics GoodScoreStatistics { get; init; }
    public required ScoreStatistics DefectScoreStatistics { get; init; }

    /// <summary>Every test image with its score, in the order given to <see cref="FromScores"/>.</summary>
    public required IReadOnlyList<ScoredImage> Images { get; init; }

    /// <summary>Pixel AUROC of the anomaly maps over the images that have masks and the good ones (<see cref="PixelMetrics"/>); null without masks.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PixelAuroc { get; init; }

    /// <summary>AUPRO of the anomaly maps up to 30 % false positive rate, normalized; null without masks.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PixelAupro { get; init; }

    /// <summary>For each defect type with masks, the pixel AUROC of its images and all good images; null without masks.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? PixelAurocPerDefect { get; init; }

    /// <summary>For each defect type with masks, the AUPRO of its images and all good images; null without masks.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? PixelAuproPerDefect { get; init; }

    /// <summary>The pixel ROC curve (for the report); not written to JSON.</summary>
    [JsonIgnore]
    public IReadOnlyList<RocPoint>? PixelRocCurve { get; init; }

    /// <summary>
    /// This result with the pixel metrics of <paramref name="samples"/> (the maps and masks of the good images and of
    /// the defective images that have masks).
    /// </summary>
    public EvaluationResult WithPixelMetrics(IReadOnlyList<PixelSample> samples)
    {
        var good = samples.Where(s => s.DefectType == ScoredImage.Good).ToArray();
        var perType = samples.Where(s => s.DefectType != ScoredImage.Good)
            .GroupBy(s => s.DefectType, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<PixelSample>)good.Concat(g).ToArray(), StringComparer.Ordinal);
        if (perType.Count == 0) return this;
        return this with
        {
            PixelAuroc = PixelMetrics.Auroc(samples),
            PixelAupro = PixelMetrics.Aupro(samples),
            PixelAurocPerDefect = new SortedDictionary<string, double>(perType.ToDictionary(p => p.Key, p => PixelMetrics.Auroc(p.Value)), StringComparer.Ordinal),
            PixelAuproPerDefect = new SortedDictionary<string, double>(perType.ToDictionary(p => p.Key, p => PixelMetrics.Aupro(p.Value)), StringComparer.Ordinal),
            PixelRocCurve = PixelMetrics.RocCurve(samples),
        };
    }

    /// <summary>Whether the verdict at <see cref="Threshold"/> disagrees with the image's label.</summary>
    public bool IsMisjudged(ScoredImage image) => (image.Score > Threshold) != image.IsDefective;

    /// <summary>Computes every metric from the scored test images and the threshold in use.</summary>
    /// <param name="scores">Labelled, scored test images; at least one good and one defective.</param>
    /// <param name="threshold">Decision threshold, usually from <see cref="ThresholdCalibration.AtFalseAlarmRate"/>.</param>
    /// <param name="falseAlarmRateTarget">The rate the threshold was calibrated for, in [0, 1).</param>
    /// <exception cref="ArgumentException">
    /// An image has a non-finite score or an empty defect type, the set lacks good or defective images,
    /// or the threshold is not finite.
    /// </exception>
    public static EvaluationResult FromScores(IReadOnlyList<ScoredImage> scores, double threshold, double falseAlarmRateTarget)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ScoreChecks.RequireFalseAlarmRate(falseAlarmRateTarget, nameof(falseAlarmRateTarget));
        if (!double.IsFinite(threshold))
            throw new ArgumentException($"The threshold is {threshold}; it must be a finite score.", nameof(threshold));
        foreach (var image in scores)
        {
            if (!double.IsFinite(image.Score))
                throw new ArgumentException(
                    $"Image '{image.Path}' has score {image.Score}; anomaly scores must be finite numbers. Check the model output for that image.",
                    nameof(scores));
            if (string.IsNullOrWhiteSpace(image.DefectType))
                throw new ArgumentException(
                    $"Image '{image.Path}' has no defect type; label defect-free images \"{ScoredImage.Good}\" and defective ones with their defect type.",
                    nameof(scores));
        }

        var good = scores.Where(i => !i.IsDefective).Select(i => i.Score).ToArray();
        var defect = scores.Where(i => i.IsDefective).Select(i => i.Score).ToArray();
        if (good.Length == 0 || defect.Length == 0)
            throw new ArgumentException(
                $"The test set has {good.Length} good and {defect.Length} defective images; evaluation needs both "
                + $"(defect type \"{ScoredImage.Good}\" marks the defect-free ones).",
                nameof(scores));

        var byDefectType = scores.Where(i => i.IsDefective)
            .GroupBy(i => i.DefectType, i => i.Score, StringComparer.Ordinal)
            .ToArray();
        return new EvaluationResult
        {
            Auroc = RocAnalysis.Auroc(good, defect),
            AurocPerDefect = PerDefectType(byDefectType, s => RocAnalysis.Auroc(good, s)),
            DetectionRatePerDefect = PerDefectType(byDefectType, s => FractionAbove(s, threshold)),
            NDefectPerType = PerDefectType(byDefectType, s => s.Length),
            Threshold = threshold,
            FalseAlarmRateTarget = falseAlarmRateTarget,
            ObservedFalseAlarmRate = FractionAbove(good, threshold),
            DetectionRate = FractionAbove(defect, threshold),
            NGood = good.Length,
            NDefect = defect.Length,
            GoodScoreStatistics = ScoreStatistics.Of(good),
            DefectScoreStatistics = ScoreStatistics.Of(defect),
            Images = scores.ToArray(),
        };
    }

    private static SortedDictionary<string, T> PerDefectType<T>(
        IEnumerable<IGrouping<string, double>> byDefectType, Func<double[], T> metric)
    {
        var perType = new SortedDictionary<string, T>(StringComparer.Ordinal);
        foreach (var group in byDefectType)
            perType[group.Key] = metric(group.ToArray());
        return perType;
    }

    private static double FractionAbove(IReadOnlyCollection<double> scores, double threshold) =>
        (double)scores.Count(s => s > threshold) / scores.Count;
}
