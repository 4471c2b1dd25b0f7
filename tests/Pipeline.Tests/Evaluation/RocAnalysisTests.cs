using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class RocAnalysisTests
{
    [Fact]
    public void Perfectly_separated_scores_give_an_auroc_of_1()
    {
        Assert.Equal(1.0, RocAnalysis.Auroc([0.1, 0.2, 0.3], [0.4, 0.9]));
    }

    [Fact]
    public void Reversed_scores_give_an_auroc_of_0()
    {
        Assert.Equal(0.0, RocAnalysis.Auroc([0.4, 0.9], [0.1, 0.2, 0.3]));
    }

    [Fact]
    public void All_tied_scores_give_an_auroc_of_one_half()
    {
        Assert.Equal(0.5, RocAnalysis.Auroc([2.0, 2.0, 2.0], [2.0, 2.0]));
    }

    [Fact]
    public void Ties_between_good_and_defect_count_one_half()
    {
        // 12 (defect, good) pairs. Defect 4 beats all 4 goods; defect 3 beats 1 and 2 and ties both 3s
        // (2 + 2·½); defect 2 beats 1 and ties 2 (1 + ½). Total 4 + 3 + 1.5 = 8.5.
        double[] good = [1, 2, 3, 3];
        double[] defect = [3, 4, 2];

        Assert.Equal(8.5 / 12, RocAnalysis.Auroc(good, defect), precision: 12);
    }

    [Fact]
    public void Auroc_equals_the_trapezoidal_area_under_the_curve()
    {
        var random = new Random(20240611);
        // Rounded to a coarse grid so that many good and defect scores tie.
        var good = Enumerable.Range(0, 300).Select(_ => Math.Round(random.NextDouble() * 10) / 2).ToArray();
        var defect = Enumerable.Range(0, 120).Select(_ => Math.Round(random.NextDouble() * 10 + 3) / 2).ToArray();

        var curve = RocAnalysis.Curve(good, defect);
        var area = curve.Zip(curve.Skip(1))
            .Sum(p => (p.Second.FalsePositiveRate - p.First.FalsePositiveRate)
                      * (p.First.TruePositiveRate + p.Second.TruePositiveRate) / 2);

        Assert.Equal(RocAnalysis.Auroc(good, defect), area, precision: 12);
    }

    [Fact]
    public void The_curve_runs_from_nothing_flagged_to_everything_flagged_with_falling_thresholds()
    {
        double[] good = [1, 2, 3, 3];
        double[] defect = [3, 4, 2];

        var curve = RocAnalysis.Curve(good, defect);

        Assert.Equal(new RocPoint(4, 0, 0), curve[0]);
        Assert.Equal(new RocPoint(double.NegativeInfinity, 1, 1), curve[^1]);
        Assert.All(curve.Zip(curve.Skip(1)), p =>
        {
            Assert.True(p.Second.Threshold < p.First.Threshold);
            Assert.True(p.Second.FalsePositiveRate >= p.First.FalsePositiveRate);
            Assert.True(p.Second.TruePositiveRate >= p.First.TruePositiveRate);
        });
    }

    [Fact]
    public void Each_curve_point_is_what_flagging_scores_above_its_threshold_does()
    {
        double[] good = [1, 2, 3, 3];
        double[] defect = [3, 4, 2];

        foreach (var point in RocAnalysis.Curve(good, defect))
        {
            Assert.Equal(good.Count(s => s > point.Threshold) / 4.0, point.FalsePositiveRate);
            Assert.Equal(defect.Count(s => s > point.Threshold) / 3.0, point.TruePositiveRate);
        }
    }

    [Fact]
    public void An_empty_class_is_rejected_with_a_message_naming_it()
    {
        var error = Assert.Throws<ArgumentException>(() => RocAnalysis.Auroc([1.0], []));

        Assert.Equal("defectScores", error.ParamName);
        Assert.Contains("empty", error.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_score_is_rejected_with_its_position(double badScore)
    {
        var error = Assert.Throws<ArgumentException>(() => RocAnalysis.Curve([1.0, badScore], [2.0]));

        Assert.Equal("goodScores", error.ParamName);
        Assert.Contains("goodScores[1]", error.Message);
    }
}
