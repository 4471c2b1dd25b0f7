namespace Pipeline.Shared.Evaluation;

/// <summary>
/// Chooses the decision threshold from the scores of good images alone. A part is judged defective
/// when its score is strictly above the threshold.
/// </summary>
public static class ThresholdCalibration
{
    /// <summary>
    /// The lowest good score that leaves at most <paramref name="falseAlarmRate"/> of
    /// <paramref name="goodScores"/> strictly above it: the empirical quantile at rank
    /// ceil((1 − rate) · n) of the sorted scores. A rate of 0 gives the highest good score.
    /// </summary>
    /// <param name="falseAlarmRate">Fraction of good parts that may be flagged, in [0, 1), e.g. 0.05.</param>
    /// <exception cref="ArgumentException"><paramref name="goodScores"/> is empty or holds NaN or an infinity.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="falseAlarmRate"/> is outside [0, 1).</exception>
    public static double AtFalseAlarmRate(IReadOnlyList<double> goodScores, double falseAlarmRate)
    {
        ScoreChecks.RequireNonEmptyFinite(goodScores, nameof(goodScores),
            "calibrating a threshold needs the scores of good (defect-free) images.");
        ScoreChecks.RequireFalseAlarmRate(falseAlarmRate, nameof(falseAlarmRate));

        var n = goodScores.Count;
        var allowedAbove = MostFlaggedWithin(falseAlarmRate, n);
        var sorted = goodScores.Order().ToArray();
        return sorted[n - 1 - allowedAbove];
    }

    /// <summary>
    /// The largest m with m / n ≤ rate, compared the way an observed rate is computed, so that
    /// rounding in rate · n (0.07 · 100 = 7.000000000000001) neither loosens nor tightens the bound.
    /// </summary>
    private static int MostFlaggedWithin(double rate, int n)
    {
        var m = (int)Math.Floor(rate * n);
        while (m > 0 && (double)m / n > rate) m--;
        while (m + 1 < n && (double)(m + 1) / n <= rate) m++;
        return m;
    }
}
