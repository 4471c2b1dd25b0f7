using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Training;
using Pipeline.Tests.Support;
using Pipeline.Training;
using Pipeline.Training.Kafka;
using Xunit;
using static Pipeline.Tests.Training.TrainingSamples;

namespace Pipeline.Tests.Training;

/// <summary>
/// The training singleton's actor with its real sample store and registry on disk. The refit itself is
/// <c>FlowRefit</c>'s (tested on its own); here a stand-in decides, so that these tests are about what the actor does
/// with the outcome. A test probe plays the pub-sub mediator.
/// </summary>
public sealed class TrainingCoordinatorTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly TempFolder folder = new();
    private readonly RecordingEvents events = new();
    private readonly ModelArtifact initial = TinyArtifacts.Create("trained", new string('a', 64), seed: 1, TinyArtifacts.Flow());

    private ContinuousTrainingOptions Options(int refitEvery = 0)
    {
        var model = Path.Combine(folder.Path, "trained.dnfm");
        if (!File.Exists(model)) initial.Save(model);
        return new ContinuousTrainingOptions
        {
            RegistryPath = Path.Combine(folder.Path, "registry"),
            SampleStorePath = Path.Combine(folder.Path, "samples"),
            InitialModelPath = model,
            RefitEveryNewSamples = refitEvery,
            RefitIntervalMinutes = 0,
            GoodSamplesPerCamera = 50,
        };
    }

    private IActorRef Start(ContinuousTrainingOptions options, Func<RefitJob, CancellationToken, RefitResult> refit, IActorRef mediator) =>
        Sys.ActorOf(TrainingCoordinator.Props(options, refit, events, mediator));

    private static RefitResult NeverRefit(RefitJob job, CancellationToken cancellation) => throw new InvalidOperationException("no refit expected");

    [Fact]
    public async Task A_training_node_restart_keeps_the_samples_and_the_current_version()
    {
        var mediator = CreateTestProbe();
        var coordinator = Start(Options(), NeverRefit, mediator);
        Assert.Equal("v1", mediator.ExpectMsg<Publish>(Patience).Message is ModelAnnouncement { } a ? a.Version : null);
        coordinator.Tell(new CollectSamples([.. Enumerable.Range(0, 6).Select(i => Sample($"g-{i}", $"camera-{i % 2}")), Sample("d-0", label: FrameLabel.Defect)]));
        var before = await coordinator.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience);

        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator, Patience);
        var restarted = Start(Options(), NeverRefit, mediator);
        var after = await restarted.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience);

        Assert.Equal((6, 1, "v1"), (before.GoodSamples, before.DefectSamples, before.CurrentVersion));
        Assert.Equal((before.GoodSamples, before.DefectSamples, before.CurrentVersion), (after.GoodSamples, after.DefectSamples, after.CurrentVersion));
        Assert.Equal("v1", ((ModelAnnouncement)mediator.ExpectMsg<Publish>(Patience).Message).Version); // announced again after the restart
    }

    [Fact]
    public async Task A_refit_that_passes_the_gate_is_published_as_the_next_version_and_announced()
    {
        var mediator = CreateTestProbe();
        RefitJob? seen = null;
        var coordinator = Start(Options(refitEvery: 4), (job, _) =>
        {
            seen = job;
            return new RefitResult(TinyArtifacts.Create("refitted", new string('a', 64), seed: 2, TinyArtifacts.Flow()), "median good score 2 → 1");
        }, mediator);
        mediator.ExpectMsg<Publish>(Patience);

        coordinator.Tell(new CollectSamples([.. Enumerable.Range(0, 4).Select(i => Sample($"g-{i}"))]));

        var announced = mediator.FishForMessage<Publish>(p => p.Topic == TrainingTopics.ModelVersions, Patience);
        Assert.Equal("v2", ((ModelAnnouncement)announced.Message).Version);
        Assert.Equal(4, seen!.Good.Count);
        Assert.Equal("v1", seen.Serving.Manifest.ModelVersion);
        var status = await coordinator.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience);
        Assert.Equal(("v2", 0), (status.CurrentVersion, status.NewGoodSamples));
        AwaitCondition(() => events.Events.Any(e => e.Kind == ModelEventKind.Published && e.Version == "v2" && e.PreviousVersion == "v1"), Patience);
    }

    [Fact]
    public async Task A_rejected_refit_publishes_nothing_and_says_why_to_the_asker_and_on_the_events_topic()
    {
        var mediator = CreateTestProbe();
        var coordinator = Start(Options(), (_, _) => new RefitResult(null, "the new median good score 3.1 is above the serving 2.0 × 1.05"), mediator);
        mediator.ExpectMsg<Publish>(Patience);
        coordinator.Tell(new CollectSamples([Sample("g-0")]));

        var finished = await coordinator.Ask<RefitFinished>(new RequestRefit("test"), Patience);

        Assert.False(finished.Published);
        Assert.Contains("above the serving", finished.Summary, StringComparison.Ordinal);
        Assert.Equal("v1", (await coordinator.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience)).CurrentVersion);
        var rejected = Assert.Single(events.Events, e => e.Kind == ModelEventKind.Rejected);
        Assert.Equal("v1", rejected.Version);
        // A published refit is announced before the asker is answered: an announcement would be here by now.
        Assert.False(mediator.HasMessages, "nothing new is announced");
    }

    [Fact]
    public async Task The_current_version_is_served_in_chunks_that_add_up_to_its_file()
    {
        var coordinator = Start(Options(), NeverRefit, CreateTestProbe());
        var current = (await coordinator.Ask<CurrentModelIs>(GetCurrentModel.Instance, Patience)).Current!;

        var bytes = new List<byte>();
        while (bytes.Count < current.SizeBytes)
        {
            var chunk = await coordinator.Ask<ModelChunk>(new FetchModelChunk(current.Version, bytes.Count, 4096), Patience);
            Assert.Equal(current.SizeBytes, chunk.TotalBytes);
            bytes.AddRange(chunk.Bytes);
        }

        Assert.Equal(current.Sha256, ModelArtifact.FromBytes([.. bytes], "fetched").Sha256);
        var missing = await coordinator.Ask<ModelChunkUnavailable>(new FetchModelChunk("v9", 0, 4096), Patience);
        Assert.Equal("v9", missing.Version);
    }

    public new void Dispose()
    {
        base.Dispose();
        folder.Dispose();
    }

    private sealed class RecordingEvents : IModelEventSink
    {
        private readonly List<ModelEvent> events = [];

        public IReadOnlyList<ModelEvent> Events { get { lock (events) return events.ToArray(); } }

        public void Publish(ModelEvent modelEvent) { lock (events) events.Add(modelEvent); }
    }
}
