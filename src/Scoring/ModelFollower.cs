using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Microsoft.Win32.SafeHandles;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;
using Pipeline.Shared.Training;

namespace Pipeline.Scoring;

/// <summary>Asks a <see cref="ModelFollower"/> where it stands; the answer is <see cref="ModelFollowerStatus"/>.</summary>
public sealed record GetModelFollowerStatus
{
    public static readonly GetModelFollowerStatus Instance = new();
}

/// <summary>Where a <see cref="ModelFollower"/> stands with one product's model.</summary>
/// <param name="Current">The version the training node says is current; null until it named one.</param>
/// <param name="Serving">The version this node's scorers last put to work through the follower (null: only a configured initial model, or none).</param>
/// <param name="Refused">Why the current version was refused, when it was; the old model keeps serving.</param>
public sealed record FollowedModel(string Product, ModelAnnouncement? Current, string? Serving, string? Refused)
{
    /// <summary>The node serves the product's current version (or refused it for a reason, and serves its old model).</summary>
    public bool InStep => Current is null || Current.Version == Serving || Refused is not null;
}

/// <param name="TrainingAnswered">Whether the training node has answered at all.</param>
/// <param name="Products">Every product the training node has named a current version of, in name order.</param>
public sealed record ModelFollowerStatus(bool TrainingAnswered, IReadOnlyList<FollowedModel> Products)
{
    /// <summary>The node serves every product's current version (or refused it for a reason): <see cref="ScoringNodeStatus.ModelsInStep"/>.</summary>
    public bool InStep => TrainingAnswered && Products.All(product => product.InStep);

    /// <summary><paramref name="product"/>'s state (nothing known when the training node never named it).</summary>
    public FollowedModel Of(string product) => Products.FirstOrDefault(followed => followed.Product == product) ?? new FollowedModel(product, null, null, null);
}

