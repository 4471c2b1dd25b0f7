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

        // Columns as wide as their widest cell and two spaces apart, so that no score runs into the next.
        string[] header = ["scores", "count", "mean", "std", "min", "median", "p95", "max"];
        var rows = new[] { ("good", result.GoodScoreStatistics), ("defect", result.DefectScoreStatistics) }
            .Select(row => new[]
            {
                row.Item1, row.Item2.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), Score(row.Item2.Mean),
                Score(row.Item2.StandardDeviation), Score(row.Item2.Min), Score(row.Item2.Median), Score(row.Item2.P95), Score(row.Item2.Max),
            })
            .Prepend(header)
            .ToArray();
        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        text.AppendLine();

        text.AppendLine(
            $"Threshold {Score(result.Threshold)} (defective when the score is above it): "
            + $"flags {Percent(result.ObservedFalseAlarmRate)} of good parts (target {Percent(result.FalseAlarmRateTarget)}), "
            + $"detects {Percent(result.DetectionRate)} of defective parts.");
        if (result.PixelAuroc is { } pixelAuroc)
        {
            text.AppendLine();
            text.AppendLine($"Pixel AUROC {Percent(pixelAuroc)}, AUPRO (to 30 % FPR) {Percent(result.PixelAupro ?? double.NaN)}");
            foreach (var (defectType, auroc) in result.PixelAurocPerDefect!)
                text.AppendLine($"  {defectType.PadRight(typeWidth)}  pixel AUROC {Percent(auroc),7}  AUPRO {Percent(result.PixelAuproPerDefect![defectType]),7}");
        }
        return text.ToString();
    }
}
