using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Akka.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Shared.Cluster;
using Pipeline.Shared.Configuration;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class ThreeNodeClusterTests(ThreeNodeCluster cluster, ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output), IClassFixture<ThreeNodeCluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public void Every_node_sees_all_three_Up_with_one_role_each()
    {
        var expected = new Dictionary<Address, string>
        {
            [Akka.Cluster.Cluster.Get(cluster.Ingest.ActorSystem()).SelfAddress] = ClusterRoles.Ingest,
            [Akka.Cluster.Cluster.Get(cluster.Scoring.ActorSystem()).SelfAddress] = ClusterRoles.Scoring,
            [Akka.Cluster.Cluster.Get(cluster.Training.ActorSystem()).SelfAddress] = ClusterRoles.Training,
        };
        foreach (var node in cluster.Nodes)
        {
            var members = Akka.Cluster.Cluster.Get(node.ActorSystem()).State.Members;
            Assert.Equal(3, members.Count);
            foreach (var member in members)
            {
                Assert.Equal(MemberStatus.Up, member.Status);
                Assert.Equal([expected[member.Address]], member.Roles.Where(role => ClusterRoles.All.Contains(role)));
            }
        }
    }

    [Fact]
    public async Task A_frame_sent_on_the_ingest_node_is_scored_by_the_actor_on_the_scoring_node()
    {
        var ingest = cluster.Ingest.ActorSystem();
        var scoring = cluster.Ingest.Services.GetRequiredService<ActorRegistry>().Get<ScoringEndpoint>();
        var probe = CreateTestProbe(ingest);

        // The router learns its routees from cluster membership, shortly after the scoring node is Up.
        await AwaitAssertAsync(async () =>
        {
            scoring.Tell(GetRoutees.Instance, probe.Ref);
            Assert.NotEmpty((await probe.ExpectMsgAsync<Routees>()).Members);
        }, Patience);

        scoring.Tell(new ScoreFrame("camera-7/frame-1"), probe.Ref);

        var scored = await probe.ExpectMsgAsync<FrameScored>(Patience);
        Assert.Equal("camera-7/frame-1", scored.FrameId);
        Assert.Equal(Akka.Cluster.Cluster.Get(cluster.Scoring.ActorSystem()).SelfAddress.ToString(), scored.ScoredBy);
    }

    [Fact]
    public async Task A_node_that_leaves_gracefully_is_removed_from_the_others_view()
    {
        var leaving = TestNodes.Builder(ThreeNodeCluster.SystemName, TestNodes.FreePort(), [ClusterRoles.Training], [cluster.SeedPort]).Build();
        try
        {
            await leaving.StartAsync();
            var leaver = Akka.Cluster.Cluster.Get(leaving.ActorSystem()).SelfAddress;
            var ingestView = Akka.Cluster.Cluster.Get(cluster.Ingest.ActorSystem());
            var watcher = CreateTestProbe(cluster.Ingest.ActorSystem());
            ingestView.Subscribe(watcher.Ref, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved));
            await watcher.FishForMessageAsync<ClusterEvent.MemberUp>(up => up.Member.Address.Equals(leaver), Patience);

            await leaving.StopAsync(); // coordinated shutdown: Leaving, Exiting, then Removed

            var removed = await watcher.FishForMessageAsync<ClusterEvent.MemberRemoved>(gone => gone.Member.Address.Equals(leaver), Patience);
            Assert.Equal(MemberStatus.Exiting, removed.PreviousStatus); // it left; nobody had to down it
            ingestView.Unsubscribe(watcher.Ref);
            await AwaitAssertAsync(() =>
            {
                foreach (var node in cluster.Nodes)
                    Assert.DoesNotContain(Akka.Cluster.Cluster.Get(node.ActorSystem()).State.Members, member => member.Address.Equals(leaver));
            }, Patience);
        }
        finally
        {
            await TestNodes.StopAllAsync(leaving);
        }
    }
}
