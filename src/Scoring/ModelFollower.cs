using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Microsoft.Win32.SafeHandles;
using Pipeline.Shared.Model;
using Pipeline.Shared.Scoring;
using Pipeline.Shared.Training;

namespace Pipeline.Scoring;

/// <summary>Asks a <see cref="ModelFollower"/> where it stands; the answer is <see cref="ModelFollowerStatus"/>.</summary>
public sealed record GetModelFollowerStatus
{
    public static readonly GetModelFollowerStatus Instance = new();
}

/// <param name="Current">The version the training node says is current; null until it answered, or when it has none.</param>
/// <param name="TrainingAnswered">Whether the training node has answered at all.</param>
/// <param name="Serving">The version this node's scorers last put to work through the follower (null: only a configured initial model, or none).</param>
/// <param name="Refused">Why the current version was refused, when it was; the old model keeps serving.</param>
public sealed record ModelFollowerStatus(ModelAnnouncement? Current, bool TrainingAnswered, string? Serving, string? Refused)
{
    /// <summary>The node serves what the training node says is current (or refused it for a reason, and serves its old model).</summary>
    public bool InStep => TrainingAnswered && (Current is null || Current.Version == Serving || Refused is not null);
}

/// <summary>
/// Keeps a scoring node's model at the cluster's current version. It hears <see cref="ModelAnnouncement"/>s on
/// <see cref="TrainingTopics.ModelVersions"/> and also asks the training singleton every
/// <see cref="ScoringOptions.ModelCheckSeconds"/> (a node that joins or missed an announcement catches up). A new version
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
    private ModelAnnouncement? current;
    private bool trainingAnswered;
    private int unansweredChecks;
    private bool warnedOfSilence;
    private string? serving;
    private string? refusedReason;
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

        Receive<ModelAnnouncement>(Consider);
        Receive<CurrentModelIs>(answer =>
        {
            trainingAnswered = true;
            unansweredChecks = 0;
            if (warnedOfSilence) log.Info("The training singleton answers again");
            warnedOfSilence = false;
            if (answer.Current is { } announced) Consider(announced);
        });
        Receive<Check>(_ =>
        {
            if (++unansweredChecks >= UnansweredChecksBeforeWarning && !warnedOfSilence)
            {
                warnedOfSilence = true;
                log.Warning("The training singleton has not answered for {0:0} s ({1} checks): no node with the training role is up or reachable, or it is still starting; this node keeps its model and model updates wait",
                    (unansweredChecks * checkInterval).TotalSeconds, unansweredChecks);
            }
            training.Tell(GetCurrentModel.Instance);
        });
        Receive<ModelChunk>(Received);
        Receive<ChunkWritten>(Written);
        Receive<ModelChunkUnavailable>(unavailable =>
        {
            if (fetch?.Announcement.Version != unavailable.Version) return;
            log.Warning("Model {0} cannot be fetched: {1}; trying again at the next check", unavailable.Version, unavailable.Reason);
            Abandon();
        });
        Receive<ChunkTimedOut>(Retry);
        Receive<Verified>(Adopt);
        Receive<ScorerCount>(count => SendToScorers(count));
        Receive<ModelSwapped>(swapped => Answered(swapped.ModelVersion, null));
        Receive<ModelLoadFailed>(failed => Answered(failed.ModelVersion, $"{failed.Device}: {failed.Reason}"));
        Receive<LoadTimedOut>(timedOut => { if (load?.Announcement == timedOut.Announcement) Finish(load, $"the scorers did not answer within {LoadTimeout.TotalMinutes:0} minutes"); });
        Receive<GetModelFollowerStatus>(_ => Sender.Tell(new ModelFollowerStatus(current, trainingAnswered, serving, refusedReason)));
        Receive<SubscribeAck>(_ => { });
    }

    /// <param name="training">The training singleton (its proxy).</param>
    /// <param name="scoring">This node's scoring router.</param>
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
        training.Tell(GetCurrentModel.Instance);
    }

    protected override void PostStop()
    {
        timers.CancelAll();
        fetch?.File.Dispose();
    }

    private void Consider(ModelAnnouncement announced)
    {
        if (current != announced) refusedReason = refusedSha256.Contains(announced.Sha256) ? refusedReason : null;
        current = announced;
        if (announced.Version == serving || refusedSha256.Contains(announced.Sha256)) return;
        if (fetch?.Announcement == announced || load?.Announcement == announced) return;
        if (announced.SizeBytes <= 0)
        {
            Refuse(announced, $"its announced size of {announced.SizeBytes} bytes is not a model's");
            return;
        }
        if (fetch is not null) log.Info("Model {0} was announced while {1} was being fetched; fetching {0} instead", announced.Version, fetch.Announcement.Version);
        Abandon();
        SafeFileHandle file;
        try
        {
            file = UnlinkedTemporaryFile();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Model {0} cannot be fetched: no temporary file in {1} ({2}); trying again at the next check", announced.Version, Path.GetTempPath(), e.Message);
            return;
        }
        log.Info("Fetching model {0} ({1:0.0} MB) from the training node", announced.Version, announced.SizeBytes / 1e6);
        fetch = new Fetch(announced, file);
        RequestNext();
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
        training.Tell(new FetchModelChunk(fetch.Announcement.Version, fetch.Received, length));
    }

    private void Received(ModelChunk chunk)
    {
        if (fetch is null || fetch.Writing || chunk.Version != fetch.Announcement.Version || chunk.Offset != fetch.Received) return; // stale or duplicate
        timers.Cancel("chunk");
        if (chunk.TotalBytes != fetch.Announcement.SizeBytes || chunk.Bytes.Length == 0 || chunk.Offset + chunk.Bytes.Length > fetch.Announcement.SizeBytes)
        {
            var announced = fetch.Announcement;
            Abandon();
            Refuse(announced, $"the training node's file is {chunk.TotalBytes} bytes, but {announced.SizeBytes} were announced");
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
            Abandon();
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
            Abandon();
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

    private void Adopt(Verified verified)
    {
        if (verified.Artifact is not { } artifact)
        {
            Refuse(verified.Announcement, verified.Problem!);
            return;
        }
        if (current is not null && current != verified.Announcement) return; // a newer version was announced meanwhile
        load = new Load(verified.Announcement, artifact, 0, []);
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
        scoring.Tell(new LoadModel(load.Artifact));
        timers.StartSingle("load", new LoadTimedOut(load.Announcement), LoadTimeout);
    }

    private void Answered(string version, string? failure)
    {
        if (load is null || load.Announcement.Version != version) return;
        load.Failures.Add(failure);
        if (load.Failures.Count >= load.Expected)
            Finish(load, load.Failures.Where(f => f is not null).ToArray() is { Length: > 0 } failures ? string.Join("; ", failures) : null);
    }

    private void Finish(Load finished, string? failure)
    {
        timers.Cancel("load");
        load = null;
        if (failure is not null)
        {
            Refuse(finished.Announcement, failure);
            return;
        }
        serving = finished.Announcement.Version;
        log.Info("This node now serves model {0}", serving);
        training.Tell(new ModelAdoptionReport(node, serving, true, null));
    }

    private void Refuse(ModelAnnouncement announcement, string reason)
    {
        refusedSha256.Add(announcement.Sha256);
        if (current == announcement) refusedReason = reason;
        log.Warning("Refused model {0}: {1}; model {2} keeps serving", announcement.Version, reason, serving ?? "(the configured one)");
        training.Tell(new ModelAdoptionReport(node, announcement.Version, false, reason));
    }

    /// <param name="Writing">A chunk is being written to <paramref name="File"/>; the next is asked for once it is.</param>
    private sealed record Fetch(ModelAnnouncement Announcement, SafeFileHandle File, long Received = 0, int Attempts = 0, bool Writing = false);

    private sealed record ChunkWritten(Fetch Fetch, int Bytes, string? Problem);

    private sealed record Load(ModelAnnouncement Announcement, ModelArtifact Artifact, int Expected, List<string?> Failures);

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
