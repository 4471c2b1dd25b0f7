using Pipeline.Host.OperatorConsole;
using Xunit;

namespace Pipeline.Tests.Console;

public class ConsoleOptionsTests
{
    [Fact]
    public void Unusable_console_settings_are_named_with_their_value_and_what_would_do()
    {
        var options = new ConsoleOptions { RecentAnomalies = 0, ReviewQueue = -1, ReviewScoreFraction = double.NaN, RateWindowSeconds = 0 };

        Assert.Equal(
            [
                "Pipeline:Console:RecentAnomalies is 0; use at least 1 (100 by default).",
                "Pipeline:Console:ReviewQueue is -1; use 0 or more (0 turns the review queue off; 50 by default).",
                "Pipeline:Console:ReviewScoreFraction is NaN; use 0 to 1 (a share of the threshold; 0.5 by default).",
                "Pipeline:Console:RateWindowSeconds is 0; use more than 0 (60 by default).",
            ],
            new ConsoleOptionsValidator().Validate(null, options).Failures);
        Assert.True(new ConsoleOptionsValidator().Validate(null, new ConsoleOptions { ReviewQueue = 0 }).Succeeded);
    }
}
