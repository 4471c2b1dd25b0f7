namespace Pipeline.Shared.Evaluation;

/// <summary>
/// Summary of a set of anomaly scores. <see cref="StandardDeviation"/> is the population standard
/// deviation; <see cref="Median"/> and <see cref="P95"/> interpolate linearly between ranks.
/// </summary>
public sealed record ScoreStatistics(
    int Count, double Mean, double StandardDeviation, double Min, double Median, double P95, double Max)
{
    /// <exception cref="ArgumentException"><paramref name="scores"/> is empty or holds NaN or an infinity.</exception>
    public static ScoreStatistics Of(IReadOnlyList<double> scores)
    {
        ScoreChecks.RequireNonEmptyFinite(scores, nameof(scores), "statistics need at least one score.");
        var sorted = scores.Order().ToArray();
        var mean = sorted.Average();
        var variance = sorted.Sum(s => (s - mean) * (s - mean)) / sorted.Length;
        return new ScoreStatistics(
            sorted.Length, mean, Math.Sqrt(variance), sorted[0], Quantile(sorted, 0.5), Quantile(sorted, 0.95), sorted[^1]);
    }

    private static double Quantile(double[] sorted, double p)
    {
        var position = (sorted.Length - 1) * p;
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
