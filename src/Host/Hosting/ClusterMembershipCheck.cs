using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The readiness condition every node has: it is a member of the cluster with status Up, asked at every probe. Unlike
/// Akka.Cluster.Hosting's <c>WithAkkaClusterReadinessCheck</c>, which passes for good once the node has been Up or
/// WeaklyUp, a node that is Leaving, Exiting or Down is not ready any more, and the reason says what to look at.
/// </summary>
internal sealed class ClusterMembershipCheck : IAkkaHealthCheck
{
    public const string Name = "cluster-member-up";

    public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var cluster = Akka.Cluster.Cluster.Get(context.ActorSystem);
        var self = cluster.SelfMember;
        if (self.Status == MemberStatus.Up) return Task.FromResult(HealthCheckResult.Healthy($"this node ({cluster.SelfAddress}) is Up"));
        var joined = cluster.State.Members.Any(member => member.UniqueAddress.Equals(cluster.SelfUniqueAddress));
        return Task.FromResult(HealthCheckResult.Unhealthy(joined
            ? $"this node ({cluster.SelfAddress}) is {self.Status} in the cluster, not Up"
            : $"this node ({cluster.SelfAddress}) has not joined the cluster yet; are its seed nodes running and reachable?"));
    }
}
