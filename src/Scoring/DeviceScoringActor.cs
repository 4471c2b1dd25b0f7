using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;

namespace Pipeline.Scoring;

/// <summary>
/// Scores frames on one device (a GPU, or a share of the CPU) with the current model of each frame's product, in
/// dynamic batches that mix products.
/// <para>
/// Threading: the actor owns its device's <see cref="DeviceWorkLoop"/>; scoring runs there and comes back as
/// messages, never on the actor's thread. Loading and disposing models run on a second loop of its own, so that the
/// device keeps scoring with the current model while the next one loads (hundreds of MB take seconds); a replaced
/// model is disposed there once the batches given to the device before the swap are done. At most one batch is on the device at a time;
/// meanwhile new frames wait in a <see cref="DynamicBatcher{T}"/>. An idle device waits up to
/// <see cref="ScoringOptions.MaxWait"/> for a batch to fill; a device that just finished a batch starts the next
/// one at once with whatever waited meanwhile, so it stays busy under load.
/// </para>
/// <para>
/// Products: the scorer serves one model per product. <see cref="LoadModel"/> loads a product's model on the loading
/// loop beside the models serving, then swaps that product's model between two batches; the other products' models
/// are neither paused nor re-versioned. Every answer names its product and the version of that product's model that
/// scored it; within a batch, each product's frames are scored by one model. The replaced model is disposed after the
/// batch it may still be scoring. A frame of a product the scorer has no model of is answered
/// <see cref="ScoringFailureKind.NoModelForProduct"/> when its batch would start (a scorer with no model at all keeps
/// every frame waiting, as it is not ready).
/// </para>
/// <para>
/// Batches: one batch runs the backbone once over the test views of all its frames (<see cref="IScoringModel.ScoreBatch"/>,
/// <see cref="SharedBackbonePass"/>), and each product's rows go through that product's flow. The backbone takes one
/// tensor, so a batch holds frames of one prepared image size only. The rule: the oldest waiting frame decides; its
/// batch is it and the frames of its size after it, in arrival order, up to <see cref="ScoringOptions.MaxBatchViews"/>
/// views of each product (each frame weighs its model's test views), so that every flow runs on as many rows as with
/// its product alone; the backbone goes over the batch in passes of at most that many views. Frames of other sizes
/// keep their places and go in a later batch, at the latest once one of them is the oldest. When all products'
/// models share one size (the usual case) every batch mixes every product.
/// </para>
/// <para>
/// Failures: a frame of the wrong size is answered <see cref="ScoringFailureKind.InvalidFrame"/>; a batch the model
/// throws on is logged and answered <see cref="ScoringFailureKind.ModelFailed"/> frame by frame, and scoring goes
/// on. Neither throws in the actor. Only an unexpected error of the actor itself escalates to its supervisor
/// (<see cref="ScoringRouter"/> restarts it): the frames it held are answered
/// <see cref="ScoringFailureKind.Interrupted"/>, and the new incarnation reloads the model it was using and any
/// model still being loaded. When it stops, its frames are answered the same way. A full queue answers
/// <see cref="ScoringBusy"/>, and <see cref="ScoringAvailable"/> once it has drained to half.
/// </para>
/// <para>
/// Anomaly maps (<see cref="ScoringOptions.AnomalyMaps"/>): a scored frame that needs a map is answered once its map is
/// made, on the same loop, one map per turn: the device takes turns between a batch and a map while both wait, so maps
/// never hold up the scoring of other frames by more than their share. At most <see cref="ScoringOptions.MaxQueuedMaps"/>
/// frames wait for their maps; one scored beyond that is answered at once without a map, so the results keep up with
/// the cameras when maps would ask more of the device than it has. A map that fails is logged and the frame is answered
/// without one.
/// </para>
/// </summary>
public sealed class DeviceScoringActor : ReceiveActor, IWithTimers
{
    private const string BatchDueTimer = "batch-due";