/// <summary>
/// Keeps a scoring node's model of every product at the cluster's current version of that product. It hears
/// <see cref="ModelAnnouncement"/>s on <see cref="TrainingTopics.ModelVersions"/> and also asks the training singleton
/// for every product's current version (<see cref="GetCurrentModels"/>) every <see cref="ScoringOptions.ModelCheckSeconds"/>
/// (a node that joins or missed an announcement catches up). Products are followed apart: each has its current,
/// serving and refused version, and a new version of one is given to the scorers as that product's
/// (<see cref="LoadModel.Product"/>), leaving the others' models as they are. One version is fetched and loaded at a
/// time; a newer version of the product being fetched replaces that fetch, and other products' versions wait their
/// turn. The follower tells the node's scoring router whether every product is in step (<see cref="ModelsInStep"/>:
/// the training node answered, and each product's current version is loaded or refused). A new version
/// is fetched in chunks of <see cref="ChunkBytes"/> (one request at a time, each with a timeout and retries) into an
/// unlinked temporary file (in <see cref="Path.GetTempPath"/>: only the open handle keeps it, so nothing is left behind
/// by a crash, and the model's bytes are never all in memory), written off the actor's thread; its SHA-256 is checked
/// against the announcement and its format against the artifact's own checksum off the actor's thread, then it is
/// given to the node's scorers (<see cref="LoadModel"/>), which load it beside the serving model and swap between two
/// batches. A version that fails any step is refused: the old model keeps serving, the training node is told
/// (<see cref="ModelAdoptionReport"/>), and the same bytes are not tried again. Its checks and timeouts run on the
/// <see cref="TimeProvider"/> it is given (the system clock by default), so that tests move time instead of waiting.
/// </summary>
public sealed class ModelFollower : ReceiveActor
{
    public const int ChunkBytes = 1024 * 1024;
    public const int ChunkAttempts = 5;
    public static readonly TimeSpan ChunkTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Checks in a row without an answer from the training singleton after which the follower warns (once, until it
    /// answers again): no node with the training role is up or reachable, or it is still starting, so model updates wait.
    /// </summary>
    public const int UnansweredChecksBeforeWarning = 6;

    private readonly IActorRef training;
    private readonly IActorRef scoring;
    private readonly IActorRef? mediator;
    private readonly string node;
    private readonly TimeSpan checkInterval;
    private readonly ClockTimers timers;
    private readonly HashSet<string> refusedSha256 = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly SortedDictionary<string, Followed> products = new(StringComparer.Ordinal);
    /// <summary>Products whose fetch was given up: tried again after the training node's next answer, not at once.</summary>
    private readonly HashSet<string> untilNextCheck = new(StringComparer.Ordinal);
    private bool trainingAnswered;
    private bool? toldInStep;
    private int unansweredChecks;
    private bool warnedOfSilence;
    private Fetch? fetch;
    private Load? load;

    public ModelFollower(IActorRef training, IActorRef scoring, IActorRef? mediator, string node, TimeSpan checkInterval, TimeProvider clock)
    {
        timers = new ClockTimers(clock, Self);
        this.training = training;
        this.scoring = scoring;
        this.mediator = mediator;
        this.node = node;
        this.checkInterval = checkInterval;

        Receive<ModelAnnouncement>(announced =>
        {
            Consider(announced);
            TellInStep();
        });
        Receive<CurrentModelsAre>(answer =>
        {
            trainingAnswered = true;
            unansweredChecks = 0;
            if (warnedOfSilence) log.Info("The training singleton answers again");
            warnedOfSilence = false;
            untilNextCheck.Clear();
            foreach (var announced in answer.Current) Consider(announced);
            TellInStep();
        });
        Receive<Check>(_ =>
        {
            if (++unansweredChecks >= UnansweredChecksBeforeWarning && !warnedOfSilence)
            {
                warnedOfSilence = true;
                log.Warning("The training singleton has not answered for {0:0} s ({1} checks): no node with the training role is up or reachable, or it is still starting; this node keeps its model and model updates wait",
                    (unansweredChecks * checkInterval).TotalSeconds, unansweredChecks);
            }
            training.Tell(GetCurrentModels.Instance);
        });
        Receive<ModelChunk>(Received);
        Receive<ChunkWritten>(Written);
        Receive<ModelChunkUnavailable>(unavailable =>
        {
            if (fetch?.Announcement.Version != unavailable.Version || fetch.Announcement.Product != unavailable.Product) return;
            log.Warning("Model {0} of product {1} cannot be fetched: {2}; trying again at the next check", unavailable.Version, unavailable.Product, unavailable.Reason);
            GiveUpUntilNextCheck();
        });
        Receive<ChunkTimedOut>(Retry);
        Receive<Verified>(Adopt);
        Receive<ScorerCount>(count => SendToScorers(count));
        Receive<ModelSwapped>(swapped => Answered(swapped.Product, swapped.ModelVersion, null));
        Receive<ModelLoadFailed>(failed => Answered(failed.Product, failed.ModelVersion, $"{failed.Device}: {failed.Reason}"));
        Receive<LoadTimedOut>(timedOut => { if (load?.Announcement == timedOut.Announcement) Finish(load, $"the scorers did not answer within {LoadTimeout.TotalMinutes:0} minutes"); });
        Receive<GetModelFollowerStatus>(_ => Sender.Tell(Status()));
        Receive<SubscribeAck>(_ => { });
    }

    /// <param name="training">The training singleton (its proxy).</param>
    /// <param name="scoring">This node's scoring router: given the models (<see cref="LoadModel"/>), told whether they are in step (<see cref="ModelsInStep"/>).</param>
    /// <param name="mediator">The pub-sub mediator to hear announcements on; null to rely on the periodic check.</param>
    /// <param name="node">This node's address, named in reports.</param>
    /// <param name="checkInterval">How often to ask the training node for the current version.</param>
    /// <param name="clock">Time for the checks and the chunk and load timeouts; the system clock by default.</param>
    public static Props Props(IActorRef training, IActorRef scoring, IActorRef? mediator, string node, TimeSpan checkInterval, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ModelFollower(training, scoring, mediator, node, checkInterval, clock ?? TimeProvider.System));

    protected override void PreStart()
    {
        mediator?.Tell(new Subscribe(TrainingTopics.ModelVersions, Self));
        timers.StartPeriodic("check", Check.Instance, checkInterval);
        training.Tell(GetCurrentModels.Instance);
        TellInStep();
    }

    protected override void PostStop()
    {
        timers.CancelAll();
        fetch?.File.Dispose();
    }

    /// <summary>Notes <paramref name="announced"/> as its product's current version and fetches it, unless it is served, refused, or under way.</summary>
    private void Consider(ModelAnnouncement announced)
    {
        if (!ProductName.IsValid(announced.Product))
        {
            log.Warning("Ignored an announcement of model {0} for '{1}', which is not a product name", announced.Version, announced.Product);
            return;
        }
        var followed = products.GetValueOrDefault(announced.Product) ?? new Followed(null, null, null);
        if (followed.Current != announced)
            followed = followed with { Current = announced, Refused = refusedSha256.Contains(announced.Sha256) ? followed.Refused : null };
        products[announced.Product] = followed;
        StartNext();
    }

    /// <summary>
    /// Starts fetching the next version a product needs, when nothing is fetched or loaded: a newer version of the product
    /// being fetched replaces that fetch at once; other products wait for the fetch and load under way.
    /// </summary>
    private void StartNext()
    {
        if (load is not null) return;
        if (fetch is not null)
        {
            var fetching = fetch.Announcement;
            if (products[fetching.Product].Current is not { } newer || newer == fetching || !Needs(fetching.Product)) return;
            log.Info("Model {0} of product {1} was announced while {2} was being fetched; fetching {0} instead", newer.Version, fetching.Product, fetching.Version);
            Abandon();
        }
        foreach (var (product, followed) in products)
        {
            if (untilNextCheck.Contains(product) || !Needs(product)) continue;
            var announced = followed.Current!;
            if (announced.SizeBytes <= 0)
            {
                Refuse(announced, $"its announced size of {announced.SizeBytes} bytes is not a model's");
                continue;
            }
            if (StartFetch(announced)) return;
        }
    }

    /// <summary>Whether <paramref name="product"/>'s current version is neither served nor refused.</summary>
    private bool Needs(string product) =>
        products[product] is { Current: { } current } followed && current.Version != followed.Serving && !refusedSha256.Contains(current.Sha256);

    private bool StartFetch(ModelAnnouncement announced)
    {
        SafeFileHandle file;
        try
        {
            file = UnlinkedTemporaryFile();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Model {0} of product {1} cannot be fetched: no temporary file in {2} ({3}); trying again at the next check", announced.Version, announced.Product, Path.GetTempPath(), e.Message);
            untilNextCheck.Add(announced.Product);
            return false;
        }
        log.Info("Fetching model {0} of product {1} ({2:0.0} MB) from the training node", announced.Version, announced.Product, announced.SizeBytes / 1e6);
        fetch = new Fetch(announced, file);
        RequestNext();
        return true;
    }

    /// <summary>A new file in the temporary folder, already unlinked: the handle is all that keeps it, and closing it frees the space.</summary>
    private static SafeFileHandle UnlinkedTemporaryFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pipeline-model-{Guid.NewGuid():N}{ModelArtifact.FileExtension}.part");
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        File.Delete(path);
        return handle;
    }

