using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Training;

namespace Pipeline.Scoring;

/// <summary>A scored frame's test-view features, from a device scorer to its node's <see cref="SampleCollector"/> (never leaves the node).</summary>
/// <param name="Label">The label the frame came with, if any.</param>
/// <param name="Features"><c>Views × 768</c> values, view after view.</param>
public sealed record FrameFeatures(
    string FrameId,
    string CameraId,
    FrameLabel? Label,
    DateTimeOffset CapturedAt,
    int ImageSize,
    int Views,
    float[] Features,
    double Score,
    double Threshold,
    string Product = Pipeline.Shared.Products.ProductName.Default);

/// <summary>
/// A scoring node's collector of training samples. Features of frames that came labelled go to the training
/// singleton at once; the features of the last <see cref="ScoringOptions.RecentFeatureFrames"/> unlabelled frames are
/// kept so that a label arriving later (<see cref="FrameLabelled"/>, from the labels topic via the training node) still
/// finds them. Samples go out in batches of at most <see cref="MaxBatchBytes"/> once a second, far below the cluster's
/// message size limit. Delivery is at most once: a batch lost with a node costs a few samples, never a frame.
/// <para>
/// Optional and off by default: <see cref="ScoringOptions.AutoAcceptBelowThresholdFraction"/> also takes unlabelled
/// frames scored below that fraction of the threshold as good. Its risk: a slowly creeping defect that scores low
/// enough is learned as normal, and the model drifts toward accepting it; use it only with a low fraction and with
/// labelled defects in the validation gate.
/// </para>
/// </summary>
public sealed class SampleCollector : ReceiveActor, IWithTimers
{
    public const int MaxBatchBytes = 1024 * 1024;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    private readonly IActorRef training;
    private readonly IActorRef? mediator;
    private readonly int recentCapacity;
    private readonly double? autoAcceptFraction;
    private readonly Dictionary<string, LinkedListNode<FrameFeatures>> recentById = new(StringComparer.Ordinal);
    private readonly LinkedList<FrameFeatures> recent = new();
    private readonly List<FeatureSample> pending = [];
    private readonly ILoggingAdapter log = Context.GetLogger();
    private long pendingBytes;

    public SampleCollector(IActorRef training, IActorRef? mediator, int recentFrames, double? autoAcceptBelowThresholdFraction)
    {
        this.training = training;
        this.mediator = mediator;
        recentCapacity = recentFrames;
        autoAcceptFraction = autoAcceptBelowThresholdFraction;

        Receive<FrameFeatures>(Collect);
        Receive<FrameLabelled>(LabelArrived);
        Receive<Flush>(_ => SendPending());
        Receive<SubscribeAck>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="training">The training singleton (its proxy).</param>
    /// <param name="mediator">The pub-sub mediator to hear late labels on; null to not listen.</param>
    /// <param name="recentFrames">Unlabelled frames whose features are kept for late labels (0: none).</param>
    /// <param name="autoAcceptBelowThresholdFraction">Take unlabelled frames scored below this share of the threshold as good; null: off.</param>
    public static Props Props(IActorRef training, IActorRef? mediator, int recentFrames, double? autoAcceptBelowThresholdFraction = null) =>
        Akka.Actor.Props.Create(() => new SampleCollector(training, mediator, recentFrames, autoAcceptBelowThresholdFraction));

    protected override void PreStart()
    {
        mediator?.Tell(new Subscribe(TrainingTopics.FrameLabels, Self));
        Timers.StartPeriodicTimer("flush", Flush.Instance, FlushInterval);
    }

    protected override void PostStop() => SendPending();

    private void Collect(FrameFeatures frame)
    {
        var label = frame.Label ?? (autoAcceptFraction is { } fraction && frame.Score < fraction * frame.Threshold ? FrameLabel.Good : null);
        if (label is { } known)
        {
            Add(frame, known);
            return;
        }
        if (recentCapacity == 0) return;
        if (recentById.Remove(frame.FrameId, out var existing)) recent.Remove(existing);
        recentById[frame.FrameId] = recent.AddLast(frame);
        if (recent.Count > recentCapacity)
        {
            recentById.Remove(recent.First!.Value.FrameId);
            recent.RemoveFirst();
        }
    }

    private void LabelArrived(FrameLabelled labelled)
    {
        if (!recentById.Remove(labelled.FrameId, out var node)) return; // scored on another node, or too long ago
        recent.Remove(node);
        Add(node.Value, labelled.Label);
    }

    private void Add(FrameFeatures frame, FrameLabel label)
    {
        var sample = new FeatureSample(frame.FrameId, frame.CameraId, label, frame.CapturedAt, frame.ImageSize, frame.Views, frame.Features, frame.Product);
        var bytes = sample.Features.Length * sizeof(float) + 256L;
        if (pendingBytes + bytes > MaxBatchBytes) SendPending();
        pending.Add(sample);
        pendingBytes += bytes;
    }

    private void SendPending()
    {
        if (pending.Count == 0) return;
        training.Tell(new CollectSamples(pending.ToArray()));
        log.Debug("Sent {0} samples to training", pending.Count);
        pending.Clear();
        pendingBytes = 0;
    }

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }
}