    private readonly string device;
    private readonly Func<ModelArtifact, IScoringModel> loadModel;
    private readonly ModelArtifact? initialModel;
    private readonly string initialProduct;
    private readonly ScoringMetrics metrics;
    private readonly TimeProvider clock;
    private readonly IActorRef? featureSink;
    private readonly bool unlabelledFeatures;
    private readonly int maxQueuedFrames;
    private readonly DynamicBatcher<PendingFrame> batcher;
    private readonly DeviceWorkLoop loop;
    private readonly DeviceWorkLoop loading;
    private readonly List<PendingLoad> pendingLoads = [];
    private readonly HashSet<IActorRef> toldBusy = [];
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly ScoringOptions mapOptions;
    private readonly Queue<PendingMap> pendingMaps = new();
    private readonly SortedDictionary<string, CurrentModel> models = new(StringComparer.Ordinal); // by product
    private RunningBatch? running;
    private PendingMap? runningMap;
    private bool lastTurnWasMap;
    private volatile bool stopped; // read on the loop: a model loaded after the stop is disposed there

    public DeviceScoringActor(
        string device,
        ScoringOptions options,
        Func<ModelArtifact, IScoringModel> loadModel,
        ScoringMetrics metrics,
        ModelArtifact? initialModel,
        TimeProvider clock,
        IActorRef? featureSink,
        bool unlabelledFeatures,
        string initialProduct)
    {
        ProductName.Require(initialProduct, "the initial model's product");
        this.initialProduct = initialProduct;
        options.Validated();
        this.featureSink = featureSink;
        this.unlabelledFeatures = unlabelledFeatures;
        this.device = device;
        this.loadModel = loadModel;
        this.initialModel = initialModel;
        this.metrics = metrics;
        this.clock = clock;
        mapOptions = options;
        maxQueuedFrames = options.MaxQueuedFrames;
        batcher = new DynamicBatcher<PendingFrame>(options.MaxBatchViews, options.MaxWait, clock);
        loop = new DeviceWorkLoop($"scoring {device}", device == "cpu" ? options.ThreadsPerCpuWorker : null);
        loading = new DeviceWorkLoop($"loading {device}");

        Receive<ScoreFrame>(Accept);
        Receive<BatchDue>(_ => Dispatch(deviceJustFreed: false));
        Receive<BatchFinished>(Finish);
        Receive<MapFinished>(FinishMap);
        Receive<LoadModel>(request => StartLoading(request.Artifact, request.Product, Sender));
        Receive<ModelLoaded>(Swap);
        Receive<ModelNotLoaded>(Refuse);
        Receive<GetScoringStatus>(_ => Sender.Tell(CurrentStatus()));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="device">The device the loader puts models on, as configured ("cpu", "cuda:0"); names it in answers, logs and metrics.</param>
    /// <param name="options">Batching and queue limits; validated here.</param>
    /// <param name="loadModel">Loads an artifact onto the device; runs on the scorer's loading loop, while the device scores on.</param>
    /// <param name="metrics">Shared instruments.</param>
    /// <param name="initialModel">Loaded at start as <paramref name="initialProduct"/>'s model; without one the scorer waits (not ready) for a <see cref="LoadModel"/>.</param>
    /// <param name="clock">Time for timestamps and batching; the system clock by default.</param>
    /// <param name="featureSink">Told the <see cref="FrameFeatures"/> of scored frames (the node's <see cref="SampleCollector"/>); null to not keep features.</param>
    /// <param name="unlabelledFeatures">
    /// Whether the sink can use the features of frames that came without a label (it keeps them for late labels, or
    /// takes low scores as good); when not, only labelled frames' features are copied off the device and told, and a
    /// batch without a labelled frame is scored without them.
    /// </param>
    /// <param name="initialProduct">Whose model <paramref name="initialModel"/> is: the default product's unless said.</param>
    public static Props Props(
        string device,
        ScoringOptions options,
        Func<ModelArtifact, IScoringModel> loadModel,
        ScoringMetrics metrics,
        ModelArtifact? initialModel = null,
        TimeProvider? clock = null,
        IActorRef? featureSink = null,
        bool unlabelledFeatures = true,
        string initialProduct = ProductName.Default) =>
        Akka.Actor.Props.Create(() => new DeviceScoringActor(device, options, loadModel, metrics, initialModel, clock ?? TimeProvider.System, featureSink, unlabelledFeatures, initialProduct));

    protected override void PreStart()
    {
        if (initialModel is not null) StartLoading(initialModel, initialProduct, ActorRefs.Nobody);
    }

    protected override void PreRestart(Exception reason, object message)
    {
        FailAllFrames(ScoringFailureKind.Interrupted, $"The scorer on {device} restarted after an error ({reason.Message}) before scoring the frame; send it again.");
        foreach (var (product, serving) in models) Self.Tell(new LoadModel(serving.Artifact, product), ActorRefs.Nobody);
        foreach (var load in pendingLoads) Self.Tell(new LoadModel(load.Artifact, load.Product), load.ReplyTo);
        base.PreRestart(reason, message);
    }

    /// <summary>The new incarnation takes its models from the messages <see cref="PreRestart"/> left, not from the initial one.</summary>
    protected override void PostRestart(Exception reason)
    {
    }

    protected override void PostStop()
    {
        FailAllFrames(ScoringFailureKind.Interrupted, $"The scorer on {device} stopped before scoring the frame; send it to another scorer.");
        stopped = true;
        foreach (var serving in models.Values) DisposeOnLoop(serving.Model);
        models.Clear();
        loop.Dispose();
        loading.Dispose();
    }

    private void Accept(ScoreFrame request)
    {
        if (batcher.Count >= maxQueuedFrames)
        {
            Sender.Tell(new ScoringBusy(request.FrameId, request.CameraId, batcher.Count, maxQueuedFrames, request.Correlation));
            toldBusy.Add(Sender);
            metrics.FrameRejected(device);
            return;
        }
        batcher.Add(new PendingFrame(request, Sender, clock.GetUtcNow()));
        metrics.QueueChanged(device, +1);
        Dispatch(deviceJustFreed: false);
    }

    /// <summary>Starts the next batch when the device is free, a model is loaded and a batch is due.</summary>
    private void Dispatch(bool deviceJustFreed)
    {
        while (running is null && runningMap is null && models.Count > 0)
        {
            if (pendingMaps.Count > 0 && (!lastTurnWasMap || batcher.Count == 0))
            {
                var job = pendingMaps.Dequeue();
                StartMap(job, models[job.Frame.Request.Product].Model);
                return;
            }
            AnswerUnscorable();
            var frames = deviceJustFreed ? batcher.TakeNext(KindOf, ShareOf, ViewsOf) : batcher.TakeReady(KindOf, ShareOf, ViewsOf);
            if (frames.Count == 0)
            {
                if (batcher.DueIn() is { } due) Timers.StartSingleTimer(BatchDueTimer, BatchDue.Instance, due);
                return;
            }
            metrics.QueueChanged(device, -frames.Count);
            TellAvailableWhenDrained();
            Start(frames);
        }
    }

    /// <summary>A frame's kind in a batch: its prepared size (one backbone pass takes frames of one size).</summary>
    private static int KindOf(PendingFrame frame) => frame.Request.Image.Width;

    /// <summary>A frame's share of a batch: its product, whose flow takes up to MaxBatchViews views of the batch.</summary>
    private static string ShareOf(PendingFrame frame) => frame.Request.Product;

    /// <summary>What a frame weighs in a batch: its product's model's test views.</summary>
    private int ViewsOf(PendingFrame frame) => models[frame.Request.Product].Model.ViewsPerFrame;

    /// <summary>
    /// Answers the waiting frames no model here can score: of a product without a model (<see cref="ScoringFailureKind.NoModelForProduct"/>),
    /// or not of their product's model's size (<see cref="ScoringFailureKind.InvalidFrame"/>).
    /// </summary>
    private void AnswerUnscorable()
    {
        var unscorable = batcher.TakeWhere(frame =>
            !models.TryGetValue(frame.Request.Product, out var serving)
            || frame.Request.Image.Width != serving.Model.ImageSize || frame.Request.Image.Height != serving.Model.ImageSize);
        if (unscorable.Count == 0) return;
        metrics.QueueChanged(device, -unscorable.Count);
        foreach (var frame in unscorable)
        {
            var (request, image) = (frame.Request, frame.Request.Image);
            if (!models.TryGetValue(request.Product, out var serving))
            {
                Fail(frame, ScoringFailureKind.NoModelForProduct,
                    $"The scorer on {device} has no model of product '{request.Product}' (it serves {string.Join(", ", models.Keys.Select(p => $"'{p}'"))}); frame {request.FrameId} cannot be scored until one is loaded.");
                continue;
            }
            var size = serving.Model.ImageSize;
            Fail(frame, ScoringFailureKind.InvalidFrame,
                $"Frame {request.FrameId} is {image.Width}×{image.Height}, but model {serving.Model.Version} of product '{request.Product}' scores {size}×{size} frames; prepare frames with FramePreparation.Prepare(image, {size}).");
        }
        TellAvailableWhenDrained();
    }

    /// <summary>Scores one batch on the loop, each frame with its product's model now (the model a swap disposes only after this batch).</summary>
    private void Start(IReadOnlyList<PendingFrame> frames)
    {
        var scoredBy = frames.Select(f => models[f.Request.Product].Model).ToArray();
        var batch = new RunningBatch(frames, scoredBy);
        running = batch;
        lastTurnWasMap = false;
        var work = frames.Select((f, i) => (scoredBy[i], f.Request.Image)).ToArray();
        var withFeatures = featureSink is not null && (unlabelledFeatures || frames.Any(f => f.Request.Label is not null));
        loop.Run(() =>
            {
                var stopwatch = Stopwatch.StartNew();
                var scored = IScoringModel.ScoreBatch(work, withFeatures, batcher.MaxBatchViews);
                return new BatchFinished(batch, scored.Scores, scored.Features, null, stopwatch.Elapsed);
            })
            .PipeTo(Self, failure: error => new BatchFinished(batch, null, null, error, TimeSpan.Zero));
    }

    private void Finish(BatchFinished finished)
    {
        // A batch of an earlier incarnation: its frames were answered when that one restarted.
        if (!ReferenceEquals(finished.Batch, running)) return;
        running = null;
        var (frames, scoredBy) = (finished.Batch.Frames, finished.Batch.Models);
        if (finished.Scores is not { } scores || scores.Length != frames.Count)
        {
            var problem = finished.Error?.Message ?? $"it returned {finished.Scores?.Length ?? 0} scores for {frames.Count} frames";
            var versions = string.Join(", ", scoredBy.Distinct().Select(m => m.Version));
            log.Error(finished.Error, "Model(s) {0} failed on {1} scoring a batch of {2} frames ({3}); each frame is answered ScoringFailed and scoring goes on",
                versions, device, frames.Count, problem);
            for (var i = 0; i < frames.Count; i++)
                Fail(frames[i], ScoringFailureKind.ModelFailed, $"Model {scoredBy[i].Version} failed on {device} scoring a batch of {frames.Count} frames: {problem}. Send the frame again.");
        }
        else
        {
            var scoredAt = clock.GetUtcNow();
            metrics.BatchScored(device, frames.Count, finished.Duration);
            foreach (var group in Enumerable.Range(0, frames.Count).GroupBy(i => (frames[i].Request.Product, scoredBy[i].Version)))
                metrics.FramesScored(device, group.Key.Product, group.Key.Version, group.Count());
            for (var i = 0; i < frames.Count; i++)
            {
                var (request, replyTo, model) = (frames[i].Request, frames[i].ReplyTo, scoredBy[i]);
                if (double.IsNaN(scores[i]))
                {
                    Fail(frames[i], ScoringFailureKind.ModelFailed, $"Model {model.Version} gave frame {request.FrameId} no number as its score (NaN).");
                    continue;
                }
                var answer = new FrameScored(request.FrameId, request.CameraId, scores[i], model.Threshold, model.Version,
                    request.CapturedAt, request.IngestedAt, scoredAt, frames.Count, request.Correlation, Product: request.Product);
                var wantsMap = mapOptions.WantsMap(scores[i], model.Threshold);
                if (wantsMap && pendingMaps.Count < mapOptions.MaxQueuedMaps)
                    pendingMaps.Enqueue(new PendingMap(frames[i], answer));
                else
                {
                    if (wantsMap) metrics.MapSkipped(device);
                    replyTo.Tell(answer);
                    metrics.FrameAnswered(device, scoredAt - frames[i].AcceptedAt);
                }
                if (finished.Features?[i] is { } features && (unlabelledFeatures || request.Label is not null))
                    featureSink?.Tell(new FrameFeatures(request.FrameId, request.CameraId, request.Label, request.CapturedAt, model.ImageSize, model.ViewsPerFrame, features, scores[i], model.Threshold, request.Product));
            }
        }
        Dispatch(deviceJustFreed: true);
    }

    /// <summary>Makes one frame's map on the loop with its product's model serving now (the one a swap disposes only after this).</summary>
    private void StartMap(PendingMap job, IScoringModel model)
    {
        runningMap = job;
        lastTurnWasMap = true;
        var (request, options, anomalous) = (job.Frame.Request, mapOptions, job.Answer.IsAnomalous);
        loop.Run(() =>
            {
                if (model.Map(request.Image) is not var (map, calibrated)) return null;
                // The map's gradients grow with the frame's score, so a strongly anomalous frame's whole map can lie above a
                // level calibrated on good parts: the level is then half the frame's own peak, so that the regions are
                // where it looks most anomalous, not the whole frame. A configured level is taken as it is.
                var level = options.RegionLevel ?? Math.Max(calibrated ?? 0, map.Peak / 2);
                // An anomalous frame always names where it looks most anomalous, even when its map stays below the level.
                if (anomalous) level = Math.Min(level, map.Peak / 2);
                var frame = request.OriginalSize ?? new FrameSize(request.Image.Width, request.Image.Height);
                return new FrameAnomalyMap(AnomalyRegions.Find(map, level, options.MaxRegions, frame),
                    AnomalyMapImages.ToGrayscalePng(map, options.MapPngLongSide, frame), map.Peak, level);
            })
            .PipeTo(Self, success: made => new MapFinished(job, made, null), failure: error => new MapFinished(job, null, error));
    }

    private void FinishMap(MapFinished finished)
    {
        if (!ReferenceEquals(finished.Job, runningMap)) return; // answered when an earlier incarnation restarted
        runningMap = null;
        var (frame, answer) = (finished.Job.Frame, finished.Job.Answer);
        if (finished.Error is { } error)
            log.Warning("The anomaly map of frame {0} failed on {1} ({2}); the frame is answered without one", answer.FrameId, device, error.Message);
        frame.ReplyTo.Tell(answer with { Map = finished.Map });
        metrics.FrameAnswered(device, clock.GetUtcNow() - frame.AcceptedAt);
        Dispatch(deviceJustFreed: true);
    }

    private void StartLoading(ModelArtifact artifact, string product, IActorRef replyTo)
    {
        var load = new PendingLoad(artifact, product, replyTo);
        pendingLoads.Add(load);
        loading.Run(() =>
            {
                // The artifact's weights are read from its file straight into the new model's parameters, but fetching it
                // left the model's size in 1 MiB chunk arrays on the large object heap (in one process with the training
                // role, the chunks served too), which wait for the collector's next full collection. A background one
                // now (the other threads go on; not the blocking collection that paused the whole process, ingest
                // included) hands them back during the swap instead, and the native heap's free pages go back too.
                var stopwatch = Stopwatch.StartNew();
                var model = loadModel(artifact);
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Default, blocking: false, compacting: false);
                NativeHeap.Trim();
                if (!stopped) return (Model: model, Took: stopwatch.Elapsed);
                model.Dispose();
                throw new OperationCanceledException($"The scorer on {device} stopped while loading model {model.Version}.");
            })
            .PipeTo(Self, success: loaded => new ModelLoaded(load, loaded.Model, loaded.Took), failure: error => new ModelNotLoaded(load, error));
    }

