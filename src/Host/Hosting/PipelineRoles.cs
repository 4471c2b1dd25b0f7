using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Pattern;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Ingest;
using Pipeline.Scoring;
using Pipeline.Shared;
using Pipeline.Shared.Cluster;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Scoring;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The product's role actors on a node: scoring (one <see cref="DeviceScoringActor"/> per device under a
/// <see cref="ScoringRouter"/> at <see cref="ScoringEndpoint.Path"/>, loading <see cref="ScoringOptions.ModelPath"/>)
/// and ingest (a <see cref="FrameIngestActor"/> under a back-off supervisor at <c>/user/ingest</c>), each with its
/// options validated at start and its readiness check.
/// </summary>
public static class PipelineRoles
{
    /// <summary>Name of the ingest supervisor under <c>/user</c>.</summary>
    public const string IngestName = "ingest";

    /// <summary>Adds the scoring and ingest roles' options, actors and readiness checks (each only on nodes with the role).</summary>
    public static PipelineHostBuilder WithPipelineRoles(this PipelineHostBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.WithRoleServices(ClusterRoles.Scoring, services =>
        {
            var options = ValidatedOptions.Load(configuration, ScoringOptions.SectionName, new ScoringOptionsValidator());
            ValidatedOptions.Register(services, options);
            services.AddSingleton(new InitialModel(options.ModelFile is { } file ? ModelArtifact.Load(file) : null));
            services.AddSingleton(provider => new ScoringMetrics(provider.GetService<IMeterFactory>()));
            services.AddSingleton<DeviceBackbones>();
        });
        builder.WithRoleServices(ClusterRoles.Ingest, services =>
        {
            ValidatedOptions.Register(services, ValidatedOptions.Load(configuration, IngestOptions.Section, new IngestOptionsValidator()));
            ValidatedOptions.Register(services, ValidatedOptions.Load(configuration, KafkaOptions.SectionName, new KafkaOptionsValidator(forConsumer: true)));
            services.AddSingleton(provider => new IngestMetrics(provider.GetService<IMeterFactory>()));
            services.AddSingleton<KafkaClientsClosing>();
            services.AddSingleton(provider => new ConsumerStallWatch(provider.GetService<TimeProvider>() ?? TimeProvider.System));
        });

        builder.WithRoleActors(ClusterRoles.Scoring, (system, registry, resolver) =>
        {
            var options = resolver.GetService<IOptions<ScoringOptions>>().Value;
            // Continuous learning: features of labelled frames go to the training singleton, and the node follows the
            // registry's current version (fetched from the training node, swapped in between two batches).
            var training = registry.Get<TrainingRole.TrainingSingleton>();
            var mediator = DistributedPubSub.Get(system).Mediator;
            var samples = system.ActorOf(SampleCollector.Props(training, mediator, options.RecentFeatureFrames, options.AutoAcceptBelowThresholdFraction), "samples");
            var scoring = system.ActorOf(
                ScoringActors.PropsFor(options, resolver.GetService<DeviceBackbones>(), resolver.GetService<ScoringMetrics>(), resolver.GetService<InitialModel>().Artifact, samples, followsTraining: true),
                ScoringEndpoint.ActorName);
            registry.Register<LocalScoring>(scoring);
            var node = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
            registry.Register<ModelFollowerEntry>(system.ActorOf(ModelFollower.Props(training, scoring, mediator, node, TimeSpan.FromSeconds(options.ModelCheckSeconds)), "model-follower"));
        });
        builder.WithRoleActors(ClusterRoles.Ingest, (system, registry, resolver) =>
        {
            // Scoring on this node when it has the role: frames read here are scored here and never cross the network.
            var scoring = registry.TryGet<LocalScoring>(out var local) ? local : registry.Get<ScoringEndpoint>();
            var ingest = FrameIngestActor.Props(
                resolver.GetService<IOptions<IngestOptions>>().Value,
                resolver.GetService<IOptions<KafkaOptions>>().Value,
                scoring,
                resolver.GetService<IngestMetrics>(),
                resolver.GetService<ILoggerFactory>(),
                resolver.GetService<KafkaClientsClosing>(),
                stallWatch: resolver.GetService<ConsumerStallWatch>(),
                products: resolver.GetService<Pipeline.Shared.Products.ProductCatalog>());
            // A consumer that fails (a fatal Kafka error) is started again after 1 s, 2 s, … up to 30 s.
            var supervised = BackoffSupervisor.Props(Backoff.OnFailure(ingest, "frames", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1));
            var entry = system.ActorOf(supervised, IngestName);
            registry.Register<IngestEntry>(entry);

            // On shutdown, first stop reading frames and close the Kafka clients (committing what is done), then leave
            // the cluster: frames still in flight are read again by the partitions' next owner.
            var closing = resolver.GetService<KafkaClientsClosing>();
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceStop, "stop-ingest", async () =>
            {
                try
                {
                    await entry.GracefulStop(TimeSpan.FromSeconds(5));
                }
                catch (TaskCanceledException)
                {
                    // Not stopped in time: the actor system's termination stops it.
                }

                await closing.WhenClosedAsync(TimeSpan.FromSeconds(15));
                return Akka.Done.Instance;
            });
        });

