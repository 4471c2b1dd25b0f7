using System.Text;
using static Pipeline.Shared.Evaluation.EvaluationNumberFormat;

namespace Pipeline.Shared.Evaluation;

/// <summary>The console summary of an evaluation: AUROC, score statistics and what the threshold does.</summary>
public static class EvaluationSummaryText
{
    public static string Format(EvaluationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder();
        text.AppendLine($"Evaluated {result.NGood + result.NDefect} images: {result.NGood} good, {result.NDefect} defective.");
        text.AppendLine();

        text.AppendLine($"AUROC {Percent(result.Auroc)}");
        var typeWidth = result.AurocPerDefect.Keys.Max(k => k.Length);
        foreach (var (defectType, auroc) in result.AurocPerDefect)
        {
            text.AppendLine(
                $"  {defectType.PadRight(typeWidth)}  AUROC {Percent(auroc),7}"
                + $"  detects {Percent(result.DetectionRatePerDefect[defectType]),7}"
                + $" of {result.NDefectPerType[defectType]}");
        }
        text.AppendLine();

        const int column = 10;
        text.AppendLine($"{"scores",-7}{"count",column}{"mean",column}{"std",column}{"min",column}{"median",column}{"p95",column}{"max",column}");
        foreach (var (label, s) in new[] { ("good", result.GoodScoreStatistics), ("defect", result.DefectScoreStatistics) })
        {
            text.AppendLine(
                $"{label,-7}{s.Count,column}{Score(s.Mean),column}{Score(s.StandardDeviation),column}{Score(s.Min),column}"
                + $"{Score(s.Median),column}{Score(s.P95),column}{Score(s.Max),column}");
        }
        text.AppendLine();

        text.AppendLine(
            $"Threshold {Score(result.Threshold)} (defective when the score is above it): "
            + $"flags {Percent(result.ObservedFalseAlarmRate)} of good parts (target {Percent(result.FalseAlarmRateTarget)}), "
            + $"detects {Percent(result.DetectionRate)} of defective parts.");
        return text.ToString();
    }
}
