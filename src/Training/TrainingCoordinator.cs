using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Training;
using Pipeline.Training.Kafka;
using Pipeline.Training.Registry;
using Pipeline.Training.Samples;

namespace Pipeline.Training;

/// <summary>What a refit works on: the serving model and a snapshot of the stored samples.</summary>
public sealed record RefitJob(ModelArtifact Serving, IReadOnlyList<FeatureSample> Good, IReadOnlyList<FeatureSample> Defects);

/// <summary>A refit's outcome: a model that passed the validation gate (not yet published), or none, with one sentence saying why.</summary>
public sealed record RefitResult(ModelArtifact? Accepted, string Summary);

/// <summary>
/// The training side of continuous learning, a cluster singleton on the training role:
/// <list type="bullet">
/// <item>stores the known-good (and labelled defect) feature samples scoring nodes send, in the persisted
/// <see cref="SampleStore"/>;</item>
/// <item>refits the flow every <see cref="ContinuousTrainingOptions.RefitEveryNewSamples"/> new samples, every
/// <see cref="ContinuousTrainingOptions.RefitInterval"/>, and on <see cref="RequestRefit"/>; the refit (warm start,
/// validation gate, threshold) runs on a pool thread and its outcome comes back as a message;</item>
/// <item>publishes a model that passed the gate to the <see cref="ModelRegistry"/> as the next version, makes it
/// current and announces it on <see cref="TrainingTopics.ModelVersions"/>; a rejected one is logged and sent as a
/// <see cref="ModelEventKind.Rejected"/> event;</item>
/// <item>serves the current version's bytes in chunks (<see cref="FetchModelChunk"/>), read off the actor's thread;</item>
/// <item>notices a current version changed by <c>pipeline models promote|rollback</c> (it polls the registry) and
/// announces it;</item>
/// <item>passes labels from the labels topic on to every scoring node (<see cref="TrainingTopics.FrameLabels"/>);</item>
/// <item>imports <see cref="ContinuousTrainingOptions.InitialModelPath"/> into an empty registry at start, on a pool
/// thread, keeping every request in its stash until the import is done.</item>
/// </list>
/// Supervision: an error of the actor itself restarts it (the default); the store and registry are on disk, so it
/// carries on where it was. A refit that throws ends as a rejected refit.
/// </summary>
public sealed class TrainingCoordinator : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private const string RegistryPollTimer = "registry-poll";
    private const string RefitTimer = "refit-interval";

    private readonly ContinuousTrainingOptions options;
    private readonly Func<RefitJob, CancellationToken, RefitResult> refit;
    private readonly IModelEventSink events;
    private readonly IActorRef mediator;
    private readonly Func<Action<LabelFeedback>, IDisposable>? startLabels;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly List<IActorRef> refitWaiters = [];
    private readonly CancellationTokenSource stopping = new();
    private ModelRegistry registry = null!;
    private SampleStore store = null!;
    private IDisposable? labels;
    private ModelAnnouncement? announced;
    private int newGoodSamples;
    private bool refitting;
    private RefitFinished? lastRefit;

    public TrainingCoordinator(
        ContinuousTrainingOptions options,
        Func<RefitJob, CancellationToken, RefitResult> refit,
        IModelEventSink events,
        IActorRef mediator,
        Func<Action<LabelFeedback>, IDisposable>? startLabels)
    {
        this.options = options;
        this.refit = refit;
        this.events = events;
        this.mediator = mediator;
        this.startLabels = startLabels;

        Serving();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <param name="options">Validated training options (paths, triggers).</param>
    /// <param name="refit">Runs one refit (on a pool thread); the product's is <c>FlowRefit</c>.</param>
    /// <param name="events">Where model events go (the model-events topic).</param>
    /// <param name="mediator">The distributed pub-sub mediator (<c>DistributedPubSub.Get(system).Mediator</c>).</param>
    /// <param name="startLabels">Starts reading the labels topic, calling back per label; null to not read labels.</param>
    public static Props Props(
        ContinuousTrainingOptions options,
        Func<RefitJob, CancellationToken, RefitResult> refit,
        IModelEventSink events,
        IActorRef mediator,
        Func<Action<LabelFeedback>, IDisposable>? startLabels = null) =>
        Akka.Actor.Props.Create(() => new TrainingCoordinator(options, refit, events, mediator, startLabels));

    protected override void PreStart()
    {
        registry = ModelRegistry.Open(options.RegistryPath!);
        store = SampleStore.Open(options.SampleStorePath!, options.GoodSamplesPerCamera, options.DefectSamples, out var skipped);
        if (skipped > 0) log.Warning("The sample store skipped {0} damaged sample slot(s) in {1}", skipped, options.SampleStorePath);
        log.Info("Training: {0} known-good and {1} defect samples in {2}; registry {3}", store.GoodCount, store.DefectCount, options.SampleStorePath, registry.Root);

        if (registry.Current is null && options.InitialModelPath is { } initial)
        {
            // Reading, sealing and writing hundreds of MB takes seconds: on a pool thread, while everything that comes
            // meanwhile waits in the stash (nobody is told "no model" in the meantime).
            Become(Importing);
            var reg = registry;
            Task.Run(() => reg.Publish(ModelArtifact.Load(initial), $"imported from {Path.GetFullPath(initial)}", makeCurrent: true))
                .PipeTo(Self, success: imported => new ImportFinished(initial, imported, null), failure: error => new ImportFinished(initial, null, error.GetBaseException().Message));
        }
        else
        {
            AnnounceIfChanged(external: false);
        }

        Timers.StartPeriodicTimer(RegistryPollTimer, PollRegistry.Instance, options.RegistryPoll);
        if (options.RefitIntervalMinutes > 0) Timers.StartPeriodicTimer(RefitTimer, RefitTick.Instance, options.RefitInterval);
        var self = Self;
        labels = startLabels?.Invoke(label => self.Tell(label));
    }

    private void Serving()
    {
        Receive<CollectSamples>(Collect);
        Receive<RequestRefit>(request => Refit(request.Requester, Sender));
        Receive<RefitTick>(_ => { if (newGoodSamples > 0) Refit("schedule", ActorRefs.Nobody); });
        Receive<RefitCompleted>(Completed);
        Receive<PollRegistry>(_ => AnnounceIfChanged(external: true));
        Receive<GetCurrentModel>(_ => Sender.Tell(new CurrentModelIs(announced)));
        Receive<FetchModelChunk>(ServeChunk);
        Receive<ModelAdoptionReport>(Adoption);
        Receive<LabelFeedback>(label => mediator.Tell(new Publish(TrainingTopics.FrameLabels, new FrameLabelled(label.FrameId, label.Label))));
        Receive<GetTrainingStatus>(_ => Sender.Tell(new TrainingStatus(announced?.Version, store.GoodCount, store.DefectCount, newGoodSamples, refitting, lastRefit)));
    }

    private void Importing()
    {
        Receive<ImportFinished>(finished =>
        {
            if (finished.Imported is { } imported) log.Info("The registry was empty: imported {0} as {1}", finished.File, imported.Version);
            else log.Error("The registry is empty and the initial model {0} could not be imported: {1}; import one with 'pipeline models import'", finished.File, finished.Problem);
            Become(Serving);
            Stash.UnstashAll();
            AnnounceIfChanged(external: false);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    protected override void PostStop()
    {
        stopping.Cancel();
        labels?.Dispose();
        foreach (var waiter in refitWaiters) waiter.Tell(new RefitFinished(false, null, "The training node stopped before the refit finished."));
    }

    private void Collect(CollectSamples batch)
    {
        foreach (var sample in batch.Samples)
        {
            var admission = store.Add(sample, out var refusal);
            if (admission == SampleAdmission.Refused) log.Warning("Sample refused: {0}", refusal);
            else if (sample.Label == FrameLabel.Good) newGoodSamples++;
        }
        store.Flush();
        if (options.RefitEveryNewSamples > 0 && newGoodSamples >= options.RefitEveryNewSamples && !refitting)
            Refit($"{newGoodSamples} new samples", ActorRefs.Nobody);
    }

    private void Refit(string requester, IActorRef replyTo)
    {
        if (!replyTo.IsNobody()) refitWaiters.Add(replyTo);
        if (refitting) return;
        if (registry.Current is not { } serving)
        {
            Finish(new RefitFinished(false, null, "No model is serving yet (the registry is empty): import one with 'pipeline models import' first."));
            return;
        }
        refitting = true;
        var job = (Good: store.Good, Defects: store.Defects);
        log.Info("Refit of {0} asked by {1}: {2} known-good and {3} defect samples", serving.Version, requester, job.Good.Count, job.Defects.Count);
        newGoodSamples = 0;
        var (reg, token) = (registry, stopping.Token);
        Task.Run(() =>
            {
                var result = refit(new RefitJob(reg.Load(serving.Version), job.Good, job.Defects), token);
                if (result.Accepted is not { } accepted) return new RefitCompleted(serving.Version, null, result.Summary);
                var published = reg.Publish(accepted, $"refit of {serving.Version} on {job.Good.Count} samples", makeCurrent: true);
                return new RefitCompleted(serving.Version, published, result.Summary);
            }, token)
            .PipeTo(Self, failure: error => new RefitCompleted(serving.Version, null, $"the refit failed: {error.GetBaseException().Message}"));
    }

    private void Completed(RefitCompleted completed)
    {
        refitting = false;
        if (completed.Published is { } published)
        {
            log.Info("Refit published {0} (was {1}): {2}", published.Version, completed.Serving, completed.Summary);
            events.Publish(new ModelEvent { Kind = ModelEventKind.Published, Version = published.Version, PreviousVersion = completed.Serving, Detail = completed.Summary, At = DateTimeOffset.UtcNow });
            AnnounceIfChanged(external: false);
            Finish(new RefitFinished(true, published.Version, completed.Summary));
        }
        else
        {
            log.Warning("Refit of {0} rejected; {0} keeps serving: {1}", completed.Serving, completed.Summary);
            events.Publish(new ModelEvent { Kind = ModelEventKind.Rejected, Version = completed.Serving, Detail = completed.Summary, At = DateTimeOffset.UtcNow });
            Finish(new RefitFinished(false, null, completed.Summary));
        }
    }

    private void Finish(RefitFinished finished)
    {
        lastRefit = finished;
        foreach (var waiter in refitWaiters) waiter.Tell(finished);
        refitWaiters.Clear();
    }

    /// <summary>Announces the registry's current version when it is not the one announced last.</summary>
    private void AnnounceIfChanged(bool external)
    {
        var current = registry.Current;
        if (current is null || (announced is not null && announced.Version == current.Version && announced.Sha256 == current.Sha256)) return;
        var previous = announced?.Version;
        announced = new ModelAnnouncement(current.Version, current.Sha256, current.SizeBytes);
        log.Info("Current model is {0} ({1} bytes, SHA-256 {2}…); announcing it to the scoring nodes", current.Version, current.SizeBytes, current.Sha256[..12]);
        if (external && previous is not null)
            events.Publish(new ModelEvent { Kind = ModelEventKind.CurrentChanged, Version = current.Version, PreviousVersion = previous, Detail = $"the registry's current version changed from {previous} to {current.Version}", At = DateTimeOffset.UtcNow });
        mediator.Tell(new Publish(TrainingTopics.ModelVersions, announced));
    }

    private void ServeChunk(FetchModelChunk request)
    {
        var replyTo = Sender;
        string path;
        try
        {
            path = registry.PathOf(request.Version);
        }
        catch (Shared.PipelineInputException e)
        {
            replyTo.Tell(new ModelChunkUnavailable(request.Version, e.Message));
            return;
        }
        var length = Math.Clamp(request.Length, 1, options.ModelChunkBytes);
        Task.Run(() =>
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
                var total = RandomAccess.GetLength(handle);
                if (request.Offset < 0 || request.Offset > total) return (object)new ModelChunkUnavailable(request.Version, $"offset {request.Offset} is outside its {total} bytes");
                var bytes = new byte[(int)Math.Min(length, total - request.Offset)];
                var read = 0;
                while (read < bytes.Length) read += RandomAccess.Read(handle, bytes.AsSpan(read), request.Offset + read);
                return new ModelChunk(request.Version, request.Offset, total, bytes);
            })
            .PipeTo(replyTo, failure: error => new ModelChunkUnavailable(request.Version, $"its file cannot be read ({error.GetBaseException().Message})"));
    }

    private void Adoption(ModelAdoptionReport report)
    {
        if (report.Adopted) log.Info("Node {0} serves {1}", report.Node, report.Version);
        else log.Warning("Node {0} refused {1} and keeps its old model: {2}", report.Node, report.Version, report.Reason);
        events.Publish(new ModelEvent
        {
            Kind = report.Adopted ? ModelEventKind.Adopted : ModelEventKind.Refused,
            Version = report.Version,
            Node = report.Node,
            Detail = report.Reason ?? "serving",
            At = DateTimeOffset.UtcNow,
        });
    }

    private sealed record ImportFinished(string File, RegisteredModel? Imported, string? Problem);

    private sealed record RefitCompleted(string Serving, RegisteredModel? Published, string Summary);

    private sealed record PollRegistry
    {
        public static readonly PollRegistry Instance = new();
    }

    private sealed record RefitTick
    {
        public static readonly RefitTick Instance = new();
    }
}
