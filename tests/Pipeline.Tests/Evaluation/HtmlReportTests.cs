using System.Text.RegularExpressions;
using Pipeline.Scoring.Evaluation;
using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class HtmlReportTests
{
    private static readonly byte[] FakeJpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];

    private static string WriteAndRead(EvaluationResult result, Func<ScoredImage, byte[]?> thumbnailJpeg)
    {
        var path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.html");
        try
        {
            HtmlReport.Write(path, result, thumbnailJpeg, "bottle <evaluation>", "Model: m.dfn\nData: test/");
            return File.ReadAllText(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_report_is_one_html_file_with_the_roc_curve_and_histogram_as_inline_svg()
    {
        var html = WriteAndRead(SampleEvaluation.Result(), _ => FakeJpeg);

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Matches("""<svg class="chart roc"[^>]*aria-label="ROC curve, AUROC 85.0 %">""", html);
        Assert.Contains("""<polyline class="roc-line" """, html);
        Assert.Contains("""<svg class="chart histogram" """, html);
        Assert.Contains("""<rect class="bar-good" """, html);
        Assert.Contains("""<rect class="bar-defect" """, html);
        Assert.Contains("""<line class="threshold" """, html);
        Assert.Contains("""<line class="chance" """, html);
    }

    [Fact]
    public void The_report_shows_headline_numbers_and_the_per_defect_table()
    {
        var html = WriteAndRead(SampleEvaluation.Result(), _ => FakeJpeg);

        Assert.Contains("<div class=\"metric-value\">85.0 %</div>", html);
        Assert.Contains("<div class=\"metric-value\">20.0 %</div>", html);
        Assert.Contains("<div class=\"metric-value\">75.0 %</div>", html);
        Assert.Contains("90.0 %", html);
        Assert.Contains("80.0 %", html);
        Assert.Contains("""<span class="type type-defect">crack</span>""", html);
        Assert.Contains("Model: m.dfn\nData: test/", html);
    }

    [Fact]
    public void Thumbnails_are_embedded_as_base64_jpeg_and_missing_ones_get_a_placeholder()
    {
        var html = WriteAndRead(SampleEvaluation.Result(), image => image.DefectType == "crack" ? null : FakeJpeg);

        Assert.Contains("src=\"data:image/jpeg;base64," + Convert.ToBase64String(FakeJpeg) + "\"", html);
        Assert.Contains("no preview", html);
    }

    [Fact]
    public void Wrong_verdicts_are_marked_in_the_galleries()
    {
        var html = WriteAndRead(SampleEvaluation.Result(), _ => FakeJpeg);

        Assert.Matches("card-misjudged\" title=\"test/good/g4.png\".*false alarm", html);
        Assert.Matches("card-misjudged\" title=\"test/crack/c1.png\".*missed defect", html);
        Assert.DoesNotMatch("card-misjudged\" title=\"test/good/g1.png\"", html);
    }

    [Fact]
    public void Galleries_hold_the_highest_and_the_lowest_scored_images()
    {
        var html = HtmlReport.Render(SampleEvaluation.Result(), _ => FakeJpeg, "t", gallerySize: 2);

        var shown = Regex.Matches(html, "<figure class=\"card[^\"]*\" title=\"([^\"]+)\"").Select(m => m.Groups[1].Value);
        Assert.Equal(["test/crack/c2.png", "test/good/g4.png", "test/good/g5.png", "test/good/g1.png"], shown);
    }

    [Fact]
    public void Text_from_file_names_and_titles_is_html_escaped()
    {
        ScoredImage[] images = [.. SampleEvaluation.Images, new("odd/<b>&.png", "\"scratch\" & <i>dent</i>", 5.0)];
        var result = EvaluationResult.FromScores(images, SampleEvaluation.Threshold, SampleEvaluation.FalseAlarmRateTarget);

        var html = WriteAndRead(result, _ => FakeJpeg);

        Assert.Contains("&lt;b&gt;&amp;.png", html);
        Assert.DoesNotContain("<b>&.png", html);
        Assert.Contains("&quot;scratch&quot; &amp; &lt;i&gt;dent&lt;/i&gt;", html);
        Assert.DoesNotContain("<i>dent", html);
        Assert.Contains("<title>bottle &lt;evaluation&gt;</title>", html);
    }

    [Fact]
    public void The_report_references_no_external_resources()
    {
        var html = WriteAndRead(SampleEvaluation.Result(), _ => FakeJpeg);

        Assert.DoesNotContain("http:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.All(Regex.Matches(html, "src=\"([^\"]*)\"").Select(m => m.Groups[1].Value),
            source => Assert.StartsWith("data:image/jpeg;base64,", source));
    }

    [Fact]
    public void Heavy_tailed_scores_get_log_score_bins_and_the_chart_says_so()
    {
        // Good parts near 1.5, defective ones up to 10⁷: on a linear axis every image falls in the first bin.
        ScoredImage[] images =
        [
            new("g1", ScoredImage.Good, 1.3), new("g2", ScoredImage.Good, 1.5), new("g3", ScoredImage.Good, 1.8),
            new("d1", "crack", 40), new("d2", "crack", 9_000), new("d3", "crack", 12_000_000),
        ];
        var html = HtmlReport.Render(EvaluationResult.FromScores(images, 2, 0.05), _ => null, "t");

        Assert.Contains("logarithmic score bins", html);
        Assert.Contains("bins of equal width in log₁₀ score", html);
        // Four occupied bins (the good parts together, each defect apart) and the legend's two swatches; on a linear
        // axis the good parts and two defects would share the first bin: three bars.
        Assert.Equal(4 + 2, Regex.Matches(html, "<rect class=\"bar-(good|defect)\" x=").Count);
    }

    [Fact]
    public void With_pixel_metrics_the_report_shows_them_the_pixel_roc_and_the_overlays()
    {
        var good = new PixelSample(ScoredImage.Good, 2, [0.1f, 0.2f, 0.1f, 0.3f], new bool[4]);
        var crack = new PixelSample("crack", 2, [0.9f, 0.2f, 0.1f, 0.3f], [true, false, false, false]);
        var result = SampleEvaluation.Result().WithPixelMetrics([good, crack]);

        var html = HtmlReport.Render(result, _ => FakeJpeg, "t", overlayJpeg: image => image.IsDefective ? FakeJpeg : null);

        Assert.Contains("Pixel ROC curve", html);
        Assert.Contains("<th>Pixel AUROC</th><th class=\"number\">AUPRO</th>", html);
        Assert.DoesNotContain("{(", html);
        Assert.Contains("no masks", html); // scratch has none in this example
        Assert.Contains("class=\"thumbnail overlay\"", html);
    }
}
