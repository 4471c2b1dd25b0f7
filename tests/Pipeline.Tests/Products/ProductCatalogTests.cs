using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Hosting;
using Pipeline.Shared;
using Pipeline.Shared.Products;
using Xunit;

namespace Pipeline.Tests.Products;

/// <summary>Which product a frame is: the catalog, and how a node reads it from <c>Pipeline:Products</c>.</summary>
public sealed class ProductCatalogTests
{
    private static ProductCatalog Configure(params (string Key, string Value)[] settings)
    {
        var builder = PipelineHost.CreateBuilder(new PipelineHostSettings
        {
            UseDefaultSources = false,
            Overrides = settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value),
        });
        using var host = builder.Build(); // builds only: no actor system, no sockets
        return host.Services.GetRequiredService<ProductCatalog>();
    }

    [Fact]
    public void A_node_that_configures_no_product_has_only_the_default_one()
    {
        var catalog = Configure();

        Assert.Empty(catalog.Configured);
        Assert.Equal([ProductName.Default], catalog.Known);
        Assert.Equal(ProductName.Default, catalog.ProductOf("camera-1", productHeader: null));
    }

    [Fact]
    public void Cameras_are_mapped_to_their_products_and_the_header_wins_over_the_mapping()
    {
        var catalog = Configure(
            ("Pipeline:Products:bracket-a:Cameras:0", "line-1-cam-1"),
            ("Pipeline:Products:bracket-a:Cameras:1", "line-1-cam-2"),
            ("Pipeline:Products:housing:Cameras", "line-2-cam-1, line-2-cam-2")); // as Pipeline__Products__housing__Cameras=… would

        Assert.Equal(["bracket-a", "housing"], catalog.Configured);
        Assert.Equal([ProductName.Default, "bracket-a", "housing"], catalog.Known);
        Assert.Equal("bracket-a", catalog.ProductOf("line-1-cam-2", productHeader: null));
        Assert.Equal("housing", catalog.ProductOf("line-2-cam-2", productHeader: null));
        Assert.Equal(ProductName.Default, catalog.ProductOf("line-3-cam-1", productHeader: null));
        Assert.Equal("housing", catalog.ProductOf("line-1-cam-1", productHeader: "housing"));
    }

    [Fact]
    public void A_product_with_an_empty_camera_list_is_known_and_maps_no_camera()
    {
        var catalog = Configure(("Pipeline:Products:bracket-b:Cameras", ""));

        Assert.Equal(["bracket-b"], catalog.Configured);
        Assert.Equal(ProductName.Default, catalog.ProductOf("line-1-cam-1", productHeader: null));
    }

    [Fact]
    public void A_bad_product_name_stops_the_node_before_it_starts_naming_the_key()
    {
        var error = Assert.Throws<PipelineInputException>(() => Configure(("Pipeline:Products:Bracket_A:Cameras:0", "line-1-cam-1")));

        Assert.Contains("'Bracket_A' (Pipeline:Products:Bracket_A) is not a product name", error.Message);
    }

    [Fact]
    public void A_camera_given_to_two_products_stops_the_node_naming_both()
    {
        var error = Assert.Throws<PipelineInputException>(() => Configure(
            ("Pipeline:Products:bracket-a:Cameras:0", "line-1-cam-1"),
            ("Pipeline:Products:housing:Cameras:0", "line-1-cam-1")));

        Assert.Contains("Camera 'line-1-cam-1' is given to two products in Pipeline:Products: 'bracket-a' and 'housing'", error.Message);
    }

    [Fact]
    public void A_misspelt_product_setting_is_named()
    {
        var error = Assert.Throws<PipelineInputException>(() => Configure(("Pipeline:Products:bracket-a:Camera:0", "line-1-cam-1")));

        Assert.Contains("Pipeline:Products:bracket-a:Camera is not a setting", error.Message);
    }

    [Fact]
    public void An_empty_camera_id_in_a_list_is_refused()
    {
        var error = Assert.Throws<PipelineInputException>(() => Configure(("Pipeline:Products:bracket-a:Cameras:0", " ")));

        Assert.Contains("Pipeline:Products:bracket-a:Cameras has an empty camera id", error.Message);
    }
}
