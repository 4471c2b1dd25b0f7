using System.CommandLine;
using Pipeline.Scoring.Evaluation;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
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
        var maps = new Option<string?>("--maps") { Description = "write each test image's anomaly map (<defect>/<name>_map.png, grayscale) and overlay (<name>_overlay.png, with the mask's outline) to this folder" };
        var mapSigma = new Option<double?>("--map-sigma") { Description = "blur of the anomaly maps, σ in pixels of the prepared image (default: the model's)" };
        var common = new CommonOptions();
        var command = new Command("eval", "Measure a model's detection (image AUROC, threshold) and, where the folder has ground_truth/ masks, its localization (pixel AUROC, AUPRO) on labelled test images.")
        {
            data, model, json, report, maps, mapSigma,
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
            var outcome = DatasetEvaluation.RunWithMaps(dataFolder, defectModel, progress,
                new MapEvaluationOptions(parse.GetValue(maps), parse.GetValue(mapSigma)), token);
            var result = outcome.Result;
            Console.WriteLine(EvaluationSummaryText.Format(result));
            var atModelThreshold = EvaluationResult.FromScores(result.Images, manifest.Threshold, manifest.FalseAlarmRate);
            Console.WriteLine($"The model's own threshold {manifest.Threshold:0.0000} (calibrated at training) flags {atModelThreshold.ObservedFalseAlarmRate:P1} of these good parts and detects {atModelThreshold.DetectionRate:P1} of the defective ones.");

            if (parse.GetValue(maps) is { } mapsFolder)
                Console.WriteLine($"anomaly maps and overlays written to {mapsFolder}");
            if (parse.GetValue(json) is { } jsonPath)
            {
                EvaluationJson.Write(result, jsonPath);
                Console.WriteLine($"JSON written to {jsonPath}");
            }
            if (parse.GetValue(report) is { } reportPath)
            {
                HtmlReport.Write(reportPath, result, Thumbnail, $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataFolder)))}: model {manifest.ModelVersion}",
                    overlayJpeg: outcome.Maps.Count == 0 ? null : image => Overlay(outcome, image));
                Console.WriteLine($"report written to {reportPath}");
            }
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    /// <summary>A thumbnail-sized JPEG of the image with its anomaly map over it and its mask's outline, or null.</summary>
    internal static byte[]? Overlay(DatasetEvaluationOutcome outcome, ScoredImage image)
    {
        if (!outcome.Maps.TryGetValue(image.Path, out var map)) return null;
        try
        {
            var decoded = ImageDecoder.DecodeFile(image.Path);
            var overlay = AnomalyMapImages.Overlay(decoded, map, mask: outcome.MaskOf(image));
            var scale = Math.Min(1.0, (double)ThumbnailSide / Math.Max(decoded.Width, decoded.Height));
            return ImageEncoding.ToJpeg(ImageResampling.Resize(overlay, Math.Max(1, (int)(decoded.Width * scale)), Math.Max(1, (int)(decoded.Height * scale))), 85);
        }
        catch (Shared.PipelineInputException)
        {
            return null;
        }
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
