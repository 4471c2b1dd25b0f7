using System.Diagnostics;
using Pipeline.Shared.Data;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;

namespace Pipeline.Scoring.Evaluation;

/// <summary>What an evaluation does with anomaly maps.</summary>
/// <param name="OutputFolder">Write each test image's map and overlay PNG here (<c>&lt;defect&gt;/&lt;name&gt;_map.png</c>, <c>_overlay.png</c>); null: none.</param>
/// <param name="Sigma">The maps' blur; null: the model's.</param>
/// <param name="WhenMasks">Compute maps and pixel metrics when the folder has masks (<c>ground_truth/</c>).</param>
public sealed record MapEvaluationOptions(string? OutputFolder = null, double? Sigma = null, bool WhenMasks = true)
{
    public static readonly MapEvaluationOptions Default = new();
}

/// <summary>An evaluation and the anomaly maps it computed (by image path; empty when it computed none).</summary>
public sealed record DatasetEvaluationOutcome(EvaluationResult Result, IReadOnlyDictionary<string, AnomalyMap> Maps, string? MaskFolder)
{
    /// <summary>The pixel mask of a test image at its own size, or null.</summary>
    public bool[]? MaskOf(ScoredImage image) =>
        MaskFolder is null || !image.IsDefective ? null : DatasetEvaluation.ReadMask(DatasetEvaluation.MaskPath(MaskFolder, image));
}

/// <summary>Scores every test image of a folder in MVTec AD layout with a model and measures detection.</summary>
public static class DatasetEvaluation
{
    /// <summary>
    /// Scores <c>test/good</c> and <c>test/&lt;defect&gt;</c>. The result's threshold is the one this data suggests:
    /// calibrated on its good images to the model's false-alarm rate.
    /// </summary>
    public static EvaluationResult Run(string dataFolder, DefectModel model, IWorkProgressSink progress, CancellationToken cancellation = default) =>
        RunWithMaps(dataFolder, model, progress, MapEvaluationOptions.Default with { WhenMasks = false }, cancellation).Result;

    /// <summary>
    /// <see cref="Run"/>, and the anomaly map of every test image when the folder has masks or maps are to be written:
    /// the result then carries pixel AUROC and AUPRO (<see cref="EvaluationResult.WithPixelMetrics"/>), computed at the
    /// map's resolution (the model's S×S input; each mask resized to it, nearest pixel).
    /// </summary>
    public static DatasetEvaluationOutcome RunWithMaps(
        string dataFolder, DefectModel model, IWorkProgressSink progress, MapEvaluationOptions maps, CancellationToken cancellation = default)
    {
        var dataset = MvtecDataset.Open(dataFolder);
        dataset.RequireTestImages();
        var images = dataset.TestImages;
        var features = model.Features.ExtractFiles(images.Select(i => i.Path).ToArray(), _ => model.TestViews, progress, "features (test views)", cancellation);
        var scores = model.ScoreFeatures(features);
        var scored = images.Select((image, i) => new ScoredImage(image.Path, image.DefectType, scores[i])).ToArray();
        var goodScores = scored.Where(s => s.DefectType == ScoredImage.Good).Select(s => s.Score).ToArray();
        var suggested = ThresholdCalibration.AtFalseAlarmRate(goodScores, model.Manifest.FalseAlarmRate);
        var result = EvaluationResult.FromScores(scored, suggested, model.Manifest.FalseAlarmRate);

        var hasMasks = images.Any(image => dataset.MaskPathOf(image) is not null);
        if (!(maps.WhenMasks && hasMasks) && maps.OutputFolder is null)
            return new DatasetEvaluationOutcome(result, new Dictionary<string, AnomalyMap>(), null);

        var clock = Stopwatch.StartNew();
        var byPath = new Dictionary<string, AnomalyMap>(StringComparer.Ordinal);
        var samples = new List<PixelSample>();
        var withoutMask = 0;
        for (var i = 0; i < images.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var image = images[i];
            var decoded = ImageDecoder.DecodeFile(image.Path);
            var (map, _) = model.AnomalyMap(model.Features.Prepare(decoded), maps.Sigma);
            byPath[image.Path] = map;
            var maskPath = dataset.MaskPathOf(image);
            var mask = maskPath is null ? null : ReadMask(maskPath);
            if (mask is not null && mask.Length != decoded.Width * decoded.Height)
                throw new Shared.PipelineInputException($"Mask '{maskPath}' does not have the size of its image '{image.Path}' ({decoded.Width}x{decoded.Height}); masks must match their images.");
            if (!image.IsDefective)
                samples.Add(new PixelSample(image.DefectType, map.Width, map.Values, new bool[map.Values.Length]));
            else if (mask is not null)
                samples.Add(new PixelSample(image.DefectType, map.Width, map.Values, Nearest(mask, decoded.Width, decoded.Height, map.Width, map.Height)));
            else
                withoutMask++;
            if (maps.OutputFolder is { } folder)
                WriteMapFiles(folder, image, decoded, map, mask);
            progress.Report(new WorkProgress("anomaly maps", i + 1, images.Count));
        }
        progress.Note($"anomaly maps: {images.Count} images in {clock.Elapsed.TotalSeconds:0.0} s ({clock.Elapsed.TotalSeconds / images.Count:0.00} s each)"
            + (withoutMask > 0 ? $"; {withoutMask} defective images have no mask in {Path.Combine(dataset.Folder, MvtecDataset.MaskFolder)} and are left out of the pixel metrics" : ""));
        if (hasMasks) result = result.WithPixelMetrics(samples);
        return new DatasetEvaluationOutcome(result, byPath, hasMasks ? dataset.Folder : null);
    }

