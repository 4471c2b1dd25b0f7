using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class ThresholdCalibrationTests
{
    private static readonly double[] OneToHundred = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

    [Fact]
    public void Five_percent_of_the_scores_1_to_100_lie_above_95()
    {
        Assert.Equal(95, ThresholdCalibration.AtFalseAlarmRate(OneToHundred, 0.05));
    }

    [Fact]
    public void A_rate_whose_product_with_n_rounds_up_still_gives_the_tight_threshold()
    {
        // 0.07 * 100 is 7.000000000000001 in floating point; 7 of 100 above is still within 7 %.
        Assert.Equal(93, ThresholdCalibration.AtFalseAlarmRate(OneToHundred, 0.07));
    }

    [Fact]
    public void A_rate_of_zero_gives_the_highest_good_score()
    {
        Assert.Equal(7.5, ThresholdCalibration.AtFalseAlarmRate([3.0, 7.5, 1.0], 0));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.05)]
    [InlineData(0.1)]
    [InlineData(0.333)]
    [InlineData(0.5)]
    [InlineData(0.99)]
    public void The_threshold_leaves_at_most_the_rate_above_it_and_no_lower_good_score_would(double rate)
    {
        var random = new Random(7);
        foreach (var n in new[] { 1, 2, 7, 20, 101, 1000 })
        {
            // Coarse grid: many ties, which a quantile must not count as "above".
            var good = Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble() * 30)).ToArray();

            var threshold = ThresholdCalibration.AtFalseAlarmRate(good, rate);

            Assert.Contains(threshold, good);
            Assert.True((double)good.Count(s => s > threshold) / n <= rate, $"n={n}: too many above {threshold}");
            // The next lower good score as threshold would flag every score at or above this one.
            Assert.True((double)good.Count(s => s >= threshold) / n > rate, $"n={n}: {threshold} is not tight");
        }
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_rate_outside_zero_to_one_is_rejected(double rate)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ThresholdCalibration.AtFalseAlarmRate(OneToHundred, rate));

        Assert.Equal("falseAlarmRate", error.ParamName);
    }

    [Fact]
    public void Calibrating_without_good_scores_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => ThresholdCalibration.AtFalseAlarmRate([], 0.05));

        Assert.Contains("goodScores is empty", error.Message);
    }
}