    private void Swap(ModelLoaded loaded)
    {
        if (!pendingLoads.Remove(loaded.Load))
        {
            // Loaded for an earlier incarnation just before it stopped; this one loads it again.
            DisposeOnLoop(loaded.Model);
            return;
        }
        var product = loaded.Load.Product;
        models.TryGetValue(product, out var previous);
        models[product] = new CurrentModel(loaded.Model, loaded.Load.Artifact);
        if (previous is not null) DisposeOnLoop(previous.Model);
        log.Info("Scorer on {0} now scores product {1} with model {2} (was {3}; loaded in {4:0.0} s beside the serving models)",
            device, product, loaded.Model.Version, previous?.Model.Version ?? "none", loaded.Took.TotalSeconds);
        metrics.ModelServing(device, product, loaded.Model.Version);
        loaded.Load.ReplyTo.Tell(new ModelSwapped(device, loaded.Model.Version, previous?.Model.Version, product));
        Dispatch(deviceJustFreed: false);
    }

    private void Refuse(ModelNotLoaded failed)
    {
        if (!pendingLoads.Remove(failed.Load)) return;
        var version = failed.Load.Artifact.Manifest.ModelVersion;
        var product = failed.Load.Product;
        log.Warning("Scorer on {0} could not load model {1} of product {2}: {3}; it keeps model {4}", device, version, product, failed.Error.Message,
            models.TryGetValue(product, out var serving) ? serving.Model.Version : "none");
        failed.Load.ReplyTo.Tell(new ModelLoadFailed(device, version, failed.Error.Message, product));
    }

