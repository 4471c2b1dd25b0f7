using Akka.Actor;
using Akka.Cluster.Routing;
using Akka.DependencyInjection;
using Akka.Hosting;
using Akka.Routing;
using Pipeline.Shared.Cluster;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The way from ingest to scoring: a cluster-aware group router over <see cref="ScoringEndpoint.Path"/> on every
/// member with the scoring role, this node included when it has that role too.
/// </summary>
/// <remarks>
/// A group router (not a pool) because each scoring node owns its entry actor and the device behind it; the
/// router only learns which nodes have one from cluster membership, so scoring nodes can come and go. Round
/// robin spreads frames evenly over scoring nodes. Chosen over DistributedPubSub (an extra gossip protocol and
/// package for what membership already tells) and ClusterClient (meant for callers outside the cluster).
/// </remarks>
public static class ScoringRouting
{
    /// <summary>Name of the router actor under <c>/user</c> on ingest nodes.</summary>
    public const string RouterName = "scoring-router";

    public static Props RouterProps() =>
        Props.Empty.WithRouter(new ClusterRouterGroup(
            new RoundRobinGroup(ScoringEndpoint.Path),
            new ClusterRouterGroupSettings(int.MaxValue, [ScoringEndpoint.Path], allowLocalRoutees: true, useRole: ClusterRoles.Scoring)));

    internal static void Start(ActorSystem system, IActorRegistry registry, IDependencyResolver resolver) =>
        registry.Register<ScoringEndpoint>(system.ActorOf(RouterProps(), RouterName));
}
