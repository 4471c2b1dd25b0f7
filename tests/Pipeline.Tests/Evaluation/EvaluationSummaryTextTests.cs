using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class EvaluationSummaryTextTests
{
    [Fact]
    public void The_summary_states_auroc_statistics_and_what_the_threshold_does()
    {
        var summary = EvaluationSummaryText.Format(SampleEvaluation.Result());

        Assert.Contains("AUROC 85.0 %", summary);
        Assert.Matches(@"crack\s+AUROC\s+90.0 %\s+detects\s+50.0 % of 2", summary);
        Assert.Matches(@"scratch\s+AUROC\s+80.0 %\s+detects\s+100.0 % of 2", summary);
        Assert.Matches(@"good\s+5\s+0.31\s", summary);
        Assert.Matches(@"defect\s+4\s+0.7125\s", summary);
        Assert.Contains(
            "flags 20.0 % of good parts (target 25.0 %), detects 75.0 % of defective parts",
            summary);
    }

    [Fact]
    public void The_score_table_keeps_its_columns_apart_for_scores_of_any_magnitude()
    {
        // Scores as on real data: good parts near 1.5, defective ones up to 10⁷ (written 5.3776E+06).
        ScoredImage[] images =
        [
            new("g1", ScoredImage.Good, 1.4), new("g2", ScoredImage.Good, 1.6), new("g3", ScoredImage.Good, 636.8434),
            new("d1", "crack", 684_340), new("d2", "crack", 5_377_600), new("d3", "crack", 12_345_678.9),
        ];
        var summary = EvaluationSummaryText.Format(EvaluationResult.FromScores(images, 2, 0.05));

        var table = summary.Split('\n').SkipWhile(line => !line.StartsWith("scores", StringComparison.Ordinal)).Take(3).ToArray();
        var header = table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(table, row => Assert.Equal(header.Length, row.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
        // Every column ends where its heading ends.
        var ends = header.Select(h => table[0].IndexOf(h, StringComparison.Ordinal) + h.Length).Skip(1).ToArray();
        foreach (var row in table.Skip(1))
            Assert.All(ends, end => Assert.True(end == row.Length || row[end] == ' ', $"column ending at {end} runs on in '{row}'"));
    }
}
