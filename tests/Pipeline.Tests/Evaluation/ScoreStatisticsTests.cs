using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class ScoreStatisticsTests
{
    [Fact]
    public void Statistics_of_1_to_5_in_any_order()
    {
        var statistics = ScoreStatistics.Of([4.0, 1.0, 5.0, 3.0, 2.0]);

        Assert.Equal(5, statistics.Count);
        Assert.Equal(3.0, statistics.Mean, precision: 12);
        Assert.Equal(Math.Sqrt(2), statistics.StandardDeviation, precision: 12);
        Assert.Equal(1.0, statistics.Min);
        Assert.Equal(3.0, statistics.Median);
        Assert.Equal(4.8, statistics.P95, precision: 12); // 95 % of the way from rank 1 to rank 5.
        Assert.Equal(5.0, statistics.Max);
    }

    [Fact]
    public void A_single_score_is_its_own_median_and_has_no_spread()
    {
        Assert.Equal(new ScoreStatistics(1, 2.5, 0, 2.5, 2.5, 2.5, 2.5), ScoreStatistics.Of([2.5]));
    }
}
