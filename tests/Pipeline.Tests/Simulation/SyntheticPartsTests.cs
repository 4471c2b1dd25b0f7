using Pipeline.Shared.Data;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Products;
using Pipeline.Simulation;
using Xunit;
using static Pipeline.Tests.Imaging.TestPictures;

namespace Pipeline.Tests.Simulation;

public sealed class SyntheticPartsTests
{
    [Fact]
    public void Good_parts_differ_from_each_other_but_look_alike()
    {
        var generator = new SyntheticParts(64);
        var rng = new Random(1);
        var parts = Enumerable.Range(0, 6).Select(_ => generator.Good(rng)).ToArray();

        foreach (var part in parts.Skip(1))
            Assert.InRange(MeanAbsoluteDifference(parts[0], part), 4, double.MaxValue);
        var means = parts.Select(part => Statistics(part).Mean).ToArray();
        var deviations = parts.Select(part => Statistics(part).Deviation).ToArray();
        Assert.InRange(means.Max() - means.Min(), 0, 25);
        Assert.All(deviations, deviation => Assert.InRange(deviation, 3, 15));
        Assert.InRange(deviations.Max() / deviations.Min(), 1, 1.8);
    }

    [Theory]
    [InlineData(DefectKind.Scratch, 64)]
    [InlineData(DefectKind.Scratch, 128)]
    [InlineData(DefectKind.Hole, 64)]
    [InlineData(DefectKind.Hole, 128)]
    [InlineData(DefectKind.Stain, 64)]
    [InlineData(DefectKind.Stain, 128)]
    public void A_defect_changes_a_small_region_of_the_part_clearly(DefectKind kind, int size)
    {
        var generator = new SyntheticParts(size);
        var rng = new Random(2);
        for (int sample = 0; sample < 10; sample++)
        {
            var good = generator.Good(rng);

            var defective = SyntheticParts.WithDefect(good, rng, kind);

            var (changed, largestChange) = Changes(good, defective);
            double changedShare = (double)changed / (size * size);
            Assert.InRange(changedShare, 0.002, 0.15);
            Assert.InRange(largestChange, 40, 255);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_parts_and_another_seed_other_parts()
    {
        var generator = new SyntheticParts(48);
        RgbImage[] Draw(int seed)
        {
            var rng = new Random(seed);
            return [generator.Good(rng), generator.Defective(rng, DefectKind.Scratch), generator.Defective(rng, DefectKind.Hole), generator.Defective(rng, DefectKind.Stain)];
        }

        var first = Draw(7);
        var again = Draw(7);
        var other = Draw(8);

        Assert.Equal(first.Select(image => image.Pixels), again.Select(image => image.Pixels));
        Assert.All(first.Zip(other), pair => Assert.NotEqual(pair.First.Pixels, pair.Second.Pixels));
    }

    [Fact]
    public void A_written_mvtec_folder_opens_as_a_dataset_of_decodable_images()
    {
        using var folder = new TempFolder();

        SyntheticParts.WriteMvtecFolder(folder.Path, trainGood: 3, testGood: 2, testPerDefect: 1, size: 40, seed: 3);

        var dataset = MvtecDataset.Open(folder.Path).RequireTrainingImages().RequireTestImages();
        Assert.Equal(3, dataset.TrainGoodImages.Count);
        Assert.Equal(["hole", "scratch", "stain"], dataset.DefectTypes);
        Assert.Equal(2, dataset.TestImages.Count(image => !image.IsDefective));
        Assert.All(dataset.TestImages.Select(image => image.Path).Concat(dataset.TrainGoodImages), path =>
        {
            var image = ImageDecoder.DecodeFile(path);
            Assert.Equal((40, 40), (image.Width, image.Height));
        });
    }

    [Fact]
    public void The_demo_products_have_product_names_and_colours_apart_by_a_clear_margin()
    {
        var looks = PartLook.Products;

        Assert.All(looks, look => Assert.True(ProductName.IsValid(look.Name), $"'{look.Name}' is not a product name"));
        Assert.Equal(looks.Count, looks.Select(look => look.Name).Distinct().Count());
        var colours = looks.ToDictionary(look => look.Name, look => MeanColour(new SyntheticParts(64, look).Good(new Random(4))));
        foreach (var a in looks)
        foreach (var b in looks.Where(b => string.CompareOrdinal(a.Name, b.Name) < 0))
        {
            var (ca, cb) = (colours[a.Name], colours[b.Name]);
            var distance = Math.Sqrt(Math.Pow(ca.R - cb.R, 2) + Math.Pow(ca.G - cb.G, 2) + Math.Pow(ca.B - cb.B, 2));
            Assert.True(distance > 30, $"{a.Name} {ca} and {b.Name} {cb} are only {distance:0.0} levels apart");
        }
    }

    [Fact]
    public void The_demo_products_get_defects_of_their_own_kinds_and_their_folders_hold_only_those()
    {
        Assert.All(PartLook.Products, look => Assert.Equal(2, look.Defects.Distinct().Count()));
        Assert.True(PartLook.Products.Select(look => string.Join(",", look.Defects.Order())).Distinct().Count() > 1, "every product gets the same defects");
        using var folder = new TempFolder();
        var gasket = PartLook.Products.Single(look => look.Name == "gasket-b");

        SyntheticParts.WriteMvtecFolder(folder.Path, trainGood: 1, testGood: 1, testPerDefect: 1, size: 40, seed: 3, gasket);

        Assert.Equal(["scratch", "stain"], MvtecDataset.Open(folder.Path).DefectTypes);
    }

    [Fact]
    public void A_part_with_vertical_grain_has_its_streaks_top_to_bottom()
    {
        var horizontal = new SyntheticParts(64, PartLook.Steel).Good(new Random(5));
        var vertical = new SyntheticParts(64, PartLook.Steel with { VerticalGrain = true }).Good(new Random(5));

        Assert.True(LineSpread(horizontal, rows: true) > 2 * LineSpread(horizontal, rows: false));
        Assert.True(LineSpread(vertical, rows: false) > 2 * LineSpread(vertical, rows: true));
    }

    [Fact]
    public void Steel_is_what_the_generator_draws_without_a_look()
    {
        Assert.Equal(new SyntheticParts(48).Good(new Random(6)).Pixels, new SyntheticParts(48, PartLook.Steel).Good(new Random(6)).Pixels);
        Assert.Equal([DefectKind.Scratch, DefectKind.Hole, DefectKind.Stain], PartLook.Steel.Defects);
    }

    private static (double R, double G, double B) MeanColour(RgbImage image)
    {
        double Channel(int c) => Enumerable.Range(0, image.Width * image.Height).Average(i => (double)image.Pixels[i * 3 + c]);
        return (Channel(0), Channel(1), Channel(2));
    }

    /// <summary>How much the mean brightness of whole rows (or columns) differs from one to the next, on average.</summary>
    private static double LineSpread(RgbImage image, bool rows)
    {
        var means = Enumerable.Range(0, rows ? image.Height : image.Width).Select(line => Enumerable.Range(0, rows ? image.Width : image.Height)
            .Average(along => { var (x, y) = rows ? (along, line) : (line, along); return (double)image.Pixels[(y * image.Width + x) * 3 + 1]; })).ToArray();
        return means.Zip(means.Skip(1), (a, b) => Math.Abs(a - b)).Average();
    }

    private static (double Mean, double Deviation) Statistics(RgbImage image)
    {
        double mean = image.Pixels.Average(value => (double)value);
        double variance = image.Pixels.Average(value => (value - mean) * (value - mean));
        return (mean, Math.Sqrt(variance));
    }

    /// <summary>How many pixels differ at all, and the largest difference in any channel.</summary>
    private static (int Pixels, int Largest) Changes(RgbImage before, RgbImage after)
    {
        int pixels = 0, largest = 0;
        for (int at = 0; at < before.Pixels.Length; at += 3)
        {
            int change = Enumerable.Range(at, 3).Max(i => Math.Abs(before.Pixels[i] - after.Pixels[i]));
            if (change > 0)
                pixels++;
            largest = Math.Max(largest, change);
        }
        return (pixels, largest);
    }
}
