using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Pipeline.Host.Hosting;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>
/// The operator console's HTTP routes on a training node (docs/console.md):
/// <list type="bullet">
/// <item><c>GET /</c>: the page; <c>/?token=…</c> logs in (the token is checked, kept in an HttpOnly SameSite=Strict
/// cookie, and the browser sent on to <c>/</c> without it in the address); without a valid token or cookie, a page that
/// says how to get one (401).</item>
/// <item><c>GET /console/assets/{name}</c>: the page's script and style.</item>
/// <item><c>GET /console/state</c> and <c>GET /console/events</c> (server-sent events): the feed (viewer).</item>
/// <item><c>GET /console/frames/{partition}/{offset}?frame_id=</c>: a frame's image from the frames topic (viewer).</item>
/// <item><c>GET /console/maps/{frameId}</c>: a frame's anomaly map (grayscale PNG) from the console's bounded store of the anomaly-maps topic (viewer).</item>
/// <item><c>POST /console/labels</c>: an operator's verdict on a frame, to the labels topic (operator).</item>
/// <item><c>GET /console/health</c>: cluster members, frames/s and anomaly rate per camera, lag (viewer).</item>
/// <item><c>POST /console/logout</c>: forgets the cookie.</item>
/// </list>
/// The model controls on the page call the same endpoints as the CLI (<c>/models…</c>, <c>/training/…</c>).
/// </summary>
internal sealed class ConsoleRoutes(
    ConsoleFeed feed,
    FrameImages images,
    LabelPublisher labels,
    ClusterHealth health,
    IOptions<HttpAuthOptions> auth,
    SigningKeyRing keys,
    ILogger<ConsoleRoutes> log) : IHttpRoutes
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>Fires when the node's HTTP server begins to stop: open event streams end then, so that they do not hold the shutdown.</summary>
    private CancellationToken stopping;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public IReadOnlyList<string> Paths { get; } =
        ["/", "/console/assets/{name}", "/console/state", "/console/events", "/console/frames/{partition}/{offset}", "/console/maps/{frameId}", "/console/labels", "/console/health", "/console/me", "/console/logout"];

    public void Map(WebApplication app)
    {
        stopping = app.Lifetime.ApplicationStopping;
        app.MapGet("/", LoginOrPageAsync).AllowAnonymous();
        app.MapGet("/console/assets/{name}", (string name) => ConsoleAssets.Find(name) is { } asset
            ? Results.Bytes(asset.Bytes, asset.ContentType)
            : Results.NotFound()).AllowAnonymous(); // the page's script and style hold nothing of the cluster's
        app.MapGet("/console/state", () => Results.Json(View(feed.Snapshot()), Json)).RequireAuthorization(HttpAuthentication.Viewer);
        app.MapGet("/console/events", EventsAsync).RequireAuthorization(HttpAuthentication.Viewer);
        app.MapGet("/console/frames/{partition:int}/{offset:long}", FrameAsync).RequireAuthorization(HttpAuthentication.Viewer);
        app.MapGet("/console/maps/{frameId}", (string frameId, HttpContext context) =>
        {
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            return feed.FindMap(frameId) is { } map
                ? Results.Bytes(map.Png, InspectionEvents.MapContentType)
                : Results.Json(new { error = $"the console holds no anomaly map of frame {frameId} (none was made, or it is older than the {feed.MapCapacity} maps kept)" }, statusCode: StatusCodes.Status404NotFound);
        }).RequireAuthorization(HttpAuthentication.Viewer);
        app.MapPost("/console/labels", LabelAsync).RequireAuthorization(HttpAuthentication.Operator);
        app.MapGet("/console/health", HealthAsync).RequireAuthorization(HttpAuthentication.Viewer);
        app.MapGet("/console/me", (HttpContext context) => Results.Json(new
        {
            subject = context.User.FindFirst(AccessTokens.SubjectClaim)?.Value,
            role = context.User.FindFirst(AccessTokens.RoleClaim)?.Value,
        })).RequireAuthorization(HttpAuthentication.Viewer);
        app.MapPost("/console/logout", (HttpContext context) =>
        {
            context.Response.Cookies.Delete(HttpAuthentication.TokenCookie, new CookieOptions { Path = "/" });
            return Results.Redirect("/");
        }).AllowAnonymous();
    }

    /// <summary><c>/?token=</c> logs in and redirects to <c>/</c>; <c>/</c> with a valid token (cookie or header) is the page.</summary>
    private async Task<IResult> LoginOrPageAsync(HttpContext context, CancellationToken cancellation)
    {
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        context.Response.Headers.CacheControl = "no-store";
        if (context.Request.Query.TryGetValue("token", out var given) && given.ToString() is { Length: > 0 } token)
        {
            var checkedToken = await new JsonWebTokenHandler().ValidateTokenAsync(token, AccessTokens.ValidationParameters(auth.Value, keys));
            if (!checkedToken.IsValid)
            {
                log.LogWarning("Console login refused: {Problem}", checkedToken.Exception?.GetType().Name ?? "invalid token");
                return Results.Content(ConsoleAssets.LoginPage("That login link is not valid (expired, or not signed by a key this node knows)."), "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
            }
            var subject = (checkedToken.Claims.TryGetValue(AccessTokens.SubjectClaim, out var sub) ? sub?.ToString() : null) ?? "?";
            var role = (checkedToken.Claims.TryGetValue(AccessTokens.RoleClaim, out var r) ? r?.ToString() : null) ?? "?";
            var expires = checkedToken.SecurityToken is JsonWebToken jwt ? new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) : (DateTimeOffset?)null;
            context.Response.Cookies.Append(HttpAuthentication.TokenCookie, token, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
                Expires = expires,
            });
            log.LogInformation("Console login by {Subject} as {Role}", subject, role);
            return Results.Redirect("/");
        }

        if (context.User.Identity?.IsAuthenticated != true)
            return Results.Content(ConsoleAssets.LoginPage("Open the console with a login link (/?token=…): 'pipeline token' makes a token, 'pipeline demo' prints a link."), "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
        return Results.Bytes(ConsoleAssets.Page.Bytes, ConsoleAssets.Page.ContentType);
    }

    /// <summary>
    /// Server-sent events: <c>snapshot</c> first, then <c>anomaly</c>, <c>review</c> and <c>model_event</c> as they
    /// arrive, until the page goes or the node stops (the browser's EventSource then reconnects on its own).
    /// </summary>
    private async Task EventsAsync(HttpContext context)
    {
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var cancellation = ending.Token;
        var changes = feed.Listen(cancellation);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            await SendAsync(response, "snapshot", View(feed.Snapshot()), cancellation);
            while (!cancellation.IsCancellationRequested)
            {
                using var beat = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                beat.CancelAfter(Heartbeat);
                ConsoleChange change;
                try
                {
                    change = await changes.ReadAsync(beat.Token);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    await response.WriteAsync(": heartbeat\n\n", cancellation);
                    await response.Body.FlushAsync(cancellation);
                    continue;
                }

                var (name, data) = change switch
                {
                    AnomalyArrived a => ("anomaly", (object)View(a.Item)),
                    ReviewArrived r => ("review", View(r.Item)),
                    ModelEventArrived m => ("model_event", View(m.Event)),
                    MapArrived m => ("map", FindMapView(m.FrameId)),
                    _ => ("unknown", new object()),
                };
                await SendAsync(response, name, data, cancellation);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException or IOException)
        {
            // the page went away
        }
    }

    private static async Task SendAsync(HttpResponse response, string name, object data, CancellationToken cancellation)
    {
        await response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data, Json)}\n\n", cancellation);
        await response.Body.FlushAsync(cancellation);
    }

    private async Task<IResult> FrameAsync(int partition, long offset, string? frame_id, HttpContext context)
    {
        if (string.IsNullOrWhiteSpace(frame_id)) return Results.Json(new { error = "give the frame id: ?frame_id=…" }, statusCode: StatusCodes.Status400BadRequest);
        var (image, problem) = await images.ReadAsync(partition, offset, frame_id, context.RequestAborted);
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        return problem switch
        {
            FrameImageProblem.None => Results.Bytes(image!.Bytes, image.ContentType),
            FrameImageProblem.OtherFrame => Results.Json(new { error = $"the frames topic holds another frame at {partition}/{offset}, not {frame_id}" }, statusCode: StatusCodes.Status409Conflict),
            FrameImageProblem.Gone => Results.Json(new { error = $"frame {frame_id} at {partition}/{offset} is no longer on the frames topic (past its retention)" }, statusCode: StatusCodes.Status404NotFound),
            _ => Results.Json(new { error = $"the frames topic did not answer for {partition}/{offset} in time" }, statusCode: StatusCodes.Status504GatewayTimeout),
        };
    }

    /// <summary>The body of <c>POST /console/labels</c>.</summary>
    private sealed record LabelRequest(string? FrameId, string? CameraId, string? Label);

    private async Task<IResult> LabelAsync(HttpContext context, CancellationToken cancellation)
    {
        LabelRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync<LabelRequest>(Json, cancellation);
        }
        catch (JsonException e)
        {
            return Results.Json(new { error = $"the body is not JSON {{frame_id, camera_id, label}}: {e.Message}" }, statusCode: StatusCodes.Status400BadRequest);
        }

        if (request is not { FrameId: { Length: > 0 } frameId })
            return Results.Json(new { error = "give frame_id, camera_id and label (good or defect)" }, statusCode: StatusCodes.Status400BadRequest);
        FrameLabel label;
        switch (request.Label)
        {
            case "good": label = FrameLabel.Good; break;
            case "defect": label = FrameLabel.Defect; break;
            default: return Results.Json(new { error = $"label '{request.Label}' is not good or defect" }, statusCode: StatusCodes.Status400BadRequest);
        }
        var held = feed.Find(frameId)?.Result;
        var camera = held?.CameraId ?? request.CameraId;
        if (string.IsNullOrWhiteSpace(camera)) return Results.Json(new { error = $"frame {frameId} is not one the console holds; give its camera_id" }, statusCode: StatusCodes.Status400BadRequest);

        var who = context.User.FindFirst(AccessTokens.SubjectClaim)?.Value ?? "?";
        var delivered = await labels.PublishAsync(camera, frameId, label, held?.Product, cancellation);
        log.LogInformation("Console: {Subject} labelled frame {FrameId} of {Camera} {Label} (labels topic {Partition}/{Offset})", who, frameId, camera, request.Label, delivered.Partition, delivered.Offset);
        return Results.Json(new { frame_id = frameId, camera_id = camera, label = request.Label, partition = delivered.Partition, offset = delivered.Offset });
    }

    private async Task<IResult> HealthAsync(CancellationToken cancellation)
    {
        var snapshot = feed.Snapshot();
        var lag = await health.FramesLagAsync(cancellation);
        return Results.Json(new
        {
            members = health.Members(),
            cameras = snapshot.Cameras,
            results_read = snapshot.ResultsRead,
            unreadable_messages = snapshot.UnreadableMessages,
            frames_lag = lag,
            frames_lag_total = lag.Count > 0 && lag.All(p => p.Lag is not null) ? lag.Sum(p => p.Lag) : null,
            listening_pages = feed.Listeners,
        }, Json);
    }

    private object FindMapView(string frameId) => feed.FindMap(frameId) is { } map
        ? new { frame_id = frameId, peak = map.Peak, region_level = map.RegionLevel }
        : new { frame_id = frameId, peak = 0.0, region_level = 0.0 };

    private object View(ConsoleSnapshot snapshot) => new
    {
        anomalies = snapshot.Anomalies.Select(View),
        review = snapshot.Review.Select(View),
        model_events = snapshot.ModelEvents.Select(View),
        nodes = snapshot.Nodes,
        versions_seen = snapshot.VersionsSeen,
        cameras = snapshot.Cameras,
    };

    private object View(ConsoleItem item) => new
    {
        frame_id = item.Result.FrameId,
        camera_id = item.Result.CameraId,
        product = item.Result.Product,
        score = item.Result.Score,
        threshold = item.Result.Threshold,
        verdict = item.Result.Verdict,
        model_version = item.Result.ModelVersion,
        captured_at = item.Result.CapturedAt,
        source_partition = item.Result.SourcePartition,
        source_offset = item.Result.SourceOffset,
        regions = item.Result.Regions,
        has_map = feed.FindMap(item.Result.FrameId) is not null,
        seen_at = item.SeenAt,
    };

    private static object View(ModelEvent e) => new
    {
        kind = e.Kind,
        product = e.Product,
        version = e.Version,
        previous_version = e.PreviousVersion,
        detail = e.Detail,
        node = e.Node,
        at = e.At,
    };
}