    private void RequestNext()
    {
        var length = (int)Math.Min(ChunkBytes, fetch!.Announcement.SizeBytes - fetch.Received);
        timers.StartSingle("chunk", new ChunkTimedOut(fetch.Announcement, fetch.Received), ChunkTimeout);
        training.Tell(new FetchModelChunk(fetch.Announcement.Version, fetch.Received, length, fetch.Announcement.Product));
    }

    private void Received(ModelChunk chunk)
    {
        if (fetch is null || fetch.Writing || chunk.Version != fetch.Announcement.Version || chunk.Product != fetch.Announcement.Product || chunk.Offset != fetch.Received) return; // stale or duplicate
        timers.Cancel("chunk");
        if (chunk.TotalBytes != fetch.Announcement.SizeBytes || chunk.Bytes.Length == 0 || chunk.Offset + chunk.Bytes.Length > fetch.Announcement.SizeBytes)
        {
            var announced = fetch.Announcement;
            Abandon();
            Refuse(announced, $"the training node's file is {chunk.TotalBytes} bytes, but {announced.SizeBytes} were announced");
            StartNext();
            return;
        }
        fetch = fetch with { Writing = true };
        var (current, file) = (fetch, fetch.File);
        Task.Run(() =>
            {
                RandomAccess.Write(file, chunk.Bytes, chunk.Offset);
                return new ChunkWritten(current, chunk.Bytes.Length, null);
            })
            .PipeTo(Self, failure: error => new ChunkWritten(current, 0, error.GetBaseException().Message));
    }

