using System.Text.Json.Nodes;
using Pipeline.Scoring.Evaluation;
using Pipeline.Shared.Data;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Progress;
using Pipeline.Simulation;
using Pipeline.Tests.Support;
using Xunit;

namespace Pipeline.Tests.Evaluation;

/// <summary><c>eval</c> on a folder with <c>ground_truth/</c> masks measures localization; without masks it says nothing about it.</summary>
[Collection(TrainedPartsModelCollection.Name)]
public sealed class PixelEvaluationTests(TrainedPartsModelFixture trained) : IDisposable
{
    private readonly TempFolder folder = new();

    /// <summary>An MVTec AD folder of generated parts: 3 good and 3 with a hole, each hole's mask the pixels it changed.</summary>
    private string PartsWithMasks(bool writeMasks)
    {
        var parts = new SyntheticParts(TrainedPartsModelFixture.ImageSize);
        for (var i = 0; i < 3; i++)
        {
            folder.Write($"parts/test/good/{i:D3}.png", ImageEncoding.ToPng(parts.Good(new Random(100 + i))));
            var good = parts.Good(new Random(200 + i));
            var holed = SyntheticParts.WithDefect(good, new Random(300 + i), DefectKind.Hole);
            folder.Write($"parts/test/hole/{i:D3}.png", ImageEncoding.ToPng(holed));
            if (!writeMasks) continue;
            var mask = new byte[holed.Pixels.Length];
            for (var p = 0; p < mask.Length; p += 3)
            {
                var changed = good.Pixels[p] != holed.Pixels[p] || good.Pixels[p + 1] != holed.Pixels[p + 1] || good.Pixels[p + 2] != holed.Pixels[p + 2];
                mask[p] = mask[p + 1] = mask[p + 2] = changed ? (byte)255 : (byte)0;
            }
            folder.Write($"parts/{MvtecDataset.MaskFolder}/hole/{i:D3}_mask.png", ImageEncoding.ToPng(new RgbImage(holed.Width, holed.Height, mask)));
        }
        return Path.Combine(folder.Path, "parts");
    }

    private static JsonObject Json(EvaluationResult result)
    {
        using var stream = new MemoryStream();
        EvaluationJson.Write(result, stream);
        return JsonNode.Parse(stream.ToArray())!.AsObject();
    }

    [Fact]
    public void With_masks_the_evaluation_reports_pixel_auroc_and_aupro_and_writes_maps_and_overlays()
    {
        var data = PartsWithMasks(writeMasks: true);
        var maps = Path.Combine(folder.Path, "maps");

        var outcome = DatasetEvaluation.RunWithMaps(data, trained.Model, SilentProgress.Instance, new MapEvaluationOptions(maps));

        var result = outcome.Result;
        Assert.NotNull(result.PixelAuroc);
        Assert.InRange(result.PixelAuroc!.Value, 0.8, 1);
        Assert.InRange(result.PixelAupro!.Value, 0.3, 1);
        Assert.Equal(["hole"], result.PixelAurocPerDefect!.Keys);
        var json = Json(result);
        Assert.Equal(result.PixelAuroc, json["pixel_auroc"]!.GetValue<double>());
        Assert.Equal(result.PixelAupro, json["pixel_aupro"]!.GetValue<double>());
        Assert.Equal(result.PixelAurocPerDefect["hole"], json["pixel_auroc_per_defect"]!["hole"]!.GetValue<double>());
        foreach (var name in new[] { "good/000", "good/002", "hole/000", "hole/002" })
        {
            Assert.True(File.Exists(Path.Combine(maps, name + "_map.png")), $"no map for {name}");
            Assert.True(File.Exists(Path.Combine(maps, name + "_overlay.png")), $"no overlay for {name}");
        }
        var overlay = ImageDecoder.DecodeFile(Path.Combine(maps, "hole/000_overlay.png"));
        Assert.Equal((TrainedPartsModelFixture.ImageSize, TrainedPartsModelFixture.ImageSize), (overlay.Width, overlay.Height));
        // The mask's outline is drawn in cyan.
        Assert.Contains(Enumerable.Range(0, overlay.Width * overlay.Height), i => overlay.Pixels[3 * i] == 0 && overlay.Pixels[3 * i + 1] == 255 && overlay.Pixels[3 * i + 2] == 255);
    }

    [Fact]
    public void Without_masks_there_are_no_pixel_metrics_not_zeros()
    {
        var data = PartsWithMasks(writeMasks: false);

        var outcome = DatasetEvaluation.RunWithMaps(data, trained.Model, SilentProgress.Instance, MapEvaluationOptions.Default);

        Assert.Null(outcome.Result.PixelAuroc);
        Assert.Empty(outcome.Maps);
        var json = Json(outcome.Result);
        Assert.False(json.ContainsKey("pixel_auroc"));
        Assert.False(json.ContainsKey("pixel_aupro"));
        Assert.False(json.ContainsKey("pixel_auroc_per_defect"));
        Assert.True(json.ContainsKey("auroc"));
    }

    public void Dispose() => folder.Dispose();
}
