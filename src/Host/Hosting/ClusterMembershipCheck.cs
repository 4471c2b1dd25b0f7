using Akka.Actor;
using Akka.Cluster;
using Pipeline.Shared.Health;

namespace Pipeline.Host.Hosting;

/// <summary>The readiness condition every node has: it is a member of the cluster with status Up.</summary>
internal sealed class ClusterMembershipCheck(ActorSystem system) : IReadinessCheck
{
    public string Name => "cluster-member-up";

    public ValueTask<ReadinessCheckResult> CheckAsync(CancellationToken cancellation)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var self = cluster.SelfMember;
        if (self.Status == MemberStatus.Up) return ValueTask.FromResult(ReadinessCheckResult.Ready);
        var joined = cluster.State.Members.Any(member => member.UniqueAddress.Equals(cluster.SelfUniqueAddress));
        return ValueTask.FromResult(ReadinessCheckResult.NotReady(joined
            ? $"this node ({cluster.SelfAddress}) is {self.Status} in the cluster, not Up"
            : $"this node ({cluster.SelfAddress}) has not joined the cluster yet; are its seed nodes running and reachable?"));
    }
}
