using Pipeline.Simulation;
using Xunit;

namespace Pipeline.Tests.Cli;

/// <summary>User mistakes end with one clear message that names the culprit, exit code 2 and no stack trace.</summary>
public class BadInputTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("bad-input-").FullName;

    private static void AssertUserError(PipelineProcess.Outcome outcome, string mentioned) =>
        PipelineProcess.AssertUserError(outcome, mentioned, oneLine: false);

    [Fact]
    public void Training_on_an_empty_folder_names_the_folder()
    {
        var empty = Directory.CreateDirectory(Path.Combine(root, "empty")).FullName;
        AssertUserError(PipelineProcess.Run("train", "--data", empty, "--out", Path.Combine(root, "m")), empty);
    }

    [Fact]
    public void A_corrupt_training_image_is_named()
    {
        var data = Path.Combine(root, "parts");
        SyntheticParts.WriteMvtecFolder(data, trainGood: 4, testGood: 1, testPerDefect: 1, size: 64, seed: 3);
        var corrupt = Path.Combine(data, "train", "good", "zz_corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]);

        AssertUserError(PipelineProcess.Run("train", "--data", data, "--out", Path.Combine(root, "m"), "--image-size", "64",
            "--epochs", "1", "--hidden-width", "8", "--no-cache"), corrupt);
    }

    [Fact]
    public void Evaluating_with_a_damaged_model_file_names_the_file()
    {
        var data = Path.Combine(root, "parts");
        SyntheticParts.WriteMvtecFolder(data, trainGood: 1, testGood: 1, testPerDefect: 1, size: 64, seed: 3);
        var model = Path.Combine(root, "model.dnfm");
        File.WriteAllBytes(model, "DIFFNETM\u0001\u0000\u0000\u0000garbage"u8.ToArray());

        AssertUserError(PipelineProcess.Run("eval", "--data", data, "--model", model), model);
    }

    [Fact]
    public void An_out_of_range_option_is_explained()
    {
        var data = Directory.CreateDirectory(Path.Combine(root, "d")).FullName;
        AssertUserError(PipelineProcess.Run("train", "--data", data, "--out", Path.Combine(root, "m"), "--image-size", "30"), "Image size");
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
