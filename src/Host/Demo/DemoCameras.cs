using System.Globalization;
using Pipeline.Shared;
using Pipeline.Shared.Data;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Simulation;

namespace Pipeline.Host.Demo;

/// <summary>One kind of part the demo streams: its product name, the data set its cameras show and its trained model.</summary>
/// <param name="Name">A product name; <see cref="ProductName.Default"/> alone is the single-product demo.</param>
/// <param name="DataFolder">A data set in MVTec AD layout; its test images are what the product's cameras show.</param>
/// <param name="ModelFile">The trained model artifact of the product, imported as its v1.</param>
public sealed record DemoProduct(string Name, string DataFolder, string ModelFile);

/// <summary>What the camera simulator knows of a frame it sent: the truth the streamed scores are measured against.</summary>
/// <param name="Product">The product the frame shows (the generator's truth, not what the pipeline made of it).</param>
public sealed record FrameTruth(bool Defective, string DefectType, bool Corrupt, string Product = ProductName.Default);

/// <summary>The demo's frames and the truth of each, keyed by frame id.</summary>
public sealed record DemoFrames(IReadOnlyList<CameraFrame> Frames, IReadOnlyDictionary<string, FrameTruth> Truth);

/// <summary>
/// The demo's cameras: which frames they send, and, with several products, which product each camera's line makes.
/// <para>
/// One product (the default one): the test images in a seeded shuffle, sent by the cameras in turn, as the demo always
/// did. Several products: the products take turns frame by frame; camera <c>camera-k</c> (k = 1 … C, with C at least the
/// number of products) is product <c>(k − 1) mod N</c>'s, in <c>Pipeline:Products:&lt;name&gt;:Cameras</c>; and every
/// <see cref="ChangeoverEvery"/>-th frame comes from one more camera, <c>camera-(C+1)</c>, mapped to no product, whose
/// frames carry the <c>product</c> header (a station that sees every product after a changeover). So both ways of
/// naming a frame's product are used.
/// </para>
/// </summary>
public static class DemoCameras
{
    /// <summary>With several products, every this many frames comes from the changeover camera with a <c>product</c> header.</summary>
    public const int ChangeoverEvery = 4;

    /// <summary>Whether <paramref name="products"/> is the single-product demo: only the default product.</summary>
    public static bool IsSingleProduct(IReadOnlyList<DemoProduct> products) => products is [{ Name: ProductName.Default }];

    /// <summary>Cameras mapped to products: as many as asked for, and at least one per product.</summary>
    public static int MappedCameras(int cameras, int products) => Math.Max(cameras, products);

    /// <summary>The id of the <paramref name="index"/>-th camera (from 1).</summary>
    public static string CameraId(int index) => string.Create(CultureInfo.InvariantCulture, $"camera-{index}");

    /// <summary>
    /// The camera → product settings (<c>Pipeline:Products:&lt;name&gt;:Cameras:&lt;i&gt;</c>) for several products; none for
    /// the single-product demo, which configures nothing about products.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ProductSettings(IReadOnlyList<string> products, int cameras)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        if (products is [ProductName.Default]) return settings;
        var mapped = MappedCameras(cameras, products.Count);
        for (var p = 0; p < products.Count; p++)
        {
            var ofProduct = Enumerable.Range(1, mapped).Where(k => (k - 1) % products.Count == p).ToArray();
            for (var i = 0; i < ofProduct.Length; i++)
                settings[string.Create(CultureInfo.InvariantCulture, $"{ProductCatalog.Section}:{products[p]}:{nameof(ProductOptions.Cameras)}:{i}")] = CameraId(ofProduct[i]);
        }
        return settings;
    }

    /// <summary>
    /// The frames the cameras send (each product's test images in a seeded shuffle, every n-th frame cut off), with the
    /// truth of each. <paramref name="datasets"/> are the products' data sets, in the order of <paramref name="products"/>.
    /// </summary>
    public static DemoFrames Frames(IReadOnlyList<string> products, IReadOnlyList<MvtecDataset> datasets, StreamingDemoOptions options)
    {
        var single = products is [ProductName.Default];
        var rng = new Random(options.Seed);
        var images = datasets.Select(data =>
        {
            var shuffled = data.TestImages.OrderBy(_ => rng.Next()).ToArray();
            return shuffled.Length > 0 ? shuffled : throw new PipelineInputException($"{data.Folder} has no test images to stream.");
        }).ToArray();
        var mapped = MappedCameras(options.Cameras, products.Count);
        var bytes = new Dictionary<string, byte[]>();
        var frames = new List<CameraFrame>();
        var truth = new Dictionary<string, FrameTruth>(StringComparer.Ordinal);
        var sentOfProduct = new int[products.Count];
        for (var i = 0; i < options.Frames; i++)
        {
            var p = i % products.Count;
            var turn = sentOfProduct[p]++;
            var image = images[p][turn % images[p].Length];
            if (!bytes.TryGetValue(image.Path, out var encoded)) bytes[image.Path] = encoded = File.ReadAllBytes(image.Path);
            var corrupt = options.CorruptEvery > 0 && (i + 1) % options.CorruptEvery == 0;
            var frameId = string.Create(CultureInfo.InvariantCulture, $"demo-{i + 1:D5}");
            var contentType = FrameContentTypes.ByFileExtension.GetValueOrDefault(Path.GetExtension(image.Path), FrameContentTypes.Png);
            // With continuous learning the cameras' line knows its good parts, as an inspection station after a manual check would.
            var label = options.RefitAfter is not null && !image.IsDefective && !corrupt ? FrameLabel.Good : (FrameLabel?)null;
            var (camera, header) = single ? (CameraId(i % options.Cameras + 1), null)
                : (i + 1) % ChangeoverEvery == 0 ? (CameraId(mapped + 1), products[p])
                : (CameraId(CameraOfProduct(p, turn, products.Count, mapped)), (string?)null);
            var metadata = new FrameMetadata(frameId, camera, DateTimeOffset.UtcNow, contentType, label, header);
            frames.Add(new CameraFrame(metadata, corrupt ? encoded[..(encoded.Length / 3)] : encoded));
            truth[frameId] = new FrameTruth(image.IsDefective, corrupt ? "corrupt frame" : image.DefectType, corrupt, products[p]);
        }

        return new DemoFrames(frames, truth);
    }

    /// <summary>The product's cameras (1-based ids k with (k − 1) mod N = p) take its frames in turn.</summary>
    private static int CameraOfProduct(int product, int turn, int products, int mapped)
    {
        var ofProduct = (mapped - 1 - product) / products + 1;
        return product + 1 + turn % ofProduct * products;
    }
}
