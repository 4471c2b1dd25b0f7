using Microsoft.Extensions.Configuration;
using Pipeline.Host.Demo;
using Pipeline.Shared.Data;
using Pipeline.Shared.Products;
using Pipeline.Simulation;
using Xunit;

namespace Pipeline.Tests.Demo;

/// <summary>The demo's cameras: with several products, the configuration and the headers they send name every frame's product.</summary>
public sealed class DemoCamerasTests
{
    [Fact]
    public void With_several_products_every_frame_is_its_products_by_its_camera_or_its_header_and_both_ways_are_used()
    {
        using var folder = new TempFolder();
        string[] products = ["bracket-a", "gasket-b", "plate-c"];
        var datasets = products.Select((name, i) => Dataset(folder, PartLook.Products[i] with { Name = name })).ToArray();
        var options = new StreamingDemoOptions { Frames = 30, Cameras = 2, CorruptEvery = 0 };

        var (frames, truth) = DemoCameras.Frames(products, datasets, options);
        var catalog = Catalog(DemoCameras.ProductSettings(products, options.Cameras));

        Assert.Equal(products, catalog.Configured);
        Assert.Equal(30, frames.Count);
        Assert.All(frames, frame => Assert.Equal(truth[frame.Metadata.FrameId].Product, catalog.ProductOf(frame.Metadata.CameraId, frame.Metadata.Product)));
        Assert.All(products, product => Assert.Equal(10, truth.Values.Count(t => t.Product == product)));
        var withHeader = frames.Where(frame => frame.Metadata.Product is not null).ToArray();
        Assert.NotEmpty(withHeader);
        Assert.All(withHeader, frame => Assert.Equal(ProductName.Default, catalog.ProductOfCamera(frame.Metadata.CameraId)));
        Assert.Contains(frames, frame => frame.Metadata.Product is null);
        // Three products on two cameras asked for: a camera for each product, one more for the changeover station.
        Assert.Equal(4, frames.Select(frame => frame.Metadata.CameraId).Distinct().Count());
    }

    [Fact]
    public void The_default_product_alone_configures_no_products_and_sends_no_product_header()
    {
        using var folder = new TempFolder();
        var options = new StreamingDemoOptions { Frames = 9, Cameras = 3, CorruptEvery = 4 };

        var (frames, truth) = DemoCameras.Frames([ProductName.Default], [Dataset(folder, PartLook.Steel)], options);

        Assert.Empty(DemoCameras.ProductSettings([ProductName.Default], options.Cameras));
        Assert.All(frames, frame => Assert.Null(frame.Metadata.Product));
        Assert.Equal(["camera-1", "camera-2", "camera-3", "camera-1"], frames.Take(4).Select(frame => frame.Metadata.CameraId));
        Assert.Equal(2, truth.Values.Count(t => t.Corrupt));
        Assert.All(truth.Values, t => Assert.Equal(ProductName.Default, t.Product));
    }

    private static MvtecDataset Dataset(TempFolder folder, PartLook look)
    {
        var root = Path.Combine(folder.Path, look.Name);
        SyntheticParts.WriteMvtecFolder(root, trainGood: 1, testGood: 2, testPerDefect: 1, size: 32, seed: 1, look);
        return MvtecDataset.Open(root);
    }

    private static ProductCatalog Catalog(IReadOnlyDictionary<string, string> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(pair => KeyValuePair.Create(pair.Key, (string?)pair.Value))).Build();
        return ProductCatalog.From(configuration.GetSection(ProductCatalog.Section).Get<Dictionary<string, ProductOptions>>());
    }
}
