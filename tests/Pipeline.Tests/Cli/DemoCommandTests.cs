using System.Text.Json;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Cli;

/// <summary><c>pipeline demo</c>, the embedded default, run as users run it: every frame sent has one outcome.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DemoCommandTests
{
    [Fact]
    public void The_demo_streams_every_frame_to_one_outcome_and_writes_the_summary()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "summary.json");
        var outcome = PipelineProcess.Run("demo", "--frames", "24", "--rate", "0", "--corrupt-every", "8", "--image-size", "64", "--no-cache", "--json", json);

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        using var summary = JsonDocument.Parse(File.ReadAllText(json));
        int Count(string name) => summary.RootElement.GetProperty(name).GetInt32();
        Assert.Equal(24, Count("frames_sent"));
        Assert.Equal(21, Count("distinct_frame_ids"));
        Assert.Equal(3, Count("dead_lettered"));
        Assert.True(Count("results") >= 21);
        Assert.InRange(Count("anomalies"), 1, 21);
        Assert.InRange(summary.RootElement.GetProperty("auroc").GetDouble(), 0, 1);
        Assert.True(summary.RootElement.GetProperty("frames_per_second").GetDouble() > 0);
        Assert.True(summary.RootElement.GetProperty("latency_p99_ms").GetDouble() >= summary.RootElement.GetProperty("latency_p50_ms").GetDouble());
        Assert.Contains("ANOMALY", outcome.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("DEAD LETTER", outcome.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void With_refit_after_the_demo_refits_on_labelled_good_frames_and_swaps_the_new_version_in_mid_stream()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "summary.json");
        var outcome = PipelineProcess.Run("demo", "--frames", "60", "--rate", "8", "--corrupt-every", "0", "--image-size", "64", "--no-cache",
            "--refit-after", "12", "--json", json);

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        using var summary = JsonDocument.Parse(File.ReadAllText(json));
        var root = summary.RootElement;
        var versions = root.GetProperty("model_versions").EnumerateArray().Select(v => v.GetString() ?? "").ToArray();
        Assert.Equal(["v1", "v2"], versions);
        var perVersion = root.GetProperty("results_per_version").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(60, perVersion.Values.Sum());
        Assert.All(versions, version => Assert.True(perVersion[version] > 0, $"{version} scored no frame"));
        Assert.Equal(60, root.GetProperty("distinct_frame_ids").GetInt32());
        Assert.True(root.GetProperty("longest_swap_gap_ms").GetDouble() >= 0);
    }

    [Fact]
    public void With_products_the_demo_streams_each_products_parts_mixed_and_reports_every_product_apart()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "summary.json");
        var outcome = PipelineProcess.Run("demo", "--products", "2", "--frames", "24", "--rate", "0", "--corrupt-every", "0", "--image-size", "64", "--no-cache", "--json", json);

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        using var summary = JsonDocument.Parse(File.ReadAllText(json));
        var root = summary.RootElement;
        string[] products = ["bracket-a", "gasket-b"];
        Assert.Equal(products, root.GetProperty("products").EnumerateArray().Select(p => p.GetString()));
        var perProduct = root.GetProperty("results_per_product").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["bracket-a"] = 12, ["gasket-b"] = 12 }, perProduct);
        var auroc = root.GetProperty("auroc_per_product");
        Assert.All(products, product => Assert.InRange(auroc.GetProperty(product).GetDouble(), 0, 1));
        var versions = root.GetProperty("model_versions_per_product");
        Assert.All(products, product => Assert.Equal(["v1"], versions.GetProperty(product).EnumerateArray().Select(v => v.GetString())));
        Assert.Equal(24, root.GetProperty("distinct_frame_ids").GetInt32());
        Assert.Contains("gasket-b", outcome.StandardOutput, StringComparison.Ordinal);
    }
}