    /// <summary>Every product's model; the first three fields describe the default product's, or the first served when the default has none.</summary>
    private ScoringStatus CurrentStatus()
    {
        var served = models.Select(entry => new ServedModel(entry.Key, entry.Value.Model.Version, entry.Value.Model.ImageSize)).ToArray();
        var main = served.FirstOrDefault(model => model.Product == ProductName.Default) ?? served.FirstOrDefault();
        return new ScoringStatus(main is not null, main?.Version, main?.ImageSize, batcher.Count,
            (running?.Frames.Count ?? 0) + pendingMaps.Count + (runningMap is null ? 0 : 1), device, served);
    }

    private void TellAvailableWhenDrained()
    {
        if (toldBusy.Count == 0 || batcher.Count > maxQueuedFrames / 2) return;
        var available = new ScoringAvailable(device, maxQueuedFrames - batcher.Count);
        foreach (var requester in toldBusy) requester.Tell(available);
        toldBusy.Clear();
    }

    private void FailAllFrames(ScoringFailureKind kind, string reason)
    {
        var waiting = batcher.TakeAll();
        metrics.QueueChanged(device, -waiting.Count);
        foreach (var frame in waiting) Fail(frame, kind, reason);
        if (running is not null)
        {
            foreach (var frame in running.Frames) Fail(frame, kind, reason);
            running = null;
        }
        while (pendingMaps.TryDequeue(out var waitingMap)) Fail(waitingMap.Frame, kind, reason);
        if (runningMap is not null)
        {
            Fail(runningMap.Frame, kind, reason);
            runningMap = null;
        }
    }

