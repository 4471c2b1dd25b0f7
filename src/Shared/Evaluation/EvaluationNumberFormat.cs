using System.Globalization;

namespace Pipeline.Shared.Evaluation;

/// <summary>How evaluation numbers read in summaries and reports, whatever the machine's culture.</summary>
public static class EvaluationNumberFormat
{
    /// <summary>A fraction as a percentage with one decimal: 0.9812 → "98.1 %".</summary>
    public static string Percent(double fraction) =>
        (fraction * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";

    /// <summary>An anomaly score with five significant digits: 0.412345 → "0.41235".</summary>
    public static string Score(double score) => score.ToString("G5", CultureInfo.InvariantCulture);
}
