using Pipeline.Shared.Evaluation;

namespace Pipeline.Tests.Evaluation;

/// <summary>
/// A small labelled test set whose metrics are easy to count by hand. At threshold 0.5 one good part
/// (g4) of five is flagged and one crack (c1) is missed.
/// </summary>
internal static class SampleEvaluation
{
    public const double Threshold = 0.5;
    public const double FalseAlarmRateTarget = 0.25;

    public static readonly ScoredImage[] Images =
    [
        new("test/good/g1.png", ScoredImage.Good, 0.1),
        new("test/good/g2.png", ScoredImage.Good, 0.2),
        new("test/good/g3.png", ScoredImage.Good, 0.3),
        new("test/good/g4.png", ScoredImage.Good, 0.9),
        new("test/good/g5.png", ScoredImage.Good, 0.05),
        new("test/scratch/s1.png", "scratch", 0.8),
        new("test/scratch/s2.png", "scratch", 0.7),
        new("test/crack/c1.png", "crack", 0.4),
        new("test/crack/c2.png", "crack", 0.95),
    ];

    public static EvaluationResult Result() => EvaluationResult.FromScores(Images, Threshold, FalseAlarmRateTarget);
}
