using System.CommandLine;
using System.Diagnostics;
using Pipeline.Scoring.Evaluation;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Model;
using Pipeline.Shared.Simulation;
using Pipeline.Training;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline demo</c>: the embedded default, with nothing to set up: generates images of good and
/// defective parts, trains a model on the good ones and measures how well it finds the defects.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--out") { Description = "keep the generated parts, the model and the report here (default: a temporary folder, removed afterwards)" };
        var size = new Option<int>("--image-size") { Description = "side of the generated images and of the model's input", DefaultValueFactory = _ => 128 };
        var seed = new Option<int>("--seed") { Description = "seed for the generated parts", DefaultValueFactory = _ => 1 };
        var json = new Option<string?>("--json") { Description = "also write the evaluation as JSON to this file" };
        var common = new CommonOptions();
        var command = new Command("demo", "Generate parts, train on the good ones, and measure defect detection: the whole model path with nothing to set up.")
        {
            output, size, seed, json,
        };
        common.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.Run(token =>
        {
            var keep = parse.GetValue(output);
            var root = keep ?? Directory.CreateTempSubdirectory("pipeline-demo-").FullName;
            try
            {
                var clock = Stopwatch.StartNew();
                var progress = ConsoleProgress.ToStandardError();
                var imageSize = parse.GetValue(size);
                var data = Path.Combine(root, "parts");
                SyntheticParts.WriteMvtecFolder(data, trainGood: 60, testGood: 30, testPerDefect: 15, imageSize, parse.GetValue(seed));
                progress.Note($"generated parts in {data}: 60 good to train on; 30 good and 15 each with a scratch, a hole or a stain to test on");

                var options = TrainingOptions.Cpu with
                {
                    ImageSize = imageSize, TrainViews = 8, TestViews = 8, Epochs = 25, HiddenWidth = 128, CouplingBlocks = 4,
                };
                var device = common.ResolveDevice(parse);
                using var backbone = PretrainedBackbone.Load(device);
                var cache = common.Cache(parse);
                var outcome = ModelTraining.TrainOnFolder(data, options, backbone, cache, progress, "demo", token);
                var modelDir = Path.Combine(root, "model");
                outcome.Artifact.Save(Path.Combine(modelDir, ModelArtifact.DefaultFileName));

                using var model = DefectModel.Load(outcome.Artifact, backbone, cache);
                var result = DatasetEvaluation.Run(data, model, progress, token);
                Console.WriteLine(EvaluationSummaryText.Format(result));
                if (parse.GetValue(json) is { } jsonPath) EvaluationJson.Write(result, jsonPath);
                if (keep is not null)
                {
                    var report = Path.Combine(root, "report.html");
                    HtmlReport.Write(report, result, EvalCommand.Thumbnail, "Generated parts: demo model");
                    Console.WriteLine($"model in {modelDir}, report in {report}");
                }
                Console.WriteLine($"demo finished in {clock.Elapsed.TotalSeconds:0} s");
                return CommandRunner.Success;
            }
            finally
            {
                if (keep is null) Directory.Delete(root, recursive: true);
            }
        }, cancellation));
        return command;
    }
}
