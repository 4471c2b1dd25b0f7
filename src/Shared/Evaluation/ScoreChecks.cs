namespace Pipeline.Shared.Evaluation;

/// <summary>The argument checks every evaluation entry point applies to anomaly scores and rates.</summary>
internal static class ScoreChecks
{
    /// <summary>Throws unless <paramref name="scores"/> is non-empty and every score is finite.</summary>
    /// <param name="whyNeeded">Completes "… is empty; " with what the caller needs the scores for.</param>
    public static void RequireNonEmptyFinite(IReadOnlyList<double> scores, string paramName, string whyNeeded)
    {
        ArgumentNullException.ThrowIfNull(scores, paramName);
        if (scores.Count == 0)
            throw new ArgumentException($"{paramName} is empty; {whyNeeded}", paramName);
        for (var i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i]))
                throw new ArgumentException(
                    $"{paramName}[{i}] is {scores[i]}; anomaly scores must be finite numbers. Check the model output for that image.",
                    paramName);
        }
    }

    /// <summary>Throws unless <paramref name="falseAlarmRate"/> lies in [0, 1).</summary>
    public static void RequireFalseAlarmRate(double falseAlarmRate, string paramName)
    {
        if (!(falseAlarmRate >= 0 && falseAlarmRate < 1))
            throw new ArgumentOutOfRangeException(
                paramName, falseAlarmRate,
                "The false-alarm rate is the fraction of good parts that may be flagged and must lie in [0, 1), e.g. 0.05 for 5 %.");
    }
}
