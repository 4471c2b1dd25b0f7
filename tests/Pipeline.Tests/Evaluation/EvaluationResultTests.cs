using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class EvaluationResultTests
{
    [Fact]
    public void Metrics_are_counted_over_all_images_and_per_defect_type()
    {
        var result = SampleEvaluation.Result();

        // Defects 0.8, 0.7 and 0.4 beat 4 of the 5 good scores, 0.95 beats all 5: 17 of 20 pairs.
        Assert.Equal(17.0 / 20, result.Auroc, precision: 12);
        Assert.Equal(["crack", "scratch"], result.AurocPerDefect.Keys);
        Assert.Equal(9.0 / 10, result.AurocPerDefect["crack"], precision: 12);
        Assert.Equal(8.0 / 10, result.AurocPerDefect["scratch"], precision: 12);
        Assert.Equal(0.5, result.DetectionRatePerDefect["crack"]);
        Assert.Equal(1.0, result.DetectionRatePerDefect["scratch"]);
        Assert.Equal(2, result.NDefectPerType["crack"]);
        Assert.Equal(0.2, result.ObservedFalseAlarmRate);
        Assert.Equal(0.75, result.DetectionRate);
        Assert.Equal(5, result.NGood);
        Assert.Equal(4, result.NDefect);
        Assert.Equal(0.9, result.GoodScoreStatistics.Max);
        Assert.Equal(0.4, result.DefectScoreStatistics.Min);
        Assert.Equal(SampleEvaluation.Images, result.Images);
    }

    [Fact]
    public void A_verdict_is_wrong_for_a_flagged_good_part_and_a_missed_defect()
    {
        var result = SampleEvaluation.Result();

        var misjudged = result.Images.Where(result.IsMisjudged).Select(i => i.Path);

        Assert.Equal(["test/good/g4.png", "test/crack/c1.png"], misjudged);
    }

    [Fact]
    public void A_test_set_without_good_images_is_rejected()
    {
        ScoredImage[] onlyDefects = [new("a.png", "scratch", 1.0)];

        var error = Assert.Throws<ArgumentException>(() => EvaluationResult.FromScores(onlyDefects, 0.5, 0.05));

        Assert.Contains("0 good and 1 defective", error.Message);
    }

    [Fact]
    public void An_image_with_a_non_finite_score_is_named_in_the_error()
    {
        ScoredImage[] images = [.. SampleEvaluation.Images, new("test/good/broken.png", ScoredImage.Good, double.NaN)];

        var error = Assert.Throws<ArgumentException>(() => EvaluationResult.FromScores(images, 0.5, 0.05));

        Assert.Contains("test/good/broken.png", error.Message);
    }
}
