using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Host.Security;
using Pipeline.Shared;
using Pipeline.Training;
using Pipeline.Training.Registry;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The model registry of a training node over HTTP, for <c>pipeline models … --url</c> and the console:
/// <c>GET /models</c> (viewer) lists the versions; <c>POST /models/{version}/promote</c> and <c>POST /models/rollback</c>
/// (operator) change the current one. They work on this node's registry (<see cref="ContinuousTrainingOptions.RegistryPath"/>)
/// exactly as <c>pipeline models --registry</c> does on the volume, under the registry's lock; the training singleton
/// notices the new current version within <see cref="ContinuousTrainingOptions.RegistryPollSeconds"/> and the scoring
/// nodes swap to it. Every change is logged with the token's subject.
/// </summary>
internal sealed class ModelRegistryRoutes(IOptions<ContinuousTrainingOptions> options, ILogger<ModelRegistryRoutes> log) : IHttpRoutes
{
    public IReadOnlyList<string> Paths { get; } = ["/models", "/models/{version}/promote", "/models/rollback"];

    public void Map(WebApplication app)
    {
        app.MapGet("/models", () =>
        {
            var registry = ModelRegistry.Open(options.Value.RegistryPath!);
            return Results.Json(new
            {
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

    /// <summary>Runs a change of the current version: 200 with the new and the old, 404 for an unknown version, 409 when it cannot be done.</summary>
    private IResult Change(HttpContext context, string action, Func<ModelRegistry, RegisteredModel?> change)
    {
        var who = context.User.FindFirst(AccessTokens.SubjectClaim)?.Value ?? "?";
        var registry = ModelRegistry.Open(options.Value.RegistryPath!);
        var before = registry.Current?.Version;
        try
        {
            if (change(registry) is not { } current)
                return Results.Json(new { error = $"the registry has no such version; it has {string.Join(", ", registry.List().Select(model => model.Version).DefaultIfEmpty("none"))}" }, statusCode: StatusCodes.Status404NotFound);
            log.LogInformation("Model registry: {Action} by {Subject} over HTTP; current version {Current} (was {Before})", action, who, current.Version, before ?? "none");
            return Results.Json(new { current = current.Version, was = before });
        }
        catch (PipelineInputException e)
        {
            log.LogWarning("Model registry: {Action} by {Subject} over HTTP refused: {Problem}", action, who, e.Message);
            return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status409Conflict);
        }
    }
}
