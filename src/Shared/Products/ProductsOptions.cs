namespace Pipeline.Shared.Products;

/// <summary>
/// One product's configuration, <c>Pipeline:Products:&lt;name&gt;</c> (the name is the key: see <see cref="ProductName"/>).
/// </summary>
public sealed class ProductOptions
{
    /// <summary>Cameras whose frames are this product's when the frame has no <c>product</c> header (<c>Pipeline:Products:&lt;name&gt;:Cameras:0</c>, …).</summary>
    public List<string> Cameras { get; set; } = [];
}

/// <summary>
/// Which product a frame is: its <c>product</c> header, else its camera's product in <c>Pipeline:Products</c>, else
/// <see cref="ProductName.Default"/>. Built once from the configuration, which it checks: every name is a product name
/// and a camera belongs to one product at most.
/// </summary>
public sealed class ProductCatalog
{
    public const string Section = "Pipeline:Products";

    private readonly Dictionary<string, string> productOfCamera;

    private ProductCatalog(IReadOnlyList<string> configured, Dictionary<string, string> productOfCamera)
    {
        Configured = configured;
        this.productOfCamera = productOfCamera;
    }

    /// <summary>The catalog of a deployment that configures no product: every frame is <see cref="ProductName.Default"/>'s.</summary>
    public static ProductCatalog DefaultOnly { get; } = new([], new Dictionary<string, string>(StringComparer.Ordinal));

    /// <summary>The products named in the configuration, in name order (the default product is not among them unless configured).</summary>
    public IReadOnlyList<string> Configured { get; }

    /// <summary>The configured products and the default one.</summary>
    public IReadOnlyList<string> Known => Configured.Contains(ProductName.Default) ? Configured : [ProductName.Default, .. Configured];

    /// <summary>Builds the catalog from <c>Pipeline:Products</c> bound to a dictionary (null or empty: <see cref="DefaultOnly"/>).</summary>
    /// <exception cref="PipelineInputException">A name is not a product name, or a camera is given to two products.</exception>
    public static ProductCatalog From(IReadOnlyDictionary<string, ProductOptions>? products)
    {
        if (products is null || products.Count == 0) return DefaultOnly;
        var productOfCamera = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, options) in products.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            ProductName.Require(name, $"{Section}:{name}");
            foreach (var camera in options.Cameras)
            {
                if (string.IsNullOrWhiteSpace(camera))
                    throw new PipelineInputException($"{Section}:{name}:Cameras has an empty camera id.");
                if (productOfCamera.TryGetValue(camera, out var other) && other != name)
                    throw new PipelineInputException($"Camera '{camera}' is given to two products in {Section}: '{other}' and '{name}'; a camera's frames are one product's.");
                productOfCamera[camera] = name;
            }
        }
        return new ProductCatalog(products.Keys.OrderBy(name => name, StringComparer.Ordinal).ToArray(), productOfCamera);
    }

    /// <summary>The product configured for <paramref name="cameraId"/>, else <see cref="ProductName.Default"/>.</summary>
    public string ProductOfCamera(string cameraId) => productOfCamera.GetValueOrDefault(cameraId, ProductName.Default);

    /// <summary>The frame's product: its <c>product</c> header when it has one, else its camera's (<see cref="ProductOfCamera"/>).</summary>
    public string ProductOf(string cameraId, string? productHeader) => productHeader ?? ProductOfCamera(cameraId);
}
