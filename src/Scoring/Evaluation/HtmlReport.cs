using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Shared.Evaluation;
using static Pipeline.Shared.Evaluation.EvaluationNumberFormat;

namespace Pipeline.Scoring.Evaluation;

/// <summary>
/// An evaluation as one self-contained HTML file: headline numbers, the ROC curve and the score
/// histograms as inline SVG, a per-defect-type table, and galleries of the highest- and lowest-scored
/// images with embedded JPEG thumbnails. It loads nothing from elsewhere, so it can be mailed or archived
/// as is.
/// </summary>
public static class HtmlReport
{
    public const int DefaultGallerySize = 12;

    /// <summary>Writes the report to <paramref name="path"/> (UTF-8), replacing any file there.</summary>
    /// <inheritdoc cref="Render"/>
    public static void Write(
        string path, EvaluationResult result, Func<ScoredImage, byte[]?> thumbnailJpeg, string title,
        string description = "", int gallerySize = DefaultGallerySize, Func<ScoredImage, byte[]?>? overlayJpeg = null) =>
        File.WriteAllText(path, Render(result, thumbnailJpeg, title, description, gallerySize, overlayJpeg), new UTF8Encoding(false));

    /// <param name="result">The evaluation to show.</param>
    /// <param name="thumbnailJpeg">
    /// JPEG bytes of a small preview of the image, or null where none can be made; called only for
    /// the images shown in the galleries.
    /// </param>
    /// <param name="title">Heading and window title, e.g. "bottle: model 3".</param>
    /// <param name="description">What was evaluated: model, data, settings. Line breaks are kept; empty shows nothing.</param>
    /// <param name="gallerySize">How many of the highest- and of the lowest-scored images to show.</param>
    /// <param name="overlayJpeg">
    /// JPEG bytes of the image with its anomaly map laid over it (and its mask's outline), or null where there is none;
    /// shown beside the preview in the galleries. Null: no overlays.
    /// </param>
    public static string Render(
        EvaluationResult result, Func<ScoredImage, byte[]?> thumbnailJpeg, string title,
        string description = "", int gallerySize = DefaultGallerySize, Func<ScoredImage, byte[]?>? overlayJpeg = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(thumbnailJpeg);
        ArgumentOutOfRangeException.ThrowIfNegative(gallerySize);

        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{Escape(title)}}</title>
            <style>{{Stylesheet}}</style>
            </head>
            <body>
            <main>
            <header>
            <h1>{{Escape(title)}}</h1>