    private void Written(ChunkWritten written)
    {
        if (!ReferenceEquals(written.Fetch.File, fetch?.File)) return; // abandoned meanwhile
        if (written.Problem is { } problem)
        {
            log.Warning("Model {0} cannot be fetched: writing it to a temporary file failed ({1}); trying again at the next check", fetch!.Announcement.Version, problem);
            GiveUpUntilNextCheck();
            return;
        }
        fetch = fetch! with { Received = fetch.Received + written.Bytes, Attempts = 0, Writing = false };
        if (fetch.Received < fetch.Announcement.SizeBytes)
        {
            RequestNext();
            return;
        }
        var (announcement, file) = (fetch.Announcement, fetch.File);
        fetch = null;
        load = new Load(announcement, null, 0, []); // verifying: nothing else starts meanwhile
        Task.Run(() =>
            {
                var artifact = ModelArtifact.FromFile(file, $"{announcement.Version} (as fetched from the training node)");
                return artifact.Sha256 == announcement.Sha256
                    ? new Verified(announcement, artifact, null)
                    : new Verified(announcement, null, $"its SHA-256 is {artifact.Sha256[..12]}…, but {announcement.Sha256[..12]}… was announced");
            })
            .PipeTo(Self, failure: error => new Verified(announcement, null, error.GetBaseException().Message));
    }

    private void Retry(ChunkTimedOut timedOut)
    {
        if (fetch is null || fetch.Writing || fetch.Announcement != timedOut.Announcement || fetch.Received != timedOut.Offset) return;
        if (fetch.Attempts + 1 >= ChunkAttempts)
        {
            log.Warning("Model {0}: no answer for the chunk at {1} after {2} tries; trying again at the next check", fetch.Announcement.Version, fetch.Received, ChunkAttempts);
            GiveUpUntilNextCheck();
            return;
        }
        fetch = fetch with { Attempts = fetch.Attempts + 1 };
        RequestNext();
    }

    private void Abandon()
    {
        timers.Cancel("chunk");
        fetch?.File.Dispose();
        fetch = null;
    }

    /// <summary>Abandons the fetch under way; its product is tried again after the next check, the others now.</summary>
    private void GiveUpUntilNextCheck()
    {
        if (fetch is not null) untilNextCheck.Add(fetch.Announcement.Product);
        Abandon();
        StartNext();
    }