    private void Fail(PendingFrame frame, ScoringFailureKind kind, string reason)
    {
        frame.ReplyTo.Tell(new ScoringFailed(frame.Request.FrameId, frame.Request.CameraId, kind, reason, frame.Request.Correlation));
        metrics.FrameFailed(device, kind);
        metrics.FrameAnswered(device, clock.GetUtcNow() - frame.AcceptedAt);
    }

    /// <summary>
    /// Disposes a model once the batches given to the device before now are done, on the loading loop so that the
    /// device goes on scoring meanwhile, then hands the native heap's free pages back to the system (a replaced model
    /// frees hundreds of MB).
    /// </summary>
    private void DisposeOnLoop(IScoringModel model) => loop.Run(() =>
    {
        try
        {
            loading.Run(DisposeAndTrim);
        }
        catch (ObjectDisposedException)
        {
            DisposeAndTrim(); // the scorer stopped and its loading loop takes no more work
        }

        void DisposeAndTrim()
        {
            model.Dispose();
            NativeHeap.Trim();
        }
    });

    private sealed record PendingFrame(ScoreFrame Request, IActorRef ReplyTo, DateTimeOffset AcceptedAt);

    private sealed record CurrentModel(IScoringModel Model, ModelArtifact Artifact);

    /// <summary>A scored frame waiting for its map, with the answer it will get. A class: told apart by reference.</summary>
    private sealed class PendingMap(PendingFrame frame, FrameScored answer)
    {
        public PendingFrame Frame { get; } = frame;
        public FrameScored Answer { get; } = answer;
    }

    private sealed record MapFinished(PendingMap Job, FrameAnomalyMap? Map, Exception? Error);

    // Batches and loads are told apart by reference: an answer for one this incarnation did not start is stale.
    private sealed class PendingLoad(ModelArtifact artifact, string product, IActorRef replyTo)
    {
        public ModelArtifact Artifact { get; } = artifact;
        public string Product { get; } = product;
        public IActorRef ReplyTo { get; } = replyTo;
    }

    /// <param name="models">The model that scores each frame (its product's at the start of the batch).</param>
    private sealed class RunningBatch(IReadOnlyList<PendingFrame> frames, IReadOnlyList<IScoringModel> models)
    {
        public IReadOnlyList<PendingFrame> Frames { get; } = frames;
        public IReadOnlyList<IScoringModel> Models { get; } = models;
    }

    private sealed record BatchDue
    {
        public static readonly BatchDue Instance = new();
    }

    private sealed record BatchFinished(RunningBatch Batch, double[]? Scores, float[]?[]? Features, Exception? Error, TimeSpan Duration);

    private sealed record ModelLoaded(PendingLoad Load, IScoringModel Model, TimeSpan Took);

    private sealed record ModelNotLoaded(PendingLoad Load, Exception Error);
}