            """);
        if (!string.IsNullOrWhiteSpace(description))
            html.AppendLine($"""<p class="description">{Escape(description)}</p>""");
        html.AppendLine("</header>");

        Headline(html, result);
        html.AppendLine($"""
            <section class="charts">
            <figure class="panel"><figcaption>ROC curve</figcaption>
            {RocCurveChart.Render(result)}</figure>
            <figure class="panel"><figcaption>Score distributions{(ScoreHistogramChart.UsesLogScale(result) ? " (logarithmic score bins)" : "")}</figcaption>
            {ScoreHistogramChart.Render(result)}</figure>
            </section>
            """);
        if (result.PixelRocCurve is { } pixelCurve && result.PixelAuroc is { } pixelAuroc)
        {
            html.AppendLine($"""
                <section class="charts">
                <figure class="panel"><figcaption>Pixel ROC curve (anomaly maps against the masks)</figcaption>
                {RocCurveChart.RenderPixel(pixelCurve, pixelAuroc)}</figure>
                <div class="panel"><h2>Localization</h2><p class="explanation">Every pixel of every test image is a sample: defective where its mask marks it. AUPRO is the mean overlap of the maps with each marked region, integrated up to 30 % of the defect-free pixels flagged and divided by 0.3 (MVTec AD).</p>
                <p>Pixel AUROC <b>{Escape(Percent(pixelAuroc))}</b>, AUPRO <b>{Escape(Percent(result.PixelAupro ?? double.NaN))}</b>.</p></div>
                </section>
                """);
        }
        PerDefectTable(html, result);

        var thumbnails = new Dictionary<ScoredImage, string?>(ReferenceEqualityComparer.Instance);
        var shown = Math.Min(gallerySize, result.Images.Count);
        Gallery(html, result, thumbnails, thumbnailJpeg, overlayJpeg, $"Highest scores ({shown})",
            "The images the model finds most anomalous. Good parts here are the worst false alarms.",
            result.Images.OrderByDescending(i => i.Score).Take(shown));
        Gallery(html, result, thumbnails, thumbnailJpeg, overlayJpeg, $"Lowest scores ({shown})",
            "The images the model finds most normal. Defective parts here are the worst misses.",
            result.Images.OrderBy(i => i.Score).Take(shown));

        html.AppendLine("</main>\n</body>\n</html>");
        return html.ToString();
    }

    private static void Headline(StringBuilder html, EvaluationResult result)
    {
        html.AppendLine("""<section class="headline">""");
        Metric(html, Percent(result.Auroc), "AUROC", "all defect types against good parts");
        Metric(html, Score(result.Threshold), "Threshold", "defective when the score is above it");
        Metric(html, Percent(result.ObservedFalseAlarmRate), "False alarms",
            $"of good parts flagged (target {Percent(result.FalseAlarmRateTarget)})");
        Metric(html, Percent(result.DetectionRate), "Detection rate", "of defective parts flagged");
        if (result.PixelAuroc is { } pixelAuroc)
        {
            Metric(html, Percent(pixelAuroc), "Pixel AUROC", "anomaly maps against the masks");
            Metric(html, Percent(result.PixelAupro ?? double.NaN), "AUPRO", "region overlap up to 30 % FPR");
        }
        Metric(html, (result.NGood + result.NDefect).ToString(CultureInfo.InvariantCulture), "Test images",
            $"{result.NGood} good, {result.NDefect} defective");
        html.AppendLine("</section>");
    }

    private static void Metric(StringBuilder html, string value, string label, string detail) =>
        html.AppendLine($"""
            <div class="metric"><div class="metric-label">{Escape(label)}</div><div class="metric-value">{Escape(value)}</div><div class="metric-detail">{Escape(detail)}</div></div>
            """);

    private static void PerDefectTable(StringBuilder html, EvaluationResult result)
    {
        var pixelHeadings = result.PixelAurocPerDefect is null ? "" : """<th>Pixel AUROC</th><th class="number">AUPRO</th>""";
        html.AppendLine($"""
            <section class="panel">
            <h2>Per defect type</h2>
            <table>
            <thead><tr><th>Type</th><th class="number">Images</th><th>AUROC against good parts</th><th class="number">Flagged at threshold</th>{pixelHeadings}</tr></thead>
            <tbody>
            """);
        foreach (var (defectType, auroc) in result.AurocPerDefect)
        {
            html.AppendLine($"""
                <tr><td><span class="type type-defect">{Escape(defectType)}</span></td><td class="number">{result.NDefectPerType[defectType]}</td><td>{RateBar(auroc)}</td><td class="number">{Escape(Percent(result.DetectionRatePerDefect[defectType]))} detected</td>{PixelCells(result, defectType)}</tr>
                """);
        }
        html.AppendLine($"""
            </tbody>
            <tfoot>
            <tr><td>all defects</td><td class="number">{result.NDefect}</td><td>{RateBar(result.Auroc)}</td><td class="number">{Escape(Percent(result.DetectionRate))} detected</td></tr>
            <tr><td><span class="type type-good">{ScoredImage.Good}</span></td><td class="number">{result.NGood}</td><td></td><td class="number">{Escape(Percent(result.ObservedFalseAlarmRate))} false alarms</td></tr>
            </tfoot>
            </table>
            </section>
            """);
    }

    private static string PixelCells(EvaluationResult result, string defectType) =>
        result.PixelAurocPerDefect is null ? ""
        : result.PixelAurocPerDefect.TryGetValue(defectType, out var auroc)
            ? $"""<td>{RateBar(auroc)}</td><td class="number">{Escape(Percent(result.PixelAuproPerDefect![defectType]))}</td>"""
            : """<td>no masks</td><td></td>""";

    private static string RateBar(double fraction) => string.Create(CultureInfo.InvariantCulture,
        $"""<div class="rate"><div class="rate-track"><div class="bar-auroc" style="width:{fraction * 100:F1}%"></div></div><span>{Escape(Percent(fraction))}</span></div>""");

    private static void Gallery(
        StringBuilder html, EvaluationResult result, Dictionary<ScoredImage, string?> thumbnails,
        Func<ScoredImage, byte[]?> thumbnailJpeg, Func<ScoredImage, byte[]?>? overlayJpeg, string heading, string explanation, IEnumerable<ScoredImage> images)
    {
        html.AppendLine($"""
            <section class="panel">
            <h2>{Escape(heading)}</h2>
            <p class="explanation">{Escape(explanation)}</p>
            <div class="gallery">
            """);
        foreach (var image in images)
        {
            if (!thumbnails.TryGetValue(image, out var dataUri))
            {
                var jpeg = thumbnailJpeg(image);
                dataUri = jpeg is null ? null : "data:image/jpeg;base64," + Convert.ToBase64String(jpeg);
                thumbnails[image] = dataUri;
            }
            var fileName = Path.GetFileName(image.Path);
            var misjudged = result.IsMisjudged(image);
            var preview = dataUri is null
                ? """<div class="thumbnail no-thumbnail">no preview</div>"""
                : $"""<img class="thumbnail" src="{dataUri}" alt="{Escape(fileName)}">""";
            if (overlayJpeg?.Invoke(image) is { } overlay)
                preview += $"""<img class="thumbnail overlay" src="data:image/jpeg;base64,{Convert.ToBase64String(overlay)}" alt="anomaly map of {Escape(fileName)}" title="anomaly map (yellow to red) over the image; cyan: the mask's outline">""";
            var verdictMark = !misjudged ? ""
                : image.IsDefective ? """<div class="misjudged">missed defect</div>"""
                : """<div class="misjudged">false alarm</div>""";
            html.AppendLine($"""
                <figure class="card{(misjudged ? " card-misjudged" : "")}" title="{Escape(image.Path)}">{preview}<figcaption><div class="card-heading"><span class="file-name">{Escape(fileName)}</span><span class="score">{Escape(Score(image.Score))}</span></div><span class="type {(image.IsDefective ? "type-defect" : "type-good")}">{Escape(image.DefectType)}</span>{verdictMark}</figcaption></figure>
                """);
        }
        html.AppendLine("</div>\n</section>");
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private const string Stylesheet = """