    /// <summary>A mask file as one bool per pixel, true where it is brighter than mid-gray.</summary>
    public static bool[]? ReadMask(string? path)
    {
        if (path is null || !File.Exists(path)) return null;
        var mask = ImageDecoder.DecodeFile(path);
        var defective = new bool[mask.Width * mask.Height];
        for (var i = 0; i < defective.Length; i++) defective[i] = mask.Pixels[3 * i] > 127;
        return defective;
    }

    internal static string MaskPath(string datasetFolder, ScoredImage image) =>
        Path.Combine(datasetFolder, MvtecDataset.MaskFolder, image.DefectType, Path.GetFileNameWithoutExtension(image.Path) + "_mask.png");

    /// <summary>A mask resized to <paramref name="width"/> × <paramref name="height"/> by the nearest pixel (pixel centres).</summary>
    public static bool[] Nearest(bool[] mask, int fromWidth, int fromHeight, int width, int height)
    {
        var resized = new bool[width * height];
        for (var y = 0; y < height; y++)
        {
            var sy = Math.Min(fromHeight - 1, (int)((y + 0.5) * fromHeight / height));
            for (var x = 0; x < width; x++)
                resized[y * width + x] = mask[sy * fromWidth + Math.Min(fromWidth - 1, (int)((x + 0.5) * fromWidth / width))];
        }
        return resized;
    }

    private static void WriteMapFiles(string folder, LabelledImage image, RgbImage decoded, AnomalyMap map, bool[]? mask)
    {
        var target = Path.Combine(folder, image.DefectType);
        Directory.CreateDirectory(target);
        var name = Path.GetFileNameWithoutExtension(image.Path);
        var frame = new FrameSize(decoded.Width, decoded.Height);
        File.WriteAllBytes(Path.Combine(target, name + "_map.png"), AnomalyMapImages.ToGrayscalePng(map, Math.Max(map.Width, map.Height), frame));
        File.WriteAllBytes(Path.Combine(target, name + "_overlay.png"), ImageEncoding.ToPng(AnomalyMapImages.Overlay(decoded, map, mask: mask)));
    }
}
