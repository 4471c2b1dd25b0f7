using Akka.Actor;
using Akka.Cluster.Routing;
using Akka.Hosting;
using Akka.Routing;
using Pipeline.Shared.Cluster;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Scoring;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The way from ingest to scoring: a cluster-aware group router over <see cref="ScoringEndpoint.Path"/> on every
/// member with the scoring role, this node included when it has that role too.
/// </summary>
/// <remarks>
/// A group router (not a pool) because each scoring node owns its entry actor and the device behind it; the
/// router only learns which nodes have one from cluster membership, so scoring nodes can come and go. Frames are
/// routed by consistent hashing on their camera id: one camera's frames go to one scoring node (its order is kept
/// there, and its batches stay warm), and when nodes come or go only the cameras of the changed share move.
/// Chosen over DistributedPubSub (an extra gossip protocol and package for what membership already tells) and
/// ClusterClient (meant for callers outside the cluster). An ingest node that scores too sends to its own scorers
/// instead (<see cref="PipelineRoles"/>), so frames do not cross the network at all.
/// </remarks>
public static class ScoringRouting
{
    /// <summary>Name of the router actor under <c>/user</c> on ingest nodes.</summary>
    public const string RouterName = "scoring-router";

    public static Props RouterProps() =>
        Props.Empty.WithRouter(new ClusterRouterGroup(
            new ConsistentHashingGroup([ScoringEndpoint.Path]).WithHashMapping(HashKey),
            new ClusterRouterGroupSettings(int.MaxValue, [ScoringEndpoint.Path], allowLocalRoutees: true, useRole: ClusterRoles.Scoring)));

    /// <summary>Frames by camera; other requests (status) by their type, so they reach some scoring node.</summary>
    internal static object HashKey(object message) => message switch
    {
        ScoreFrame frame => frame.CameraId,
        _ => message.GetType().Name,
    };

    internal static void Start(ActorSystem system, IActorRegistry registry) =>
        registry.Register<ScoringEndpoint>(system.ActorOf(RouterProps(), RouterName));
}
