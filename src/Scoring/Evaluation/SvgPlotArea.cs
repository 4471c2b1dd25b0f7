using System.Globalization;
using System.Net;
using System.Text;

namespace Pipeline.Scoring.Evaluation;

/// <summary>An axis tick: where it sits in data units and what it reads.</summary>
internal readonly record struct AxisTick(double Value, string Label);

/// <summary>
/// The frame of an inline SVG chart: maps data coordinates onto the plot area and draws the grid,
/// ticks and axis titles. Styling comes from the report's CSS classes (<c>grid</c>, <c>axis</c>, <c>tick</c>, <c>axis-title</c>).
/// </summary>
internal sealed class SvgPlotArea(double width, double height, double xMin, double xMax, double yMin, double yMax)
{
    private const double MarginLeft = 64, MarginRight = 20, MarginTop = 16, MarginBottom = 52;

    private double PlotWidth => width - MarginLeft - MarginRight;
    private double PlotHeight => height - MarginTop - MarginBottom;
    public double Left => MarginLeft;
    public double Right => width - MarginRight;
    public double Top => MarginTop;
    public double Bottom => height - MarginBottom;

    public double X(double value) => MarginLeft + (value - xMin) / (xMax - xMin) * PlotWidth;
    public double Y(double value) => MarginTop + PlotHeight - (value - yMin) / (yMax - yMin) * PlotHeight;

    /// <summary>Opens the <c>svg</c> element; <paramref name="description"/> becomes its accessible name.</summary>
    public void Open(StringBuilder svg, string cssClass, string description) =>
        svg.Append(CultureInfo.InvariantCulture,
            $"""<svg class="{cssClass}" viewBox="0 0 {width} {height}" role="img" aria-label="{WebUtility.HtmlEncode(description)}">""")
            .AppendLine();

    public void Axes(StringBuilder svg, IEnumerable<AxisTick> xTicks, IEnumerable<AxisTick> yTicks, string xTitle, string yTitle)
    {
        foreach (var tick in xTicks)
        {
            var x = X(tick.Value);
            Line(svg, "grid", x, Top, x, Bottom);
            Text(svg, "tick", x, Bottom + 18, "middle", tick.Label);
        }
        foreach (var tick in yTicks)
        {
            var y = Y(tick.Value);
            Line(svg, "grid", Left, y, Right, y);
            Text(svg, "tick", Left - 8, y + 4, "end", tick.Label);
        }
        Line(svg, "axis", Left, Bottom, Right, Bottom);
        Line(svg, "axis", Left, Top, Left, Bottom);
        Text(svg, "axis-title", (Left + Right) / 2, height - 10, "middle", xTitle);
        svg.Append(CultureInfo.InvariantCulture,
            $"""<text class="axis-title" text-anchor="middle" transform="translate(14 {(Top + Bottom) / 2:F1}) rotate(-90)">{WebUtility.HtmlEncode(yTitle)}</text>""")
            .AppendLine();
    }

    public static void Close(StringBuilder svg) => svg.AppendLine("</svg>");

    public static void Line(StringBuilder svg, string cssClass, double x1, double y1, double x2, double y2) =>
        svg.Append(CultureInfo.InvariantCulture,
            $"""<line class="{cssClass}" x1="{x1:F1}" y1="{y1:F1}" x2="{x2:F1}" y2="{y2:F1}"/>""").AppendLine();

    public static void Text(StringBuilder svg, string cssClass, double x, double y, string anchor, string text) =>
        svg.Append(CultureInfo.InvariantCulture,
            $"""<text class="{cssClass}" x="{x:F1}" y="{y:F1}" text-anchor="{anchor}">{WebUtility.HtmlEncode(text)}</text>""").AppendLine();
}
