using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Microsoft.Win32.SafeHandles;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Training;
using Pipeline.Training.Kafka;
using Pipeline.Training.Registry;
using Pipeline.Training.Samples;

namespace Pipeline.Training;

/// <summary>What a refit works on: the serving model of <paramref name="Product"/> and a snapshot of that product's stored samples.</summary>
public sealed record RefitJob(ModelArtifact Serving, IReadOnlyList<FeatureSample> Good, IReadOnlyList<FeatureSample> Defects, string Product = ProductName.Default);

/// <summary>A refit's outcome: a model that passed the validation gate (not yet published), or none, with one sentence saying why.</summary>
public sealed record RefitResult(ModelArtifact? Accepted, string Summary);

/// <summary>
/// The training side of continuous learning for one product (<see cref="Product"/>), a child of the training singleton
/// (<see cref="ProductCoordinators"/>), which owns one per product and routes to it:
/// <list type="bullet">
/// <item>stores the known-good (and labelled defect) feature samples scoring nodes send, in the persisted
/// <see cref="SampleStore"/>;</item>
/// <item>refits the flow every <see cref="ContinuousTrainingOptions.RefitEveryNewSamples"/> new samples, every
/// <see cref="ContinuousTrainingOptions.RefitInterval"/>, and on <see cref="RequestRefit"/>; the refit (warm start,
/// validation gate, threshold) runs on a pool thread and its outcome comes back as a message;</item>
/// <item>publishes a model that passed the gate to the <see cref="ModelRegistry"/> as the next version, makes it
/// current and announces it on <see cref="TrainingTopics.ModelVersions"/>; a rejected one is logged and sent as a
/// <see cref="ModelEventKind.Rejected"/> event;</item>
/// <item>serves the current version's bytes in chunks (<see cref="FetchModelChunk"/>), read off the actor's thread from
/// a file it keeps open;</item>
/// <item>notices a current version changed by <c>pipeline models promote|rollback</c> (it polls the registry) and
/// announces it;</item>
/// <item>imports <see cref="ContinuousTrainingOptions.InitialModelPath"/> into an empty registry at start (the default
/// product's only), on a pool thread, keeping every request in its stash until the import is done.</item>
/// </list>
/// Its registry is <c>ModelRegistry.Open(RegistryPath, product)</c> and its sample store
/// <see cref="SampleStore.FolderOf"/>: the default product's are the configured folders themselves, as before products.
/// Every announcement, reply and model event names the product.
/// Threading: no file is read or written on the actor's thread. The sample store and the registry's small files are
/// worked on by <see cref="StorageWork"/> (one piece at a time, in order, its outcomes coming back as messages); the
/// store is opened there at start, while every request waits in the stash.
/// Supervision: an error of the actor itself, or of its file work, restarts it (the default); the store and registry
/// are on disk, so it carries on where it was. A store that cannot be opened stops it. A refit that throws ends as a
/// rejected refit.
/// </summary>
public sealed class TrainingCoordinator : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private const string RegistryPollTimer = "registry-poll";
    private const string RefitTimer = "refit-interval";
    private const int ServedFilesKept = 2;

    private readonly ContinuousTrainingOptions options;
    private readonly Func<RefitJob, CancellationToken, RefitResult> refit;
    private readonly IModelEventSink events;
    private readonly IActorRef mediator;
    private readonly string storePath;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly List<IActorRef> refitWaiters = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly StorageWork storage;
    private readonly Dictionary<string, Task<SafeFileHandle>> servedFiles = new(StringComparer.Ordinal);
    private ModelRegistry registry = null!;
    private SampleStore? store;
    private ModelAnnouncement? announced;
    private int newGoodSamples;
    private bool refitting;
    private RefitFinished? lastRefit;

    public TrainingCoordinator(
        ContinuousTrainingOptions options,
        Func<RefitJob, CancellationToken, RefitResult> refit,
        IModelEventSink events,
        IActorRef mediator,
        string product)
    {
        Product = ProductName.Require(product, "product");
        storePath = SampleStore.FolderOf(options.SampleStorePath!, Product);
        this.options = options;
        this.refit = refit;
        this.events = events;
        this.mediator = mediator;
        storage = new StorageWork(Self);

        Opening();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <summary>Whose samples, registry and refits these are.</summary>
    public string Product { get; }

    /// <param name="options">Validated training options (paths, triggers).</param>
    /// <param name="refit">Runs one refit (on a pool thread); the product's is <c>FlowRefit</c>.</param>
    /// <param name="events">Where model events go (the model-events topic).</param>
    /// <param name="mediator">The distributed pub-sub mediator (<c>DistributedPubSub.Get(system).Mediator</c>).</param>
    /// <param name="product">The product it works for (<see cref="ProductName.Default"/>: the configured folders themselves).</param>
    public static Props Props(
        ContinuousTrainingOptions options,
        Func<RefitJob, CancellationToken, RefitResult> refit,
        IModelEventSink events,
        IActorRef mediator,
        string product = ProductName.Default) =>
        Akka.Actor.Props.Create(() => new TrainingCoordinator(options, refit, events, mediator, product));

    protected override void PreStart()
    {
        var (registryPath, samplesPath, product) = (options.RegistryPath!, storePath, Product);
        var (goodPerCamera, defects) = (options.GoodSamplesPerCamera, options.DefectSamples);
        storage.Run(() =>
        {
            var opened = ModelRegistry.Open(registryPath, product);
            var samples = SampleStore.Open(samplesPath, goodPerCamera, defects, out var skipped);
            return new StorageOpened(opened, samples, skipped, opened.Current);
        });
        Timers.StartPeriodicTimer(RegistryPollTimer, PollRegistry.Instance, options.RegistryPoll);
        if (options.RefitIntervalMinutes > 0) Timers.StartPeriodicTimer(RefitTimer, RefitTick.Instance, options.RefitInterval);
    }

    /// <summary>Until the store and registry are open: everything waits in the stash.</summary>
    private void Opening()
    {
        Receive<StorageOpened>(opened =>
        {
            (registry, store) = (opened.Registry, opened.Store);
            if (opened.SkippedSlots > 0) log.Warning("The sample store skipped {0} damaged sample slot(s) in {1}", opened.SkippedSlots, storePath);
            log.Info("Training of product {0}: {1} known-good and {2} defect samples in {3}; registry {4}", Product, store.GoodCount, store.DefectCount, storePath, registry.Root);
            if (opened.Current is null && Product == ProductName.Default && options.InitialModelPath is { } initial)
            {
                // Reading, sealing and writing hundreds of MB takes seconds: on a pool thread, while everything that comes
                // meanwhile waits in the stash (nobody is told "no model" in the meantime).
                Become(Importing);
                var reg = registry;
                Task.Run(() => reg.Publish(ModelArtifact.Load(initial), $"imported from {Path.GetFullPath(initial)}", makeCurrent: true))
                    .PipeTo(Self, success: imported => new ImportFinished(initial, imported, null), failure: error => new ImportFinished(initial, null, error.GetBaseException().Message));
                return;
            }
            Become(Serving);
            Stash.UnstashAll();
            Announce(new RegistryRead(opened.Current, External: false));
        });
        Receive<StorageFailed>(failed =>
        {
            log.Error(failed.Error, "The training of product {0} cannot open its sample store {1} or registry {2}: {3}; it stops", Product, storePath, ModelRegistry.FolderOf(options.RegistryPath!, Product), failed.Error.Message);
            Context.Stop(Self);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Serving()
    {
        Receive<CollectSamples>(Collect);
        Receive<SamplesStored>(Stored);
        Receive<RequestRefit>(request => Refit(request.Requester, Sender));
        Receive<RefitTick>(_ => { if (newGoodSamples > 0) Refit("schedule", ActorRefs.Nobody); });
        Receive<RefitSnapshot>(StartRefit);
        Receive<RefitCompleted>(Completed);
        Receive<PollRegistry>(_ => AnnounceIfChanged());
        Receive<RegistryRead>(Announce);
        Receive<GetCurrentModel>(_ => Sender.Tell(new CurrentModelIs(announced)));
        Receive<FetchModelChunk>(ServeChunk);
        Receive<ServedFileUnavailable>(unavailable => { if (servedFiles.GetValueOrDefault(unavailable.Version) == unavailable.Opening) servedFiles.Remove(unavailable.Version); });
        Receive<ModelAdoptionReport>(Adoption);
        Receive<GetTrainingStatus>(_ =>
        {
            // Read after the samples queued before this question are stored, so that the answer counts them.
            var (replyTo, samples) = (Sender, store!);
            storage.Run(() => new StatusRead(replyTo, samples.GoodCount, samples.DefectCount));
        });
        Receive<StatusRead>(read => read.ReplyTo.Tell(new TrainingStatus(announced?.Version, read.GoodSamples, read.DefectSamples, newGoodSamples, refitting, lastRefit, Product)));
        Receive<StorageFailed>(failed => ExceptionDispatchInfo.Capture(failed.Error).Throw());
    }

    private void Importing()
    {
        Receive<ImportFinished>(finished =>
        {
            if (finished.Imported is { } imported) log.Info("The registry was empty: imported {0} as {1}", finished.File, imported.Version);
            else log.Error("The registry is empty and the initial model {0} could not be imported: {1}; import one with 'pipeline models import'", finished.File, finished.Problem);
            Become(Serving);
            Stash.UnstashAll();
            Announce(new RegistryRead(finished.Imported, External: false)); // made current by the import
        });
        ReceiveAny(_ => Stash.Stash());
    }

    protected override void PostStop()
    {
        stopping.Cancel();
        foreach (var waiter in refitWaiters) waiter.Tell(new RefitFinished(false, null, "The training node stopped before the refit finished.", Product));
        foreach (var opening in servedFiles.Values) CloseWhenOpened(opening);
        servedFiles.Clear();
        if (store is { } samples) storage.Run(samples.Dispose);
    }

    private void Collect(CollectSamples batch)
    {
        var samples = store!;
        storage.Run(() =>
        {
            var (newGood, kept, refusals) = (0, 0, new List<string>());
            foreach (var sample in batch.Samples)
            {
                var admission = samples.Add(sample, out var refusal);
                if (admission == SampleAdmission.Refused) refusals.Add(refusal!);
                else if (sample.Label == FrameLabel.Good) newGood++;
                if (admission is SampleAdmission.Stored or SampleAdmission.Replaced) kept++;
            }
            samples.Flush();
            return new SamplesStored(kept, batch.Samples.Count - kept - refusals.Count, newGood, refusals);
        });
    }

    private void Stored(SamplesStored stored)
    {
        foreach (var refusal in stored.Refusals) log.Warning("Sample of product {0} refused: {1}", Product, refusal);
        TrainingMetrics.SamplesOffered(Product, stored.Kept, stored.Passed, stored.Refusals.Count);
        newGoodSamples += stored.NewGoodSamples;
        if (options.RefitEveryNewSamples > 0 && newGoodSamples >= options.RefitEveryNewSamples && !refitting)
            Refit($"{newGoodSamples} new samples", ActorRefs.Nobody);
    }

    private void Refit(string requester, IActorRef replyTo)
    {
        if (!replyTo.IsNobody()) refitWaiters.Add(replyTo);
        if (refitting) return;
        refitting = true;
        var (reg, samples) = (registry, store!);
        storage.Run(() => new RefitSnapshot(requester, reg.Current, samples.Good, samples.Defects));
    }

    /// <summary>The serving version and the samples stored so far are read: the refit itself runs on a pool thread.</summary>
    private void StartRefit(RefitSnapshot snapshot)
    {
        if (snapshot.Serving is not { } serving)
        {
            refitting = false;
            Finish(new RefitFinished(false, null, $"No model of product {Product} is serving yet (its registry is empty): import one with 'pipeline models import{ProductOption}' first.", Product));
            return;
        }
        log.Info("Refit of {0} {1} asked by {2}: {3} known-good and {4} defect samples", Product, serving.Version, snapshot.Requester, snapshot.Good.Count, snapshot.Defects.Count);
        newGoodSamples = 0; // the snapshot holds every sample counted so far: their outcomes came before it
        var (reg, token, product) = (registry, stopping.Token, Product);
        Task.Run(() =>
            {
                var result = refit(new RefitJob(reg.Load(serving.Version), snapshot.Good, snapshot.Defects, product), token);
                if (result.Accepted is not { } accepted) return new RefitCompleted(serving.Version, null, result.Summary);
                var published = reg.Publish(accepted, $"refit of {serving.Version} on {snapshot.Good.Count} samples", makeCurrent: true);
                return new RefitCompleted(serving.Version, published, result.Summary);
            }, token)
            .PipeTo(Self, failure: error => new RefitCompleted(serving.Version, null, $"the refit failed: {error.GetBaseException().Message}"));
    }

    private void Completed(RefitCompleted completed)
    {
        refitting = false;
        if (completed.Published is { } published)
        {
            log.Info("Refit of {0} published {1} (was {2}): {3}", Product, published.Version, completed.Serving, completed.Summary);
            events.Publish(new ModelEvent { Kind = ModelEventKind.Published, Product = Product, Version = published.Version, PreviousVersion = completed.Serving, Detail = completed.Summary, At = DateTimeOffset.UtcNow });
            Announce(new RegistryRead(published, External: false)); // made current by the publication
            Finish(new RefitFinished(true, published.Version, completed.Summary, Product));
        }
        else
        {
            log.Warning("Refit of {0} {1} rejected; {1} keeps serving: {2}", Product, completed.Serving, completed.Summary);
            events.Publish(new ModelEvent { Kind = ModelEventKind.Rejected, Product = Product, Version = completed.Serving, Detail = completed.Summary, At = DateTimeOffset.UtcNow });
            Finish(new RefitFinished(false, null, completed.Summary, Product));
        }
    }

    private void Finish(RefitFinished finished)
    {
        lastRefit = finished;
        foreach (var waiter in refitWaiters) waiter.Tell(finished);
        refitWaiters.Clear();
    }

    /// <summary>Reads the registry's current version (off the actor's thread); <see cref="Announce"/> announces it when it changed.</summary>
    private void AnnounceIfChanged()
    {
        var reg = registry;
        storage.Run(() => new RegistryRead(reg.Current, External: true));
    }

    /// <summary>Announces the registry's current version when it is not the one announced last (<see cref="RegistryRead.External"/>: changed by someone else, such as <c>pipeline models promote</c>).</summary>
    private void Announce(RegistryRead read)
    {
        var current = read.Current;
        if (current is null || (announced is not null && announced.Version == current.Version && announced.Sha256 == current.Sha256)) return;
        var previous = announced?.Version;
        announced = new ModelAnnouncement(current.Version, current.Sha256, current.SizeBytes, Product);
        log.Info("Current model of product {0} is {1} ({2} bytes, SHA-256 {3}…); announcing it to the scoring nodes", Product, current.Version, current.SizeBytes, current.Sha256[..12]);
        if (read.External && previous is not null)
            events.Publish(new ModelEvent { Kind = ModelEventKind.CurrentChanged, Product = Product, Version = current.Version, PreviousVersion = previous, Detail = $"the registry's current version changed from {previous} to {current.Version}", At = DateTimeOffset.UtcNow });
        mediator.Tell(new Publish(TrainingTopics.ModelVersions, announced));
    }

    /// <summary>
    /// Reads a chunk on a pool thread from the version's file, which stays open for the next chunks (the files of the
    /// last <see cref="ServedFilesKept"/> versions asked for are kept; registry files never change once written).
    /// </summary>
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
            replyTo.Tell(new ModelChunkUnavailable(request.Version, e.Message, Product));
            return;
        }
        if (!servedFiles.TryGetValue(request.Version, out var opening))
        {
            foreach (var old in servedFiles.Keys.Where(old => old != announced?.Version).Take(Math.Max(0, servedFiles.Count + 1 - ServedFilesKept)).ToArray())
            {
                CloseWhenOpened(servedFiles[old]);
                servedFiles.Remove(old);
            }
            servedFiles[request.Version] = opening = Task.Run(() => File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete));
        }
        var (self, length, version, product) = (Self, Math.Clamp(request.Length, 1, options.ModelChunkBytes), request.Version, Product);
        opening.ContinueWith(opened =>
            {
                if (!opened.IsCompletedSuccessfully)
                {
                    self.Tell(new ServedFileUnavailable(version, opening));
                    return (object)new ModelChunkUnavailable(version, $"its file cannot be read ({opened.Exception?.GetBaseException().Message})", product);
                }
                var handle = opened.Result;
                var total = RandomAccess.GetLength(handle);
                if (request.Offset < 0 || request.Offset > total) return new ModelChunkUnavailable(version, $"offset {request.Offset} is outside its {total} bytes", product);
                var bytes = new byte[(int)Math.Min(length, total - request.Offset)];
                var read = 0;
                while (read < bytes.Length) read += RandomAccess.Read(handle, bytes.AsSpan(read), request.Offset + read);
                return new ModelChunk(version, request.Offset, total, bytes, product);
            }, CancellationToken.None, TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default)
            .PipeTo(replyTo, failure: error => new ModelChunkUnavailable(version, $"its file cannot be read ({error.GetBaseException().Message})", product));
    }

    private static void CloseWhenOpened(Task<SafeFileHandle> opening) =>
        opening.ContinueWith(opened => { if (opened.IsCompletedSuccessfully) opened.Result.Dispose(); }, TaskScheduler.Default);

    private void Adoption(ModelAdoptionReport report)
    {
        if (report.Adopted) log.Info("Node {0} serves {1} {2}", report.Node, Product, report.Version);
        else log.Warning("Node {0} refused {1} {2} and keeps its old model: {3}", report.Node, Product, report.Version, report.Reason);
        events.Publish(new ModelEvent
        {
            Kind = report.Adopted ? ModelEventKind.Adopted : ModelEventKind.Refused,
            Product = Product,
            Version = report.Version,
            Node = report.Node,
            Detail = report.Reason ?? "serving",
            At = DateTimeOffset.UtcNow,
        });
    }

    private sealed record StorageOpened(ModelRegistry Registry, SampleStore Store, int SkippedSlots, RegisteredModel? Current);

    /// <summary>What <c>pipeline models import</c> needs to name this product (nothing for the default one).</summary>
    private string ProductOption => Product == ProductName.Default ? "" : $" --product {Product}";

    private sealed record SamplesStored(int Kept, int Passed, int NewGoodSamples, IReadOnlyList<string> Refusals);

    private sealed record StatusRead(IActorRef ReplyTo, int GoodSamples, int DefectSamples);

    private sealed record RefitSnapshot(string Requester, RegisteredModel? Serving, IReadOnlyList<FeatureSample> Good, IReadOnlyList<FeatureSample> Defects);

    private sealed record RegistryRead(RegisteredModel? Current, bool External);

    private sealed record ServedFileUnavailable(string Version, Task<SafeFileHandle> Opening);

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
