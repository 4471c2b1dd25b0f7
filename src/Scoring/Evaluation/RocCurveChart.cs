using System.Globalization;
using System.Text;
using Pipeline.Shared.Evaluation;
using static Pipeline.Shared.Evaluation.EvaluationNumberFormat;

namespace Pipeline.Scoring.Evaluation;

/// <summary>The ROC curve as inline SVG: chance diagonal, the curve, and the operating point of the threshold.</summary>
internal static class RocCurveChart
{
    public static string Render(EvaluationResult result)
    {
        var good = result.Images.Where(i => !i.IsDefective).Select(i => i.Score).ToArray();
        var defect = result.Images.Where(i => i.IsDefective).Select(i => i.Score).ToArray();
        var curve = RocAnalysis.Curve(good, defect);

        var plot = new SvgPlotArea(440, 420, 0, 1, 0, 1);
        var svg = new StringBuilder();
        plot.Open(svg, "chart roc", $"ROC curve, AUROC {Percent(result.Auroc)}");
        var ticks = Enumerable.Range(0, 6).Select(i => new AxisTick(i / 5.0, $"{i * 20} %")).ToArray();
        plot.Axes(svg, ticks, ticks, "False-alarm rate (good parts flagged)", "Detection rate (defective parts flagged)");

        SvgPlotArea.Line(svg, "chance", plot.X(0), plot.Y(0), plot.X(1), plot.Y(1));
        svg.Append("<polyline class=\"roc-line\" points=\"");
        foreach (var point in curve)
            svg.Append(CultureInfo.InvariantCulture, $"{plot.X(point.FalsePositiveRate):F1},{plot.Y(point.TruePositiveRate):F1} ");
        svg.AppendLine("\"/>");

        svg.Append(CultureInfo.InvariantCulture,
            $"""<circle class="operating-point" cx="{plot.X(result.ObservedFalseAlarmRate):F1}" cy="{plot.Y(result.DetectionRate):F1}" r="5"/>""")
            .AppendLine();

        // Legend, bottom right where a useful curve leaves room.
        double legendX = plot.X(0.42), legendY = plot.Y(0.24);
        svg.Append(CultureInfo.InvariantCulture,
            $"""<rect class="legend-box" x="{legendX - 10:F1}" y="{legendY - 16:F1}" width="{plot.Right - legendX:F1}" height="66" rx="4"/>""")
            .AppendLine();
        LegendEntry(svg, "roc-line", legendX, legendY, $"ROC, AUROC {Percent(result.Auroc)}");
        LegendEntry(svg, "chance", legendX, legendY + 20, "Chance, AUROC 50 %");
        svg.Append(CultureInfo.InvariantCulture,
            $"""<circle class="operating-point" cx="{legendX + 11:F1}" cy="{legendY + 36:F1}" r="5"/>""").AppendLine();
        SvgPlotArea.Text(svg, "legend", legendX + 30, legendY + 40, "start", $"Threshold {Score(result.Threshold)}");

        SvgPlotArea.Close(svg);
        return svg.ToString();
    }

    /// <summary>The pixel-level ROC curve of the anomaly maps: every pixel of the test images is one sample.</summary>
    public static string RenderPixel(IReadOnlyList<RocPoint> curve, double auroc)
    {
        var plot = new SvgPlotArea(440, 420, 0, 1, 0, 1);
        var svg = new StringBuilder();
        plot.Open(svg, "chart roc", $"Pixel ROC curve, AUROC {Percent(auroc)}");
        var ticks = Enumerable.Range(0, 6).Select(i => new AxisTick(i / 5.0, $"{i * 20} %")).ToArray();
        plot.Axes(svg, ticks, ticks, "Defect-free pixels above the level", "Defective pixels above the level");
        SvgPlotArea.Line(svg, "chance", plot.X(0), plot.Y(0), plot.X(1), plot.Y(1));
        svg.Append("<polyline class=\"roc-line\" points=\"");
        foreach (var point in curve)
            svg.Append(CultureInfo.InvariantCulture, $"{plot.X(point.FalsePositiveRate):F1},{plot.Y(point.TruePositiveRate):F1} ");
        svg.AppendLine("\"/>");
        var limit = plot.X(PixelMetrics.DefaultFalsePositiveLimit);
        SvgPlotArea.Line(svg, "threshold", limit, plot.Top, limit, plot.Bottom);
        SvgPlotArea.Text(svg, "threshold-label", limit + 6, plot.Bottom - 8, "start", "AUPRO limit, 30 %");
        double legendX = plot.X(0.42), legendY = plot.Y(0.24);
        svg.Append(CultureInfo.InvariantCulture,
            $"""<rect class="legend-box" x="{legendX - 10:F1}" y="{legendY - 16:F1}" width="{plot.Right - legendX:F1}" height="46" rx="4"/>""")
            .AppendLine();
        LegendEntry(svg, "roc-line", legendX, legendY, $"pixels, AUROC {Percent(auroc)}");
        LegendEntry(svg, "chance", legendX, legendY + 20, "Chance, AUROC 50 %");
        SvgPlotArea.Close(svg);
        return svg.ToString();
    }

    private static void LegendEntry(StringBuilder svg, string lineClass, double x, double y, string label)
    {
        SvgPlotArea.Line(svg, lineClass, x, y, x + 22, y);
        SvgPlotArea.Text(svg, "legend", x + 30, y + 4, "start", label);
    }
}
