using Akka.Actor;
using Akka.Cluster;
using Prometheus;

namespace Pipeline.Host.Hosting;

/// <summary>
/// What <c>/metrics</c> serves, in one registry per node: process and .NET runtime figures, cluster membership
/// as this node sees it, and every System.Diagnostics.Metrics instrument of a meter whose name starts with
/// <see cref="MeterPrefix"/> (meter <c>Pipeline.Scoring</c>, counter <c>frames</c> → <c>pipeline_scoring_frames</c>).
/// </summary>
public sealed class PipelineMetrics : IDisposable
{
    /// <summary>Meters whose names start with this are exported; name product meters <c>Pipeline.&lt;Area&gt;</c>.</summary>
    public const string MeterPrefix = "Pipeline.";

    private readonly IDisposable meterAdapter;

    public PipelineMetrics(ActorSystem system)
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);

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
