using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using Pipeline.Simulation;
using Pipeline.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Tests.Model;

/// <summary>DifferNet's gradient map points at the defect, turns with the part, and its regions are in frame pixels.</summary>
[Collection(TrainedPartsModelCollection.Name)]
public sealed class GradientMapTests(TrainedPartsModelFixture trained, ITestOutputHelper output)
{
    private const int Size = TrainedPartsModelFixture.ImageSize;

    /// <summary>A part with a drawn defect and the pixels the defect changed.</summary>
    private static (RgbImage Frame, bool[] Defect) PartWithDefect(int seed, DefectKind kind)
    {
        var parts = new SyntheticParts(Size);
        var good = parts.Good(new Random(seed));
        var frame = SyntheticParts.WithDefect(good, new Random(seed + 1000), kind);
        var defect = new bool[Size * Size];
        for (var i = 0; i < defect.Length; i++)
            defect[i] = good.Pixels[3 * i] != frame.Pixels[3 * i] || good.Pixels[3 * i + 1] != frame.Pixels[3 * i + 1] || good.Pixels[3 * i + 2] != frame.Pixels[3 * i + 2];
        return (frame, defect);
    }

    private static bool[] Dilate(bool[] mask, int width, int radius)
    {
        var height = mask.Length / width;
        var dilated = new bool[mask.Length];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            if (!mask[y * width + x]) continue;
            for (var dy = -radius; dy <= radius; dy++)
            for (var dx = -radius; dx <= radius; dx++)
            {
                int nx = x + dx, ny = y + dy;
                if (nx >= 0 && ny >= 0 && nx < width && ny < height) dilated[ny * width + nx] = true;
            }
        }
        return dilated;
    }

    private static int PeakIndex(AnomalyMap map) => Array.IndexOf(map.Values, map.Values.Max());

    /// <summary>The image turned a quarter turn clockwise: pixel (x, y) moves to (S−1−y, x).</summary>
    private static RgbImage QuarterTurn(RgbImage image)
    {
        var s = image.Width;
        var pixels = new byte[image.Pixels.Length];
        for (var y = 0; y < s; y++)
        for (var x = 0; x < s; x++)
            Array.Copy(image.Pixels, (y * s + x) * 3, pixels, (x * s + (s - 1 - y)) * 3, 3);
        return new RgbImage(s, s, pixels);
    }

    /// <remarks>
    /// The gradient reaches every pixel (the features are means over the image plane), so the whole map of a defective
    /// part is raised; what counts is where it stands out: its peak, and the mass of the map above half its peak (the
    /// area a region at that level would cover). A thin scratch on this brushed texture is not localized (its peak
    /// falls beside it), so scratches are not among the cases.
    /// </remarks>
    [Theory]
    [InlineData(DefectKind.Hole, 21)]
    [InlineData(DefectKind.Stain, 22)]
    public void The_peak_and_most_of_the_raised_map_lie_on_the_defect(DefectKind kind, int seed)
    {
        var (frame, defect) = PartWithDefect(seed, kind);
        var nearDefect = Dilate(defect, Size, radius: 4);

        var (map, score) = trained.Model.AnomalyMap(frame);

        var halfPeak = map.Peak / 2;
        var raised = map.Values.Sum(v => Math.Max(0, v - halfPeak));
        var raisedNearDefect = map.Values.Where((_, i) => nearDefect[i]).Sum(v => Math.Max(0, v - halfPeak));
        output.WriteLine($"{kind}: score {score:g4} (threshold {trained.Model.Threshold:g4}), {defect.Count(d => d)} px, {nearDefect.Count(d => d)} px dilated, raised map on it {raisedNearDefect / raised:P1}");
        var peak = PeakIndex(map);
        Assert.True(nearDefect[peak], $"the map's peak ({peak % Size}, {peak / Size}) is off the {kind}");
        Assert.True(raisedNearDefect > 0.5 * raised, $"only {raisedNearDefect / raised:P1} of the map above half its peak lies within 4 px of the {kind}");
    }

    [Fact]
    public void The_map_and_its_score_come_from_the_same_pass_as_scoring()
    {
        var (frame, _) = PartWithDefect(24, DefectKind.Hole);
        var (_, score) = trained.Model.AnomalyMap(frame);
        var scored = trained.Model.Score([frame])[0];
        Assert.True(Math.Abs(score - scored) <= 1e-4 * Math.Max(1, scored), $"map pass scored {score}, scoring {scored}");
    }

    [Fact]
    public void On_a_turned_frame_the_map_turns_with_it()
    {
        var (frame, _) = PartWithDefect(25, DefectKind.Hole);
        var (map, _) = trained.Model.AnomalyMap(frame);
        var (turnedMap, _) = trained.Model.AnomalyMap(QuarterTurn(frame));

        // Each map pixel should equal the pixel it came from: compare the turned frame's map with the map turned.
        double difference = 0, total = 0;
        for (var y = 0; y < Size; y++)
        for (var x = 0; x < Size; x++)
        {
            double expected = map.At(x, y), actual = turnedMap.At(Size - 1 - y, x);
            difference += Math.Abs(expected - actual);
            total += expected;
        }
        output.WriteLine($"relative difference {difference / total:P2}");
        var peak = PeakIndex(map);
        var turnedPeak = PeakIndex(turnedMap);
        var (px, py) = (peak % Size, peak / Size);
        var (tx, ty) = (turnedPeak % Size, turnedPeak / Size);
        Assert.True(Math.Abs(tx - (Size - 1 - py)) <= 2 && Math.Abs(ty - px) <= 2, $"the peak moved from ({px}, {py}) to ({tx}, {ty}), expected near ({Size - 1 - py}, {px})");
        Assert.True(difference < 0.1 * total, $"the turned frame's map differs from the turned map by {difference / total:P1}");
    }

    [Fact]
    public void Regions_are_in_the_pixels_of_the_frame_as_the_camera_sent_it()
    {
        // A 400×200 camera frame with a hole drawn in it; ingest squeezes it to the model's 128×128.
        var parts = new SyntheticParts(400);
        var wide = ImageResampling.Resize(parts.Good(new Random(26)), 400, 200);
        var frame = DrawDisc(wide, centerX: 300, centerY: 60, radius: 18);
        var prepared = FramePreparation.Prepare(frame, Size);

        var (map, _) = trained.Model.AnomalyMap(prepared);
        var regions = AnomalyRegions.Find(map, level: 0.5 * map.Peak, maxRegions: 3, new FrameSize(frame.Width, frame.Height));

        Assert.NotEmpty(regions);
        var top = regions[0];
        output.WriteLine($"region {top}");
        Assert.InRange(top.PeakX, 300 - 25, 300 + 25);
        Assert.InRange(top.PeakY, 60 - 25, 60 + 25);
        Assert.True(top.X <= 300 && top.X + top.Width >= 300 && top.Y <= 60 && top.Y + top.Height >= 60, $"the box {top} does not hold the disc's centre");
        Assert.True(top.X + top.Width <= 400 && top.Y + top.Height <= 200);
    }

    private static RgbImage DrawDisc(RgbImage image, int centerX, int centerY, int radius)
    {
        var pixels = (byte[])image.Pixels.Clone();
        for (var y = centerY - radius; y <= centerY + radius; y++)
        for (var x = centerX - radius; x <= centerX + radius; x++)
        {
            if ((x - centerX) * (x - centerX) + (y - centerY) * (y - centerY) > radius * radius) continue;
            var at = (y * image.Width + x) * 3;
            pixels[at] = 30; pixels[at + 1] = 30; pixels[at + 2] = 32;
        }
        return new RgbImage(image.Width, image.Height, pixels);
    }
}
