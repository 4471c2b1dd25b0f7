using System.CommandLine;
using Pipeline.Scoring.Evaluation;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;

namespace Pipeline.Host.Cli;

/// <summary><c>pipeline eval --data &lt;folder&gt; --model &lt;model dir&gt;</c>: measures detection on a labelled test set.</summary>
public static class EvalCommand
{
    private const int ThumbnailSide = 160;

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "category folder in MVTec AD layout (test/good and test/<defect> are used)", Required = true };
        var model = new Option<string>("--model") { Description = "model directory (or model.dnfm file) written by 'pipeline train'", Required = true };
        var json = new Option<string?>("--json") { Description = "also write the results as JSON to this file" };
        var report = new Option<string?>("--report") { Description = "also write a self-contained HTML report (ROC curve, histograms, best and worst images) to this file" };
        var common = new CommonOptions();
        var command = new Command("eval", "Measure a model's image-level detection (AUROC, threshold) on labelled test images.")
        {
            data, model, json, report,
        };
        common.AddTo(command);

        command.SetAction((parse, cancellation) => CommandRunner.Run(token =>
        {
            var progress = ConsoleProgress.ToStandardError();
            var artifact = ModelArtifact.Load(parse.GetValue(model)!);
            var device = common.ResolveDevice(parse);
            using var backbone = PretrainedBackbone.Load(device);
            using var defectModel = DefectModel.Load(artifact, backbone, common.Cache(parse));
            var manifest = defectModel.Manifest;
            progress.Note($"model {manifest.ModelVersion} ({artifact.Sha256[..12]}): image size {manifest.ImageSize}, {defectModel.TestViews.Count} test views, on {device}");

            var dataFolder = parse.GetValue(data)!;
            var result = DatasetEvaluation.Run(dataFolder, defectModel, progress, token);
            Console.WriteLine(EvaluationSummaryText.Format(result));
            var atModelThreshold = EvaluationResult.FromScores(result.Images, manifest.Threshold, manifest.FalseAlarmRate);
            Console.WriteLine($"The model's own threshold {manifest.Threshold:0.0000} (calibrated at training) flags {atModelThreshold.ObservedFalseAlarmRate:P1} of these good parts and detects {atModelThreshold.DetectionRate:P1} of the defective ones.");

            if (parse.GetValue(json) is { } jsonPath)
            {
                EvaluationJson.Write(result, jsonPath);
                Console.WriteLine($"JSON written to {jsonPath}");
            }
            if (parse.GetValue(report) is { } reportPath)
            {
                HtmlReport.Write(reportPath, result, Thumbnail, $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataFolder)))}: model {manifest.ModelVersion}");
                Console.WriteLine($"report written to {reportPath}");
            }
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    internal static byte[]? Thumbnail(ScoredImage image)
    {
        try
        {
            var decoded = ImageDecoder.DecodeFile(image.Path);
            var scale = Math.Min(1.0, (double)ThumbnailSide / Math.Max(decoded.Width, decoded.Height));
            return ImageEncoding.ToJpeg(ImageResampling.Resize(decoded, Math.Max(1, (int)(decoded.Width * scale)), Math.Max(1, (int)(decoded.Height * scale))), 85);
        }
        catch (Shared.PipelineInputException)
        {
            return null;
        }
    }
}
