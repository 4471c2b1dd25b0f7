using System.Net;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Prometheus;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The node's operations endpoints on <see cref="HttpOptions.Port"/> (none when it is 0):
/// <list type="bullet">
/// <item><c>/healthz</c> (liveness): 200 while every check tagged <see cref="NodeHealth.Liveness"/> passes (the actor
/// system runs, and the roles' own), 503 otherwise (restart the process).</item>
/// <item><c>/readyz</c> (readiness): 200 when every check tagged <see cref="NodeHealth.Readiness"/> passes (this node is
/// Up in the cluster, and the roles' own), else 503.</item>
/// <item><c>/metrics</c>: Prometheus text format (<see cref="PipelineMetrics"/>).</item>
/// </list>
/// These three are open (<c>/metrics</c> needs a viewer token with <see cref="HttpAuthOptions.ProtectMetrics"/>); every
/// other endpoint needs a bearer token (<see cref="HttpAuthentication"/>). Both health endpoints are ASP.NET Core's
/// <c>MapHealthChecks</c> over the node's <see cref="HealthCheckService"/>; their JSON body lists the failing checks with
/// their reasons and the passing ones. A small ASP.NET Core application of its own, so that turning HTTP off leaves no
/// web server in the node.
/// </summary>
internal sealed class HttpEndpoints(IServiceProvider services, IOptions<HttpOptions> options, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private WebApplication? app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var http = options.Value;
        var log = loggerFactory.CreateLogger<HttpEndpoints>();
        if (http.Port == 0)
        {
            log.LogInformation("HTTP endpoints are off ({Key}:Port is 0)", HttpOptions.Section);
            return;
        }

        // Resolved now, after the actor system has started (Akka's hosted service runs first).
        var system = services.GetRequiredService<ActorSystem>();
        var health = services.GetRequiredService<HealthCheckService>();
        var metrics = services.GetRequiredService<PipelineMetrics>();
        var auth = services.GetRequiredService<IOptions<HttpAuthOptions>>().Value;
        var keys = services.GetRequiredService<SigningKeyRing>();

        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        web.Configuration.Sources.Clear(); // only HttpOptions decide where to listen, not ASPNETCORE_URLS and friends
        web.Logging.ClearProviders();
        web.Services.AddSingleton(loggerFactory);
        web.Services.AddSingleton(health); // the node's checks, registered with its actor system
        web.Services.AddSingleton<IHostLifetime, OwnedByNodeLifetime>(); // the node's host handles Ctrl+C and SIGTERM, not this one
        web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(http.BindAddress), http.Port));
        web.Services.AddPipelineAuthentication(auth, keys);
        app = web.Build();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealthChecks("/healthz", HealthEndpoint(NodeHealth.Liveness, system.Name, "alive", "not alive")).AllowAnonymous();
        app.MapHealthChecks("/readyz", HealthEndpoint(NodeHealth.Readiness, system.Name, "ready", "not ready")).AllowAnonymous();
        var metricsEndpoint = app.MapMetrics(settings => settings.Registry = metrics.Registry, "/metrics");
        if (auth.ProtectMetrics) metricsEndpoint.RequireAuthorization(HttpAuthentication.Viewer);
        else metricsEndpoint.AllowAnonymous();
        var roleRoutes = services.GetServices<IHttpRoutes>().ToArray();
        foreach (var routes in roleRoutes) routes.Map(app);

        await app.StartAsync(cancellationToken);
        var extra = string.Concat(roleRoutes.SelectMany(routes => routes.Paths).Select(path => $", {path}"));
        log.LogInformation("HTTP endpoints /healthz, /readyz, /metrics{Routes} on {Address}:{Port}", extra, http.BindAddress, http.Port);
        if (keys.IsConfigured && keys.Keys.Count == 0)
            log.LogWarning("HTTP endpoints{Routes}{Metrics} refuse every request: {Path} ({Key}:SigningKeysPath) holds no signing key",
                extra.TrimStart(','), auth.ProtectMetrics ? ", /metrics" : "", auth.SigningKeysPath, HttpAuthOptions.Section);
        else if (keys.IsConfigured)
            log.LogInformation("HTTP endpoints other than /healthz, /readyz{Metrics} need a bearer token signed with one of the keys in {Path} ({Keys})",
                auth.ProtectMetrics ? "" : ", /metrics", auth.SigningKeysPath, string.Join(", ", keys.Keys.Select(key => key.Id)));
        else if (roleRoutes.Length > 0 || auth.ProtectMetrics)
            log.LogWarning("HTTP endpoints{Routes}{Metrics} refuse every request: no token signing keys are configured ({Key}:SigningKeysPath)",
                extra.TrimStart(','), auth.ProtectMetrics ? ", /metrics" : "", HttpAuthOptions.Section);
    }

    /// <summary>Runs the checks tagged <paramref name="tag"/>; 503 unless all pass; the body names the failing ones with their reasons.</summary>
    private static HealthCheckOptions HealthEndpoint(string tag, string node, string healthy, string unhealthy) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        ResponseWriter = (context, report) => context.Response.WriteAsJsonAsync(new
        {
            status = report.Status == HealthStatus.Healthy ? healthy : unhealthy,
            node,
            failing = NodeHealth.FailingEntries(report).Select(check => new { name = check.Name, reason = check.Reason }),
            passing = NodeHealth.PassingNames(report),
        }),
    };

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null) await app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
    }
}

/// <summary>Endpoints a role adds to the node's HTTP server (registered as a service on nodes with the role).</summary>
internal interface IHttpRoutes
{
    /// <summary>The paths it maps, for the log.</summary>
    IReadOnlyList<string> Paths { get; }

    void Map(WebApplication app);
}

/// <summary>Lifetime of the endpoints' web application: started and stopped by <see cref="HttpEndpoints"/>, deaf to signals.</summary>
internal sealed class OwnedByNodeLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
