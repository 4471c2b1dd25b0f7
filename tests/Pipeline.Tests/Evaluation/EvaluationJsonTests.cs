using System.Text.Json;
using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

public class EvaluationJsonTests
{
    [Fact]
    public void The_json_carries_the_metrics_statistics_and_images_under_snake_case_names()
    {
        var result = SampleEvaluation.Result();
        using var stream = new MemoryStream();

        EvaluationJson.Write(result, stream);

        using var json = JsonDocument.Parse(stream.ToArray());
        var root = json.RootElement;
        Assert.Equal("schema_version", root.EnumerateObject().First().Name);
        Assert.Equal(1, root.GetProperty("schema_version").GetInt32());
        Assert.Equal(result.Auroc, root.GetProperty("auroc").GetDouble());
        Assert.Equal(0.9, root.GetProperty("auroc_per_defect").GetProperty("crack").GetDouble());
        Assert.Equal(0.8, root.GetProperty("auroc_per_defect").GetProperty("scratch").GetDouble());
        Assert.Equal(0.5, root.GetProperty("detection_rate_per_defect").GetProperty("crack").GetDouble());
        Assert.Equal(2, root.GetProperty("n_defect_per_type").GetProperty("scratch").GetInt32());
        Assert.Equal(0.5, root.GetProperty("threshold").GetDouble());
        Assert.Equal(0.25, root.GetProperty("false_alarm_rate_target").GetDouble());
        Assert.Equal(0.2, root.GetProperty("observed_false_alarm_rate").GetDouble());
        Assert.Equal(0.75, root.GetProperty("detection_rate").GetDouble());
        Assert.Equal(5, root.GetProperty("n_good").GetInt32());
        Assert.Equal(4, root.GetProperty("n_defect").GetInt32());

        var goodStatistics = root.GetProperty("good_score_statistics");
        Assert.Equal(
            ["count", "mean", "standard_deviation", "min", "median", "p95", "max"],
            goodStatistics.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.9, goodStatistics.GetProperty("max").GetDouble());
        Assert.Equal(0.4, root.GetProperty("defect_score_statistics").GetProperty("min").GetDouble());

        var images = root.GetProperty("images").EnumerateArray().ToArray();
        Assert.Equal(SampleEvaluation.Images.Length, images.Length);
        Assert.Equal(["path", "defect_type", "score"], images[7].EnumerateObject().Select(p => p.Name));
        Assert.Equal("test/crack/c1.png", images[7].GetProperty("path").GetString());
        Assert.Equal("crack", images[7].GetProperty("defect_type").GetString());
        Assert.Equal(0.4, images[7].GetProperty("score").GetDouble());
    }

    [Fact]
    public void Writing_to_a_path_replaces_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"evaluation-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, new string('x', 100_000));

            EvaluationJson.Write(SampleEvaluation.Result(), path);

            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            Assert.Equal(5, json.RootElement.GetProperty("n_good").GetInt32());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
