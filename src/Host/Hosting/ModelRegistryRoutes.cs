using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Host.Security;
using Pipeline.Shared;
using Pipeline.Shared.Products;
using Pipeline.Training;
using Pipeline.Training.Registry;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The model registry of a training node over HTTP, for <c>pipeline models … --url</c> and the console:
/// <c>GET /products</c> and <c>GET /models</c> (viewer) list the products and a product's versions;
/// <c>POST /models/{version}/promote</c> and <c>POST /models/rollback</c> (operator) change a product's current one.
/// <c>?product=&lt;name&gt;</c> names the product (<see cref="ProductQuery"/>; without it: the default product). They work
/// on this node's registry (<see cref="ContinuousTrainingOptions.RegistryPath"/>, each product's folder as
/// <see cref="ModelRegistry.FolderOf"/> says) exactly as <c>pipeline models --registry</c> does on the volume, under the
/// registry's lock; the training singleton notices the new current version within
/// <see cref="ContinuousTrainingOptions.RegistryPollSeconds"/> and the scoring nodes swap to it. Every change is logged
/// with the token's subject and the product.
/// </summary>
internal sealed class ModelRegistryRoutes(IOptions<ContinuousTrainingOptions> options, IServiceProvider services, ILogger<ModelRegistryRoutes> log) : IHttpRoutes
{
    public IReadOnlyList<string> Paths { get; } = ["/products", "/models", "/models/{version}/promote", "/models/rollback"];

    private string Root => options.Value.RegistryPath!;

    private ProductCatalog Catalog => TrainingRole.ProductsOf(services);

    public void Map(WebApplication app)
    {
        app.MapGet("/products", () => Results.Json(new
        {
            products = ProductQuery.Known(Root, Catalog).Select(product =>
            {
                var registry = ModelRegistry.Open(Root, product);
                return new { product, current = registry.Current?.Version, previous = registry.Previous, versions = registry.List().Select(model => model.Version) };
            }),
        })).RequireAuthorization(HttpAuthentication.Viewer);

        app.MapGet("/models", (HttpContext context) =>
        {
            var (product, problem) = ProductQuery.Resolve(context, Root, Catalog);
            if (problem is not null) return problem;
            var registry = ModelRegistry.Open(Root, product!);
            return Results.Json(new
            {
                product,
                current = registry.Current?.Version,
                previous = registry.Previous,
                versions = registry.List().Select(model => new
                {
                    version = model.Version,
                    sha256 = model.Sha256,
                    size_bytes = model.SizeBytes,
                    created_at = model.CreatedAt,
                    image_size = model.ImageSize,
                    test_views = model.TestViews,
                    threshold = model.Threshold,
                    origin = model.Origin,
                }),
            });
        }).RequireAuthorization(HttpAuthentication.Viewer);

        app.MapPost("/models/{version}/promote", (string version, HttpContext context) =>
            Change(context, $"promote {version}", registry => registry.List().Any(model => model.Version == version) ? registry.Promote(version) : null))
            .RequireAuthorization(HttpAuthentication.Operator);

        app.MapPost("/models/rollback", (HttpContext context) => Change(context, "rollback", registry => registry.Rollback()))
            .RequireAuthorization(HttpAuthentication.Operator);
    }

    /// <summary>Runs a change of a product's current version: 200 with the new and the old, 404 for an unknown product or version, 409 when it cannot be done.</summary>
    private IResult Change(HttpContext context, string action, Func<ModelRegistry, RegisteredModel?> change)
    {
        var (product, problem) = ProductQuery.Resolve(context, Root, Catalog);
        if (problem is not null) return problem;
        var who = context.User.FindFirst(AccessTokens.SubjectClaim)?.Value ?? "?";
        if (product != ProductName.Default) action += $" of product {product}";
        var registry = ModelRegistry.Open(Root, product!);
        var before = registry.Current?.Version;
        try
        {
            if (change(registry) is not { } current)
                return Results.Json(new { error = $"the registry of product {product} has no such version; it has {string.Join(", ", registry.List().Select(model => model.Version).DefaultIfEmpty("none"))}" }, statusCode: StatusCodes.Status404NotFound);
            log.LogInformation("Model registry: {Action} by {Subject} over HTTP; current version {Current} (was {Before})", action, who, current.Version, before ?? "none");
            return Results.Json(new { product, current = current.Version, was = before });
        }
        catch (PipelineInputException e)
        {
            log.LogWarning("Model registry: {Action} by {Subject} over HTTP refused: {Problem}", action, who, e.Message);
            return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status409Conflict);
        }
    }
}

/// <summary>
/// The optional <c>?product=&lt;name&gt;</c> of the training node's control endpoints: absent, the default product; a
/// name that is not a product name, 400; a product the node does not know (neither configured nor with a registry
/// folder), 404; each with a sentence naming it.
/// </summary>
internal static class ProductQuery
{
    public const string Parameter = "product";

    /// <summary>The products a training node knows: those with a registry folder under <paramref name="root"/> and the configured ones, in name order.</summary>
    public static IReadOnlyList<string> Known(string root, ProductCatalog catalog) =>
        ModelRegistry.ProductsIn(root).Union(catalog.Known).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The product the request names (the default product when none), or the answer that refuses it.</summary>
    public static (string? Product, IResult? Problem) Resolve(HttpContext context, string root, ProductCatalog catalog)
    {
        if (!context.Request.Query.TryGetValue(Parameter, out var named)) return (ProductName.Default, null);
        if (named.Count != 1) return (null, Refuse(StatusCodes.Status400BadRequest, $"?{Parameter}= is given {named.Count} times; give one product."));
        var product = named[0];
        if (!ProductName.IsValid(product))
            return (null, Refuse(StatusCodes.Status400BadRequest, $"'{product}' is not a product name: use 1 to {ProductName.MaxLength} lower-case letters, digits and dashes, not starting or ending with a dash."));
        var known = Known(root, catalog);
        if (!known.Contains(product, StringComparer.Ordinal))
            return (null, Refuse(StatusCodes.Status404NotFound,
                $"The training node has no product '{product}'; it has {string.Join(", ", known)}. Import its first model with 'pipeline models import --product {product}'."));
        return (product, null);
    }

    private static IResult Refuse(int status, string sentence) => Results.Json(new { error = sentence }, statusCode: status);
}
