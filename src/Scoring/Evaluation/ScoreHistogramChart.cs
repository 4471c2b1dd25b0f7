using System.Globalization;
using System.Text;
using Pipeline.Shared.Evaluation;
using static Pipeline.Shared.Evaluation.EvaluationNumberFormat;

namespace Pipeline.Scoring.Evaluation;

/// <summary>
/// Score histograms of good and defective images as inline SVG, overlaid on shared bins. Bar heights
/// are the share of each class's images, so classes of different sizes compare; the threshold is a
/// vertical line. Heavy-tailed scores (all positive, the highest over <see cref="LogScaleRatio"/> times the lowest, as
/// when defective parts score 10⁷ and good ones 1.5) get bins of equal width in log₁₀ of the score, and the axis says so.
/// </summary>
internal static class ScoreHistogramChart
{
    /// <summary>Scores spread over more than this factor are binned by their logarithm.</summary>
    public const double LogScaleRatio = 100;

    /// <summary>Whether <see cref="Render"/> bins these scores by their logarithm.</summary>
    public static bool UsesLogScale(EvaluationResult result)
    {
        var scores = result.Images.Select(i => i.Score).Append(result.Threshold).ToArray();
        return scores.Min() > 0 && scores.Max() / scores.Min() > LogScaleRatio;
    }

    public static string Render(EvaluationResult result)
    {
        var log = UsesLogScale(result);
        Func<double, double> toAxis = log ? Math.Log10 : s => s;
        Func<double, string> tickLabel = log ? v => Score(Math.Pow(10, v)) : Score;
        var scores = result.Images.Select(i => toAxis(i.Score)).Append(toAxis(result.Threshold)).ToArray();
        double lowest = scores.Min(), highest = scores.Max();
        if (highest - lowest < 1e-9 * Math.Max(1, Math.Abs(highest)))
            (lowest, highest) = (lowest - 0.5, highest + 0.5);
        var xAxis = RoundAxis.Around(lowest, highest, maxSteps: 5);
        double low = xAxis.Low, high = xAxis.High;
        // About 2·√n bins, a whole number of them per tick step so that bin edges meet the ticks.
        var binsPerStep = Math.Max(1, (int)Math.Round(Math.Clamp(2 * Math.Sqrt(result.Images.Count), 10, 40) / xAxis.StepCount));
        var binCount = xAxis.StepCount * binsPerStep;
        var binWidth = (high - low) / binCount;

        var goodShare = Shares(result.Images.Where(i => !i.IsDefective).Select(i => toAxis(i.Score)), low, binWidth, binCount);
        var defectShare = Shares(result.Images.Where(i => i.IsDefective).Select(i => toAxis(i.Score)), low, binWidth, binCount);
        var yAxis = RoundAxis.Around(0, Math.Max(goodShare.Max(), defectShare.Max()), maxSteps: 4);

        var plot = new SvgPlotArea(640, 420, low, high, 0, yAxis.High);
        var svg = new StringBuilder();
        plot.Open(svg, "chart histogram", "Histogram of anomaly scores of good and defective images with the threshold");
        var xTicks = xAxis.Ticks.Select(v => new AxisTick(v, tickLabel(v)));
        var yTicks = yAxis.Ticks.Select(v => new AxisTick(v, (v * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %"));
        plot.Axes(svg, xTicks, yTicks, log ? "Anomaly score (logarithmic: bins of equal width in log₁₀ score)" : "Anomaly score", "Share of the class's images");

        Bars(svg, plot, "bar-good", goodShare, low, binWidth);
        Bars(svg, plot, "bar-defect", defectShare, low, binWidth);

        var thresholdX = plot.X(toAxis(result.Threshold));
        SvgPlotArea.Line(svg, "threshold", thresholdX, plot.Top, thresholdX, plot.Bottom);
        var labelOnLeft = thresholdX > (plot.Left + plot.Right) / 2;
        SvgPlotArea.Text(svg, "threshold-label", thresholdX + (labelOnLeft ? -6 : 6), plot.Top + 14,
            labelOnLeft ? "end" : "start", $"threshold {Score(result.Threshold)}");

        double legendX = plot.Right - 150, legendY = plot.Top + 34;
        LegendSwatch(svg, "bar-good", legendX, legendY, $"good ({result.NGood})");
        LegendSwatch(svg, "bar-defect", legendX, legendY + 22, $"defective ({result.NDefect})");

        SvgPlotArea.Close(svg);
        return svg.ToString();
    }

    private static double[] Shares(IEnumerable<double> values, double low, double binWidth, int binCount)
    {
        var counts = new double[binCount];
        var total = 0;
        foreach (var value in values)
        {
            counts[Math.Clamp((int)((value - low) / binWidth), 0, binCount - 1)]++;
            total++;
        }
        return counts.Select(c => c / total).ToArray();
    }

    private static void Bars(StringBuilder svg, SvgPlotArea plot, string cssClass, double[] shares, double low, double binWidth)
    {
        for (var bin = 0; bin < shares.Length; bin++)
        {
            if (shares[bin] == 0) continue;
            double x = plot.X(low + bin * binWidth), right = plot.X(low + (bin + 1) * binWidth), top = plot.Y(shares[bin]);
            svg.Append(CultureInfo.InvariantCulture,
                $"""<rect class="{cssClass}" x="{x:F1}" y="{top:F1}" width="{right - x:F1}" height="{plot.Bottom - top:F1}"/>""")
                .AppendLine();
        }
    }

    private static void LegendSwatch(StringBuilder svg, string cssClass, double x, double y, string label)
    {
        svg.Append(CultureInfo.InvariantCulture,
            $"""<rect class="{cssClass}" x="{x:F1}" y="{y - 10:F1}" width="14" height="14"/>""").AppendLine();
        SvgPlotArea.Text(svg, "legend", x + 22, y + 2, "start", label);
    }
}
