namespace Pipeline.Shared.Evaluation;

/// <summary>
/// One operating point of a detector: flagging every image whose score is strictly above
/// <see cref="Threshold"/> flags <see cref="FalsePositiveRate"/> of the good images and
/// <see cref="TruePositiveRate"/> of the defective ones.
/// </summary>
public sealed record RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>
/// Receiver operating characteristic of anomaly scores: how well they separate defective images
/// (the positives) from good ones, independent of any threshold.
/// </summary>
public static class RocAnalysis
{
    private const string NeedsBothClasses = "ROC analysis needs the scores of at least one good and one defective image.";

    /// <summary>
    /// Area under the ROC curve: the probability that a randomly drawn defective image scores higher
    /// than a randomly drawn good one, a tie counting one half (the Mann–Whitney U statistic divided by
    /// the number of pairs). 1 is perfect separation, 0.5 is chance, 0 is perfectly reversed.
    /// Runs in O(n log n).
    /// </summary>
    /// <exception cref="ArgumentException">A list is empty or holds NaN or an infinity.</exception>
    public static double Auroc(IReadOnlyList<double> goodScores, IReadOnlyList<double> defectScores)
    {
        var groups = TieGroupsAscending(goodScores, defectScores);
        // Each defective image beats every good image in a lower tie group and half of those in its own.
        double wins = 0;
        long goodBelow = 0;
        foreach (var group in groups)
        {
            wins += group.DefectCount * (goodBelow + 0.5 * group.GoodCount);
            goodBelow += group.GoodCount;
        }
        return wins / ((double)goodScores.Count * defectScores.Count);
    }

    /// <summary>
    /// The ROC curve from (0, 0) to (1, 1), one point per distinct score, thresholds descending.
    /// The first point's threshold is the highest score (nothing lies strictly above it); every further
    /// threshold is the next lower distinct score, and the last, which flags everything, is
    /// <see cref="double.NegativeInfinity"/>. Tied good and defective scores give a diagonal step, so the
    /// trapezoidal area under the curve equals <see cref="Auroc"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A list is empty or holds NaN or an infinity.</exception>
    public static IReadOnlyList<RocPoint> Curve(IReadOnlyList<double> goodScores, IReadOnlyList<double> defectScores)
    {
        var groups = TieGroupsAscending(goodScores, defectScores);
        double goodTotal = goodScores.Count, defectTotal = defectScores.Count;
        var points = new List<RocPoint>(groups.Count + 1) { new(groups[^1].Score, 0, 0) };
        long flaggedGood = 0, flaggedDefect = 0;
        for (var i = groups.Count - 1; i >= 0; i--)
        {
            flaggedGood += groups[i].GoodCount;
            flaggedDefect += groups[i].DefectCount;
            var threshold = i > 0 ? groups[i - 1].Score : double.NegativeInfinity;
            points.Add(new RocPoint(threshold, flaggedGood / goodTotal, flaggedDefect / defectTotal));
        }
        return points;
    }

    private readonly record struct TieGroup(double Score, int GoodCount, int DefectCount);

    /// <summary>The distinct scores in ascending order, each with how many good and defective images have it.</summary>
    private static List<TieGroup> TieGroupsAscending(IReadOnlyList<double> goodScores, IReadOnlyList<double> defectScores)
    {
        ScoreChecks.RequireNonEmptyFinite(goodScores, nameof(goodScores), NeedsBothClasses);
        ScoreChecks.RequireNonEmptyFinite(defectScores, nameof(defectScores), NeedsBothClasses);

        var labelled = new (double Score, bool IsDefect)[goodScores.Count + defectScores.Count];
        for (var i = 0; i < goodScores.Count; i++)
            labelled[i] = (goodScores[i], false);
        for (var i = 0; i < defectScores.Count; i++)
            labelled[goodScores.Count + i] = (defectScores[i], true);
        Array.Sort(labelled, (a, b) => a.Score.CompareTo(b.Score));

        var groups = new List<TieGroup>();
        for (var start = 0; start < labelled.Length;)
        {
            int good = 0, defect = 0, end = start;
            for (; end < labelled.Length && labelled[end].Score == labelled[start].Score; end++)
            {
                if (labelled[end].IsDefect) defect++;
                else good++;
            }
            groups.Add(new TieGroup(labelled[start].Score, good, defect));
            start = end;
        }
        return groups;
    }
}