        // The stop-ingest task waits up to 5 s for the actor and 15 s for its Kafka clients (leaving the group); Akka's
        // default of 5 s for the phase would cut that short and let the process end before the consumer has left.
        builder.ConfigureAkka((akka, _) => akka.AddHocon("akka.coordinated-shutdown.phases.service-stop.timeout = 20 s", HoconAddMode.Prepend));

        builder.AddReadinessCheck(ClusterRoles.Scoring, "model-loaded", _ => new ScoringReadinessCheck());
        builder.AddReadinessCheck(ClusterRoles.Scoring, "model-current", _ => new CurrentModelReadinessCheck());
        builder.AddReadinessCheck(ClusterRoles.Ingest, "ingest", provider =>
            new IngestReadinessCheck(provider.GetRequiredService<ConsumerStallWatch>(), provider.GetRequiredService<IOptions<IngestOptions>>().Value));
        builder.AddLivenessCheck(ClusterRoles.Ingest, "ingest-consuming", provider =>
            new IngestLivenessCheck(provider.GetRequiredService<ConsumerStallWatch>(), provider.GetRequiredService<IOptions<IngestOptions>>().Value));
        return builder.WithTrainingRole();
    }

    /// <summary>The model a node's scorers load at start, if any.</summary>
    internal sealed record InitialModel(ModelArtifact? Artifact);

    /// <summary>Registry key of this node's own scoring router (only on nodes with the scoring role).</summary>
    public sealed class LocalScoring;

    /// <summary>Registry key of this node's <see cref="ModelFollower"/> (only on nodes with the scoring role).</summary>
    public sealed class ModelFollowerEntry;

    /// <summary>Registry key of this node's ingest supervisor (only on nodes with the ingest role).</summary>
    public sealed class IngestEntry;

    /// <summary>Ready when every scorer of this node has a model of some product loaded.</summary>
    private sealed class ScoringReadinessCheck : IAkkaHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken cancellation = default)
        {
            if (!context.ActorRegistry.TryGet<LocalScoring>(out var scoring)) return HealthCheckResult.Unhealthy("the scoring actors have not started yet");
            var status = await scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, cancellation);
            if (status.Ready)
                return HealthCheckResult.Healthy($"serving {string.Join(", ", status.Scorers.SelectMany(s => s.ServedModels).Select(m => $"{m.Product} {m.Version}").Distinct())}");
            return HealthCheckResult.Unhealthy(status.Scorers.Count == 0
                ? "this node has no working scorer (see its log)"
                : $"no model loaded on {string.Join(", ", status.Scorers.Where(s => s.ServedModels.Count == 0).Select(s => s.Device))}; set {ScoringOptions.SectionName}:ModelPath or import a model into the registry");
        }
    }

    /// <summary>
    /// Ready when this node serves every product's current version in the registry (or refused it for a reason, serving its old model), so
    /// that a node that joins or restarts does not take frames with an outdated model. With no training node Up in the
    /// cluster there is no registry to follow, and the check passes.
    /// </summary>
    private sealed class CurrentModelReadinessCheck : IAkkaHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken cancellation = default)
        {
            var trainingUp = Akka.Cluster.Cluster.Get(context.ActorSystem).State.Members.Any(member => member.Status == Akka.Cluster.MemberStatus.Up && member.HasRole(ClusterRoles.Training));
            if (!trainingUp) return HealthCheckResult.Healthy("no training node is Up: there is no registry to follow");
            if (!context.ActorRegistry.TryGet<ModelFollowerEntry>(out var follower)) return HealthCheckResult.Unhealthy("the model follower has not started yet");
            var status = await follower.Ask<ModelFollowerStatus>(GetModelFollowerStatus.Instance, cancellation);
            if (status.InStep)
                return HealthCheckResult.Healthy(status.Products.Count == 0 ? "the registry has no model yet"
                    : $"serving the current models ({string.Join(", ", status.Products.Select(p => $"{p.Product} {p.Serving ?? "configured"}"))})");
            return HealthCheckResult.Unhealthy(status.TrainingAnswered
                ? $"loading the current models of {string.Join(", ", status.Products.Where(p => !p.InStep).Select(p => $"{p.Product} ({p.Current?.Version}, serving {p.Serving ?? "the configured one"})"))}"
                : "the training node has not said which models are current yet");
        }
    }

    /// <summary>
    /// Ready when the frames consumer has joined its group, scoring has told the frame size (a model is serving), and
    /// the consumer is not stalled (frames waiting, room for them, none read) for
    /// <see cref="IngestOptions.NotReadyAfterStalledSeconds"/> or more.
    /// </summary>
    private sealed class IngestReadinessCheck(ConsumerStallWatch stallWatch, IngestOptions options) : IAkkaHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken cancellation = default)
        {
            if (!context.ActorRegistry.TryGet<IngestEntry>(out var ingest)) return HealthCheckResult.Unhealthy("the ingest actor has not started yet");
            var status = await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, cancellation);
            if (!status.KafkaConnected) return HealthCheckResult.Unhealthy("the frames consumer has not joined its group (are the Kafka brokers reachable?)");
            if (status.FrameSize is null) return HealthCheckResult.Unhealthy("no scoring node has told its frame size yet (no model loaded, or no scoring node)");
            var stall = stallWatch.Check();
            if (stall.MakesNotReady(options))
                return HealthCheckResult.Unhealthy($"{stall.Reason} (not ready after {options.NotReadyAfterStalledSeconds} s, {IngestOptions.Section}:NotReadyAfterStalledSeconds)");
            return HealthCheckResult.Healthy($"consuming; {status.ConsumerLag} frame(s) waiting, {status.FramesInFlight} in flight");
        }
    }

    /// <summary>
    /// Live unless the frames consumer has been stalled for <see cref="IngestOptions.NotLiveAfterStalledSeconds"/> or
    /// more with the brokers reachable: then a restart (a new consumer, a new group member) is the remedy. Reads the
    /// stall watch only, so that it answers at once whatever the actors are doing.
    /// </summary>
    private sealed class IngestLivenessCheck(ConsumerStallWatch stallWatch, IngestOptions options) : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken cancellation = default)
        {
            var stall = stallWatch.Check();
            return Task.FromResult(stall.MakesNotLive(options)
                ? HealthCheckResult.Unhealthy($"{stall.Reason} (restart after {options.NotLiveAfterStalledSeconds} s, {IngestOptions.Section}:NotLiveAfterStalledSeconds)")
                : HealthCheckResult.Healthy(stall.IsStalled ? $"stalled for {stall.StalledFor.TotalSeconds:0} s, under {options.NotLiveAfterStalledSeconds} s" : "consuming or nothing to consume"));
        }
    }
}
