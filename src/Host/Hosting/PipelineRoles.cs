using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Pattern;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Ingest;
using Pipeline.Scoring;
using Pipeline.Shared;
using Pipeline.Shared.Cluster;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Health;
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
                ScoringActors.PropsFor(options, resolver.GetService<DeviceBackbones>(), resolver.GetService<ScoringMetrics>(), resolver.GetService<InitialModel>().Artifact, samples),
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
                resolver.GetService<KafkaClientsClosing>());
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
                    await entry.GracefulStop(TimeSpan.FromSeconds(10));
                }
                catch (TaskCanceledException)
                {
                    // Not stopped in time: the actor system's termination stops it.
                }

                await closing.WhenClosedAsync(TimeSpan.FromSeconds(15));
                return Akka.Done.Instance;
            });
        });

        builder.AddReadinessCheck(ClusterRoles.Scoring, provider => new ScoringReadinessCheck(provider.GetRequiredService<ActorRegistry>()));
        builder.AddReadinessCheck(ClusterRoles.Scoring, provider => new CurrentModelReadinessCheck(provider.GetRequiredService<ActorRegistry>(), provider.GetRequiredService<ActorSystem>()));
        builder.AddReadinessCheck(ClusterRoles.Ingest, provider => new IngestReadinessCheck(provider.GetRequiredService<ActorRegistry>()));
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

    /// <summary>Ready when every scorer of this node has a model loaded.</summary>
    private sealed class ScoringReadinessCheck(ActorRegistry registry) : IReadinessCheck
    {
        public string Name => "model-loaded";

        public async ValueTask<ReadinessCheckResult> CheckAsync(CancellationToken cancellation)
        {
            if (!registry.TryGet<LocalScoring>(out var scoring)) return ReadinessCheckResult.NotReady("the scoring actors have not started yet");
            var status = await scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, cancellation);
            if (status.Ready) return ReadinessCheckResult.Ready;
            return ReadinessCheckResult.NotReady(status.Scorers.Count == 0
                ? "this node has no working scorer (see its log)"
                : $"no model loaded on {string.Join(", ", status.Scorers.Where(s => !s.ModelLoaded).Select(s => s.Device))}; set {ScoringOptions.SectionName}:ModelPath");
        }
    }

    /// <summary>
    /// Ready when this node serves the registry's current version (or refused it for a reason, serving its old model), so
    /// that a node that joins or restarts does not take frames with an outdated model. With no training node Up in the
    /// cluster there is no registry to follow, and the check passes.
    /// </summary>
    private sealed class CurrentModelReadinessCheck(ActorRegistry registry, ActorSystem system) : IReadinessCheck
    {
        public string Name => "model-current";

        public async ValueTask<ReadinessCheckResult> CheckAsync(CancellationToken cancellation)
        {
            var trainingUp = Akka.Cluster.Cluster.Get(system).State.Members.Any(member => member.Status == Akka.Cluster.MemberStatus.Up && member.HasRole(ClusterRoles.Training));
            if (!trainingUp) return ReadinessCheckResult.Ready;
            if (!registry.TryGet<ModelFollowerEntry>(out var follower)) return ReadinessCheckResult.NotReady("the model follower has not started yet");
            var status = await follower.Ask<ModelFollowerStatus>(GetModelFollowerStatus.Instance, cancellation);
            if (status.InStep) return ReadinessCheckResult.Ready;
            return ReadinessCheckResult.NotReady(status.TrainingAnswered
                ? $"loading the current model {status.Current?.Version} (serving {status.Serving ?? "the configured one"})"
                : "the training node has not said which model is current yet");
        }
    }

    /// <summary>Ready when the frames consumer has joined its group and scoring has told the frame size (a model is serving).</summary>
    private sealed class IngestReadinessCheck(ActorRegistry registry) : IReadinessCheck
    {
        public string Name => "ingest";

        public async ValueTask<ReadinessCheckResult> CheckAsync(CancellationToken cancellation)
        {
            if (!registry.TryGet<IngestEntry>(out var ingest)) return ReadinessCheckResult.NotReady("the ingest actor has not started yet");
            var status = await ingest.Ask<IngestStatus>(GetIngestStatus.Instance, cancellation);
            if (!status.KafkaConnected) return ReadinessCheckResult.NotReady("the frames consumer has not joined its group (are the Kafka brokers reachable?)");
            if (status.FrameSize is null) return ReadinessCheckResult.NotReady("no scoring node has told its frame size yet (no model loaded, or no scoring node)");
            return ReadinessCheckResult.Ready;
        }
    }
}
