namespace Pipeline.Shared.Cluster;

/// <summary>
/// How ingest finds scoring across the cluster. Every scoring node runs its entry actor under the name
/// <see cref="ActorName"/> (path <see cref="Path"/>). Every ingest node has a cluster-aware round-robin group
/// router over that path on the scoring role, kept in the Akka.Hosting <c>ActorRegistry</c> under this type:
/// <code>var scoring = registry.Get&lt;ScoringEndpoint&gt;(); scoring.Tell(frame, Self);</code>
/// The router follows membership: scoring nodes that join become routees, ones that leave or become
/// unreachable stop being routed to.
/// </summary>
public sealed class ScoringEndpoint
{
    /// <summary>Name of the scoring entry actor under <c>/user</c> on each scoring node.</summary>
    public const string ActorName = "scoring";

    /// <summary>The path the router resolves on each node with the scoring role.</summary>
    public const string Path = "/user/" + ActorName;

    private ScoringEndpoint()
    {
    }
}
