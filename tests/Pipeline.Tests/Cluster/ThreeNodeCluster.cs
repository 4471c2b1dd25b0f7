using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Hosting;
using Pipeline.Shared.Cluster;
using Pipeline.Shared.Configuration;
using Xunit;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// Three nodes in this process, one per role, on free ports of 127.0.0.1: the ingest node is the seed the other
/// two join. The scoring node runs <see cref="ScoringStandIn"/> as its scoring entry actor.
/// </summary>
public sealed class ThreeNodeCluster : IAsyncLifetime
{
    public const string SystemName = "inspection-three";

    public IHost Ingest { get; private set; } = null!;
    public IHost Scoring { get; private set; } = null!;
    public IHost Training { get; private set; } = null!;
    public int SeedPort { get; } = TestNodes.FreePort();

    public IEnumerable<IHost> Nodes => [Ingest, Scoring, Training];

    public async Task InitializeAsync()
    {
        Ingest = TestNodes.Builder(SystemName, SeedPort, [ClusterRoles.Ingest], [SeedPort]).Build();
        Scoring = TestNodes.Builder(SystemName, TestNodes.FreePort(), [ClusterRoles.Scoring], [SeedPort])
            .WithRoleActors(ClusterRoles.Scoring, (system, _, _) => system.ActorOf(ScoringStandIn.Props(), ScoringEndpoint.ActorName))
            .Build();
        Training = TestNodes.Builder(SystemName, TestNodes.FreePort(), [ClusterRoles.Training], [SeedPort]).Build();
        await Task.WhenAll(Nodes.Select(node => node.StartAsync()));

        await TestNodes.WaitUntilAsync(
            () => Nodes.All(node => Akka.Cluster.Cluster.Get(node.ActorSystem()).State.Members.Count(member => member.Status == MemberStatus.Up) == 3),
            TimeSpan.FromSeconds(30),
            () => string.Join("; ", Nodes.Select(node => $"{node.ActorSystem()} sees {string.Join(", ", Akka.Cluster.Cluster.Get(node.ActorSystem()).State.Members)}")));
    }

    public Task DisposeAsync() => TestNodes.StopAllAsync(Ingest, Scoring, Training);
}