        :root { --good: #2f6fb3; --defect: #e0762b; --wrong: #c62828; --ink: #1d2330; --muted: #5d6677; --line: #dde1e8; --panel: #ffffff; --page: #f3f5f8; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--page); color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
        h1 { font-size: 26px; margin: 0 0 6px; }
        h2 { font-size: 18px; margin: 0 0 12px; }
        .description { margin: 0; color: var(--muted); white-space: pre-line; }
        header { margin-bottom: 20px; }
        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 0 0 20px; }
        .headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 14px; margin-bottom: 20px; }
        .metric { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
        .metric-label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
        .metric-value { font-size: 28px; font-weight: 650; margin: 2px 0; font-variant-numeric: tabular-nums; }
        .metric-detail { font-size: 13px; color: var(--muted); }
        .charts { display: grid; grid-template-columns: 440fr 640fr; gap: 20px; }
        .charts figure figcaption, .panel > figcaption { font-weight: 600; font-size: 18px; margin-bottom: 8px; }
        @media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
        .chart { width: 100%; height: auto; display: block; font-size: 12px; }
        .chart.roc { max-width: 520px; margin: 0 auto; }
        .chart .grid { stroke: #eceef2; stroke-width: 1; }
        .chart .axis { stroke: #8a93a3; stroke-width: 1; }
        .chart .tick { fill: var(--muted); font-size: 11px; }
        .chart .axis-title { fill: var(--ink); font-size: 12px; }
        .chart .legend { fill: var(--ink); font-size: 12px; }
        .chart .legend-box { fill: #ffffff; fill-opacity: .9; stroke: var(--line); }
        .chart .chance { stroke: #9aa3b2; stroke-width: 1.5; stroke-dasharray: 5 4; }
        .chart .roc-line { fill: none; stroke: var(--good); stroke-width: 2.5; stroke-linejoin: round; }
        .chart .operating-point { fill: var(--defect); stroke: #ffffff; stroke-width: 1.5; }
        .chart .bar-good { fill: var(--good); fill-opacity: .55; }
        .chart .bar-defect { fill: var(--defect); fill-opacity: .55; }
        .chart .threshold { stroke: var(--wrong); stroke-width: 2; stroke-dasharray: 6 4; }
        .chart .threshold-label { fill: var(--wrong); font-size: 12px; font-weight: 600; }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); }
        th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
        tfoot td { border-bottom: none; border-top: 2px solid var(--line); }
        .number { text-align: right; }
        .rate { display: flex; align-items: center; gap: 10px; }
        .rate span { white-space: nowrap; }
        .rate-track { flex: 0 1 220px; height: 8px; background: #edf0f4; border-radius: 4px; overflow: hidden; }
        .bar-auroc { height: 100%; background: var(--good); }
        .type { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: middle; }
        .type-good { background: #e3edf8; color: var(--good); }
        .type-defect { background: #fcebdd; color: #a34f12; }
        .explanation { margin: -6px 0 14px; color: var(--muted); font-size: 14px; }
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 14px; }
        .card { margin: 0; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; background: #fafbfc; }
        .card-misjudged { border: 2px solid var(--wrong); }
        .overlay { border-top: 1px solid var(--line); }
        .thumbnail { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; background: #e9ecf1; }
        .no-thumbnail { display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 13px; }
        .card figcaption { padding: 8px 10px 10px; font-size: 13px; }
        .card-heading { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; margin-bottom: 5px; }
        .file-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
        .score { flex: none; font-weight: 600; font-variant-numeric: tabular-nums; }
        .misjudged { margin: 6px 0 0; color: #ffffff; background: var(--wrong); border-radius: 4px; padding: 1px 6px; font-size: 12px; font-weight: 600; width: fit-content; }

        """;
}
