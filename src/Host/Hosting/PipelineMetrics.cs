using Akka.Actor;
using Akka.Cluster;
using Pipeline.Host.Security;
using Prometheus;

namespace Pipeline.Host.Hosting;

/// <summary>
/// What <c>/metrics</c> serves, in one registry per node: process and .NET runtime figures, cluster membership
/// as this node sees it, the expiry of its remoting certificate (with TLS), and every System.Diagnostics.Metrics instrument of a meter whose name starts with
/// <see cref="MeterPrefix"/> (meter <c>Pipeline.Scoring</c>, counter <c>frames</c> → <c>pipeline_scoring_frames</c>).
/// </summary>
public sealed class PipelineMetrics : IDisposable
{
    /// <summary>Meters whose names start with this are exported; name product meters <c>Pipeline.&lt;Area&gt;</c>.</summary>
    public const string MeterPrefix = "Pipeline.";

    private readonly IDisposable meterAdapter;

    /// <param name="certificates">This node's remoting certificate, when remoting runs over TLS.</param>
    public PipelineMetrics(ActorSystem system, ClusterCertificates? certificates = null)
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);

        if (certificates is not null)
        {
            // Read once at start: after cert-manager renews the certificate, the node serves the old one until it restarts.
            factory.CreateGauge("pipeline_cluster_tls_certificate_expiry_timestamp_seconds",
                    "When the remoting certificate this node presents expires (Unix time). It is read at start: restart the node after a renewal.")
                .Set(new DateTimeOffset(certificates.Node.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        }

        var cluster = Akka.Cluster.Cluster.Get(system);
        var membersUp = factory.CreateGauge("pipeline_cluster_members_up", "Cluster members with status Up, as this node sees them.");
        var unreachable = factory.CreateGauge("pipeline_cluster_members_unreachable", "Cluster members this node's failure detector considers unreachable.");
        Registry.AddBeforeCollectCallback(() =>
        {
            var state = cluster.State;
            membersUp.Set(state.Members.Count(member => member.Status == MemberStatus.Up));
            unreachable.Set(state.Unreachable.Count);
        });

        meterAdapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = factory,
            InstrumentFilterPredicate = instrument => instrument.Meter.Name.StartsWith(MeterPrefix, StringComparison.Ordinal),
        });
    }

    /// <summary>This node's registry (not prometheus-net's process-wide default, so several nodes can share a process).</summary>
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public void Dispose() => meterAdapter.Dispose();
}
