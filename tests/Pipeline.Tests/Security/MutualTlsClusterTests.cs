using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Support;
using Xunit;

namespace Pipeline.Tests.Security;

/// <summary>
/// Mutual TLS on the cluster's remoting, with real nodes on 127.0.0.1: two nodes whose certificates come from the
/// cluster's CA form a cluster; a stranger (no TLS at all, or a certificate from another CA) tries to join, is refused,
/// gives up (<c>shutdown-after-unsuccessful-join-seed-nodes</c>) and never appears in the cluster's member events.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MutualTlsClusterTests(MutualTlsClusterTests.TlsCluster cluster) : IClassFixture<MutualTlsClusterTests.TlsCluster>
{
    private const string SystemName = "inspection-tls";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Two nodes with certificates from one CA, and every member either of them has ever seen.</summary>
    public sealed class TlsCluster : IAsyncLifetime
    {
        public TempFolder Folder { get; } = new();
        public TestCertificateAuthority Authority { get; } = TestCertificateAuthority.Create("inspection cluster CA");
        public RecordingLoggerProvider Logs { get; } = new();
        public ConcurrentQueue<Member> Seen { get; } = new();
        public int SeedPort { get; } = TestNodes.FreePort();
        public int MemberPort { get; } = TestNodes.FreePort();
        public IHost Seed { get; private set; } = null!;
        public IHost Member { get; private set; } = null!;

        public IHost[] Nodes => [Seed, Member];

        public async Task InitializeAsync()
        {
            Seed = Node("seed", SeedPort);
            Member = Node("member", MemberPort);
            await Task.WhenAll(Nodes.Select(node => node.StartAsync()));
            await TestNodes.WaitUntilAsync(
                () => Nodes.All(node => UpMembers(node).Count == 2),
                Patience,
                () => string.Join("; ", Nodes.Select(node => $"{node.ActorSystem()} sees {string.Join(", ", UpMembers(node))}")) + "\n" + Logs.Text);
            foreach (var node in Nodes) node.ActorSystem().ActorOf(Props.Create(() => new MemberRecorder(Seen)));
        }

        private IHost Node(string name, int port)
        {
            var files = NodeCertificateFiles.Write(Path.Combine(Folder.Path, name), Authority.Issue($"{name}.inspection"), Authority);
            var builder = TestNodes.Builder(SystemName, port, [], [SeedPort], settings: files.Settings());
            builder.Logging.AddProvider(Logs);
            return builder.Build();
        }

        public async Task DisposeAsync()
        {
            await TestNodes.StopAllAsync(Seed, Member);
            Authority.Dispose();
            Folder.Dispose();
        }
    }

    /// <summary>Records every member event of the node it runs on, from the state it starts with onwards.</summary>
    private sealed class MemberRecorder : ReceiveActor
    {
        public MemberRecorder(ConcurrentQueue<Member> seen) => Receive<ClusterEvent.IMemberEvent>(change => seen.Enqueue(change.Member));

        protected override void PreStart() =>
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
    }

    private static IReadOnlyList<Member> UpMembers(IHost node) =>
        Akka.Cluster.Cluster.Get(node.ActorSystem()).State.Members.Where(member => member.Status == MemberStatus.Up).ToList();

    [Fact]
    public void Two_nodes_with_certificates_from_the_cluster_CA_form_a_cluster_over_TLS()
    {
        foreach (var node in cluster.Nodes)
        {
            var members = UpMembers(node);
            Assert.Equal(new[] { cluster.SeedPort, cluster.MemberPort }.Order(), members.Select(member => member.Address.Port!.Value).Order());
            Assert.All(members, member => Assert.Equal("akka.ssl.tcp", member.Address.Protocol));
        }
    }

    [Fact]
    public async Task A_node_without_TLS_is_refused_and_never_becomes_a_member()
    {
        // Today's default node, with no certificate: it speaks plain TCP to the seed's TLS port.
        var port = await StrangerTriesToJoinAsync(new Dictionary<string, string?>());

        AssertNeverAMember(port);
    }

    [Fact]
    public async Task A_node_with_a_certificate_from_another_CA_is_refused_and_never_becomes_a_member()
    {
        using var other = TestCertificateAuthority.Create("someone else's CA");
        using var folder = new TempFolder();
        var files = NodeCertificateFiles.Write(folder.Path, other.Issue("stranger.elsewhere"), other);
        // The stranger trusts the cluster's CA too (its certificate is public), so that it is the cluster that refuses it.
        File.AppendAllText(files.CaCertificatePath, "\n" + cluster.Authority.Certificate.ExportCertificatePem() + "\n");

        var port = await StrangerTriesToJoinAsync(files.Settings());

        Assert.Contains(cluster.Logs.Entries, entry => entry.Level == LogLevel.Warning
            && entry.Message.Contains("Refused the remoting connection", StringComparison.Ordinal)
            && entry.Message.Contains("CN=stranger.elsewhere", StringComparison.Ordinal)
            && entry.Message.Contains("is not from the cluster's CA", StringComparison.Ordinal));
        AssertNeverAMember(port);
    }

    /// <summary>
    /// Starts a node that tries to join through the cluster's seed for 3 s and then stops itself, and waits until it
    /// has stopped (it never stops that way if it joined). Returns its port.
    /// </summary>
    private async Task<int> StrangerTriesToJoinAsync(Dictionary<string, string?> settings)
    {
        var port = TestNodes.FreePort();
        var stranger = TestNodes.Builder(SystemName, port, [], [cluster.SeedPort], settings: settings)
            .ConfigureAkka((akka, _) => akka.AddHocon("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = 3s", HoconAddMode.Prepend))
            .Build();
        try
        {
            await stranger.StartAsync();
            var system = stranger.ActorSystem();
            var stopped = await Task.WhenAny(system.WhenTerminated, Task.Delay(Patience));
            Assert.True(stopped == system.WhenTerminated,
                $"the stranger on port {port} did not give up joining within {Patience.TotalSeconds} s; it sees {string.Join(", ", Akka.Cluster.Cluster.Get(system).State.Members)}");
        }
        finally
        {
            await TestNodes.StopAllAsync(stranger);
        }
        return port;
    }

    private void AssertNeverAMember(int port)
    {
        Assert.DoesNotContain(cluster.Seen, member => member.Address.Port == port);
        foreach (var node in cluster.Nodes)
            Assert.Equal(new[] { cluster.SeedPort, cluster.MemberPort }.Order(), Akka.Cluster.Cluster.Get(node.ActorSystem()).State.Members.Select(member => member.Address.Port!.Value).Order());
    }
}
