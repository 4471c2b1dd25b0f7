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
}
