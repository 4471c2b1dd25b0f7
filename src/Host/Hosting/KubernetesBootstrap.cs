using System.Collections.Immutable;
using System.Net;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using ClusterOptions = Pipeline.Shared.Configuration.ClusterOptions;

namespace Pipeline.Host.Hosting;

/// <summary>
/// Forms the cluster on Kubernetes (<c>Pipeline:Cluster:Discovery = kubernetes</c>): serves this node's contact point,
/// <c>GET /bootstrap/seed-nodes</c> on <see cref="ClusterOptions.ManagementPort"/>, and starts Akka.Management's
/// cluster bootstrap, which finds the other pods through the Kubernetes API and probes theirs.
/// </summary>
/// <remarks>
/// The contact point is served here, with ASP.NET Core, rather than by Akka.Management's own HTTP server: that server
/// (Akka.Http.Shim 1.5.73) is built against Ceen.Httpd 0.9.9 and fails to start with 0.9.10, the only version the
/// package registry serves (<c>MissingMethodException</c> for <c>HttpServer.ListenAsync(IPEndPoint, …)</c>). The answer is
/// the bootstrap protocol's own type (<see cref="HttpBootstrapJsonProtocol.SeedNodes"/>) written with the serializer
/// its probes read it with, so nodes agree with any Akka.Management contact point of the same protocol.
/// </remarks>
internal sealed class KubernetesBootstrap(IServiceProvider services, IOptions<ClusterOptions> options, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    /// <summary>Members a contact point reports at most, as Akka.Management's own route does.</summary>
    private const int MaxSeedNodesExposed = 5;

    private WebApplication? app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cluster = options.Value;
        var system = services.GetRequiredService<ActorSystem>();
        var log = loggerFactory.CreateLogger<KubernetesBootstrap>();

        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        web.Configuration.Sources.Clear();
        web.Logging.ClearProviders();
        web.Services.AddSingleton(loggerFactory);
        web.Services.AddSingleton<IHostLifetime, OwnedByNodeLifetime>();
        web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(BindAddress(cluster.Hostname), cluster.ManagementPort));
        app = web.Build();
        app.MapGet("/bootstrap/seed-nodes", () => Results.Content(JsonConvert.SerializeObject(SeedNodes(Akka.Cluster.Cluster.Get(system))), "application/json"));
        await app.StartAsync(cancellationToken);

        // Bootstrap waits for its own contact point (the address the other pods probe, as discovery lists this pod),
        // which Akka.Management would otherwise learn from its HTTP server.
        var self = new UriBuilder(Uri.UriSchemeHttp, cluster.AdvertisedHostname, cluster.ManagementPort).Uri;
        var bootstrap = ClusterBootstrap.Get(system);
        bootstrap.Routes(ManagementRouteProviderSettings.Create(self, true));
        log.LogInformation("Cluster bootstrap contact point {ContactPoint}; looking for the pods labelled {Selector}", self, cluster.KubernetesPodLabelSelector);
        _ = bootstrap.Start().ContinueWith(
            start => log.LogError(start.Exception, "Cluster bootstrap did not start; this node will not join a cluster"),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null) await app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
    }

    /// <summary>
    /// What this node tells a probing pod: its own address, and the reachable members that are joining or up (none
    /// while this node is on its way out), which the pod then joins through.
    /// </summary>
    private static HttpBootstrapJsonProtocol.SeedNodes SeedNodes(Akka.Cluster.Cluster cluster)
    {
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Removed)
            return new HttpBootstrapJsonProtocol.SeedNodes(self.Address, ImmutableList<HttpBootstrapJsonProtocol.ClusterMember>.Empty);

        var state = cluster.State;
        var members = state.Members
            .Where(member => !state.Unreachable.Contains(member) && member.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(MaxSeedNodesExposed)
            .Select(member => new HttpBootstrapJsonProtocol.ClusterMember(member.Address, member.UniqueAddress.Uid, member.Status, member.Roles))
            .ToImmutableList();
        return new HttpBootstrapJsonProtocol.SeedNodes(self.Address, members);
    }

    private static IPAddress BindAddress(string hostname) =>
        IPAddress.TryParse(hostname, out var address) ? address : Dns.GetHostAddresses(hostname).First();
}
