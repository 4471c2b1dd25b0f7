using Microsoft.Extensions.Configuration;
using Pipeline.Shared;
using Pipeline.Shared.Products;

namespace Pipeline.Host.Hosting;

/// <summary>
/// Reads <c>Pipeline:Products</c> (<see cref="ProductCatalog.Section"/>) into the node's <see cref="ProductCatalog"/>:
/// one subsection per product, named by the product, with its <c>Cameras</c>. Nothing configured: every frame is the
/// default product's, as in a deployment that has never heard of products.
/// </summary>
internal static class ProductsConfiguration
{
    /// <exception cref="PipelineInputException">
    /// A product's name is not a product name, a camera is given to two products, or a key under a product is not a
    /// setting (the message names it).
    /// </exception>
    public static ProductCatalog Load(IConfiguration configuration)
    {
        var section = configuration.GetSection(ProductCatalog.Section);
        var products = new Dictionary<string, ProductOptions>(StringComparer.Ordinal);
        foreach (var product in section.GetChildren())
        {
            var unknown = product.GetChildren().Select(child => child.Key)
                .Where(key => !string.Equals(key, nameof(ProductOptions.Cameras), StringComparison.OrdinalIgnoreCase)).ToArray();
            if (unknown.Length > 0)
                throw new PipelineInputException($"{string.Join(", ", unknown.Select(key => $"{product.Path}:{key}"))} is not a setting; a product has only {nameof(ProductOptions.Cameras)}.");
            products[product.Key] = new ProductOptions { Cameras = CamerasOf(product.GetSection(nameof(ProductOptions.Cameras))) };
        }

        return ProductCatalog.From(products);
    }

    /// <summary>
    /// The cameras as a list (<c>Cameras:0</c>, <c>Cameras:1</c>, …) or as one comma-separated value
    /// (<c>Pipeline__Products__bracket-a__Cameras=line-1-cam-1,line-1-cam-2</c>), which replaces the whole list.
    /// </summary>
    private static List<string> CamerasOf(IConfigurationSection cameras) =>
        cameras.Value is { } commaSeparated
            ? commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : cameras.GetChildren().Select(camera => camera.Value?.Trim() ?? "").ToList();
}