    private void Adopt(Verified verified)
    {
        if (load?.Announcement != verified.Announcement) return;
        if (verified.Artifact is not { } artifact)
        {
            load = null;
            Refuse(verified.Announcement, verified.Problem!);
            StartNext();
            return;
        }
        if (products[verified.Announcement.Product].Current != verified.Announcement)
        {
            load = null; // a newer version was announced meanwhile
            StartNext();
            return;
        }
        load = load with { Artifact = artifact };
        scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, TimeSpan.FromSeconds(30))
            .PipeTo(Self, success: status => new ScorerCount(verified.Announcement, status.Scorers.Count), failure: _ => new ScorerCount(verified.Announcement, 0));
    }

    private void SendToScorers(ScorerCount count)
    {
        if (load?.Announcement != count.Announcement) return;
        if (count.Scorers == 0)
        {
            Finish(load, "this node has no working scorer to load it");
            return;
        }
        load = load with { Expected = count.Scorers };
        scoring.Tell(new LoadModel(load.Artifact!, load.Announcement.Product));
        timers.StartSingle("load", new LoadTimedOut(load.Announcement), LoadTimeout);
    }

    private void Answered(string product, string version, string? failure)
    {
        if (load is null || load.Announcement.Version != version || load.Announcement.Product != product) return;
        load.Failures.Add(failure);
        if (load.Failures.Count >= load.Expected)
            Finish(load, load.Failures.Where(f => f is not null).ToArray() is { Length: > 0 } failures ? string.Join("; ", failures) : null);
    }

    private void Finish(Load finished, string? failure)
    {
        timers.Cancel("load");
        load = null;
        var (product, version) = (finished.Announcement.Product, finished.Announcement.Version);
        if (failure is not null) Refuse(finished.Announcement, failure);
        else
        {
            products[product] = products[product] with { Serving = version };
            log.Info("This node now serves model {0} of product {1}", version, product);
            training.Tell(new ModelAdoptionReport(node, version, true, null, product));
        }
        StartNext();
        TellInStep();
    }

    private void Refuse(ModelAnnouncement announcement, string reason)
    {
        refusedSha256.Add(announcement.Sha256);
        var followed = products[announcement.Product];
        if (followed.Current == announcement) products[announcement.Product] = followed with { Refused = reason };
        log.Warning("Refused model {0} of product {1}: {2}; model {3} keeps serving", announcement.Version, announcement.Product, reason, followed.Serving ?? "(the configured one, if any)");
        training.Tell(new ModelAdoptionReport(node, announcement.Version, false, reason, announcement.Product));
        TellInStep();
    }

    private ModelFollowerStatus Status() =>
        new(trainingAnswered, products.Select(entry => new FollowedModel(entry.Key, entry.Value.Current, entry.Value.Serving, entry.Value.Refused)).ToArray());

    /// <summary>Tells the scoring router whether the node's models are in step, when that changed.</summary>
    private void TellInStep()
    {
        var inStep = Status().InStep;
        if (toldInStep == inStep) return;
        toldInStep = inStep;
        scoring.Tell(new ModelsInStep(inStep));
    }

    /// <param name="Writing">A chunk is being written to <paramref name="File"/>; the next is asked for once it is.</param>
    private sealed record Fetch(ModelAnnouncement Announcement, SafeFileHandle File, long Received = 0, int Attempts = 0, bool Writing = false);

    private sealed record ChunkWritten(Fetch Fetch, int Bytes, string? Problem);

    /// <param name="Artifact">Null while the fetched file is being verified.</param>
    private sealed record Load(ModelAnnouncement Announcement, ModelArtifact? Artifact, int Expected, List<string?> Failures);

    /// <summary>One product's versions: the current one, the one served through the follower, and why the current one was refused.</summary>
    private sealed record Followed(ModelAnnouncement? Current, string? Serving, string? Refused);

    private sealed record Verified(ModelAnnouncement Announcement, ModelArtifact? Artifact, string? Problem);

    private sealed record ScorerCount(ModelAnnouncement Announcement, int Scorers);

    private sealed record ChunkTimedOut(ModelAnnouncement Announcement, long Offset);

    private sealed record LoadTimedOut(ModelAnnouncement Announcement);

    private sealed record Check
    {
        public static readonly Check Instance = new();
    }

    /// <summary>
    /// Named timers on a <see cref="TimeProvider"/> that tell the actor a message when due. Starting a timer again or
    /// cancelling it stops the earlier one; a message already sent before that is told apart by the handlers (they
    /// check which fetch or load it belongs to).
    /// </summary>
    private sealed class ClockTimers(TimeProvider clock, IActorRef self)
    {
        private readonly Dictionary<string, ITimer> running = new(StringComparer.Ordinal);

        public void StartSingle(string key, object message, TimeSpan due) => Start(key, message, due, Timeout.InfiniteTimeSpan);

        public void StartPeriodic(string key, object message, TimeSpan period) => Start(key, message, period, period);

        public void Cancel(string key)
        {
            if (running.Remove(key, out var timer)) timer.Dispose();
        }

        public void CancelAll()
        {
            foreach (var timer in running.Values) timer.Dispose();
            running.Clear();
        }

        private void Start(string key, object message, TimeSpan due, TimeSpan period)
        {
            Cancel(key);
            running[key] = clock.CreateTimer(_ => self.Tell(message), null, due, period);
        }
    }
}
