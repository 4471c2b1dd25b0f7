using System.Text.Json;
using Pipeline.Simulation;
using Xunit;

namespace Pipeline.Tests.Cli;

/// <summary>
/// The whole command-line path on generated parts: train on good textures, evaluate on good textures and
/// textures with scratches, holes and stains.
/// </summary>
public class TrainAndEvalTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("train-eval-").FullName;

    [Fact]
    public void A_model_trained_on_generated_good_parts_separates_generated_defects()
    {
        var data = Path.Combine(root, "parts");
        SyntheticParts.WriteMvtecFolder(data, trainGood: 40, testGood: 20, testPerDefect: 10, size: 128, seed: 5);
        var model = Path.Combine(root, "model");

        var train = PipelineProcess.Run("train", "--data", data, "--out", model, "--image-size", "128",
            "--train-views", "8", "--test-views", "8", "--epochs", "25", "--hidden-width", "128", "--coupling-blocks", "4",
            "--cache-dir", Path.Combine(root, "cache"), "--threads", "2");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("[flow training (epochs)] 25/25", train.StandardError);
        Assert.True(File.Exists(Path.Combine(model, "model.dnfm")), train.ToString());

        var json = Path.Combine(root, "eval.json");
        var report = Path.Combine(root, "report.html");
        var eval = PipelineProcess.Run("eval", "--data", data, "--model", model, "--json", json, "--report", report,
            "--cache-dir", Path.Combine(root, "cache"), "--threads", "2");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains("AUROC", eval.StandardOutput);

        using var result = JsonDocument.Parse(File.ReadAllText(json));
        var auroc = result.RootElement.GetProperty("auroc").GetDouble();
        Assert.True(auroc >= 0.9, $"AUROC {auroc:0.000} on generated defects\n{eval}");
        Assert.Equal(20, result.RootElement.GetProperty("n_good").GetInt32());
        Assert.Equal(30, result.RootElement.GetProperty("n_defect").GetInt32());
        var perDefect = result.RootElement.GetProperty("auroc_per_defect");
        Assert.Equal(["hole", "scratch", "stain"], perDefect.EnumerateObject().Select(p => p.Name).Order());
        Assert.True(double.IsFinite(result.RootElement.GetProperty("threshold").GetDouble()));

        var html = File.ReadAllText(report);
        Assert.Contains("<svg", html);
        Assert.Contains("data:image/jpeg;base64,", html);
    }

    [Fact]
    public void A_second_evaluation_reads_features_from_the_cache()
    {
        var (data, model, cache) = TinyParts();
        var train = TrainTiny(data, model, "--epochs", "2", "--cache-dir", cache);
        Assert.True(train.ExitCode == 0, train.ToString());

        var first = PipelineProcess.Run("eval", "--data", data, "--model", model, "--cache-dir", cache);
        var second = PipelineProcess.Run("eval", "--data", data, "--model", model, "--cache-dir", cache);

        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first + "\n" + second);
        Assert.Contains("10 computed, 0 from cache", first.StandardError);
        Assert.Contains("0 computed, 10 from cache", second.StandardError);
        Assert.Equal(ScoresSection(first.StandardOutput), ScoresSection(second.StandardOutput));
    }

    [Fact]
    public void Training_can_report_the_test_AUROC_as_it_goes_and_its_last_figure_is_what_eval_measures()
    {
        var (data, model, cache) = TinyParts();

        var train = TrainTiny(data, model, "--epochs", "3", "--cache-dir", cache, "--test-auroc-every", "2");
        var eval = PipelineProcess.Run("eval", "--data", data, "--model", model, "--cache-dir", cache);

        Assert.True(train.ExitCode == 0 && eval.ExitCode == 0, train + "\n" + eval);
        var reported = train.StandardError.Split('\n').Where(l => l.Contains("test AUROC")).ToArray();
        Assert.Equal(["epoch 2/3", "epoch 3/3"], reported.Select(l => l[..l.IndexOf(':')].Trim()));
        Assert.Contains("hole", reported[^1]);
        var lastAuroc = reported[^1].Split("test AUROC ")[1].Split(" (")[0];
        Assert.Contains($"AUROC {lastAuroc}", eval.StandardOutput);
        Assert.Contains("0 computed, 10 from cache", eval.StandardError); // the test views' features were computed once
    }

    [Fact]
    public void Reporting_the_test_AUROC_needs_test_images_and_says_so()
    {
        var (data, model, _) = TinyParts();
        foreach (var defect in Directory.GetDirectories(Path.Combine(data, "test")).Where(d => Path.GetFileName(d) != "good"))
            Directory.Delete(defect, recursive: true);

        var train = TrainTiny(data, model, "--epochs", "1", "--no-cache", "--test-auroc-every", "1");

        Assert.NotEqual(0, train.ExitCode);
        Assert.Contains("defective test images", train.StandardError);
        Assert.DoesNotContain("   at ", train.StandardError);
    }

    /// <summary>8 good parts of 64 px to train on; 4 good and 2 of each defect to test: (folder, model folder, cache folder).</summary>
    private (string Data, string Model, string Cache) TinyParts()
    {
        var data = Path.Combine(root, "parts");
        SyntheticParts.WriteMvtecFolder(data, trainGood: 8, testGood: 4, testPerDefect: 2, size: 64, seed: 9);
        return (data, Path.Combine(root, "model"), Path.Combine(root, "cache"));
    }

    /// <summary><c>pipeline train</c> with a tiny model (64 px, 2 views, 2 blocks of width 16) and the given extra options.</summary>
    private static PipelineProcess.Outcome TrainTiny(string data, string model, params string[] options) =>
        PipelineProcess.Run(["train", "--data", data, "--out", model, "--image-size", "64", "--train-views", "2",
            "--test-views", "2", "--hidden-width", "16", "--coupling-blocks", "2", .. options]);

    private static string ScoresSection(string output) => string.Join('\n', output.Split('\n').Where(l => l.Contains("AUROC")));

    public void Dispose() => Directory.Delete(root, recursive: true);
}
