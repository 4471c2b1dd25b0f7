using System.Threading.Channels;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>A result as the console shows it: the result, and when the console read it.</summary>
public sealed record ConsoleItem(InspectionResult Result, DateTimeOffset SeenAt);

/// <summary>What changed in the feed, for the pages listening (server-sent events).</summary>
public abstract record ConsoleChange;

/// <summary>A new anomaly (first time its frame id is seen on the anomalies topic).</summary>
public sealed record AnomalyArrived(ConsoleItem Item) : ConsoleChange;

/// <summary>A good frame that scored near its threshold, for the review queue.</summary>
public sealed record ReviewArrived(ConsoleItem Item) : ConsoleChange;

/// <summary>An event from the model-events topic.</summary>
public sealed record ModelEventArrived(ModelEvent Event) : ConsoleChange;

/// <summary>A frame's anomaly map arrived (it may come before or after the frame's result).</summary>
public sealed record MapArrived(string FrameId) : ConsoleChange;

/// <summary>A frame's anomaly map from the anomaly-maps topic: the grayscale PNG (255 = <paramref name="Peak"/>) and the level its regions are above.</summary>
public sealed record ConsoleMap(string FrameId, byte[] Png, double Peak, double RegionLevel);

/// <summary>Frames/s and anomaly rate of one camera over the rate window.</summary>
public sealed record CameraRate(string CameraId, int Frames, int Anomalies, double FramesPerSecond, double AnomalyRate);

/// <summary>A model version that scored results in the rate window, with how many.</summary>
public sealed record VersionSeen(string Version, int Results, DateTimeOffset LastAt);

/// <summary>The last model event of one scoring node for one product: the version it adopted (or refused) and when.</summary>
public sealed record NodeServing(string Node, string Version, bool Adopted, DateTimeOffset At, string Detail, string Product = Pipeline.Shared.Products.ProductName.Default);

/// <summary>Everything a page needs when it connects.</summary>
public sealed record ConsoleSnapshot(
    IReadOnlyList<ConsoleItem> Anomalies,
    IReadOnlyList<ConsoleItem> Review,
    IReadOnlyList<ModelEvent> ModelEvents,
    IReadOnlyList<NodeServing> Nodes,
    IReadOnlyList<VersionSeen> VersionsSeen,
    IReadOnlyList<CameraRate> Cameras,
    long ResultsRead,
    long UnreadableMessages);

/// <summary>
/// What the console knows, kept bounded (<see cref="ConsoleOptions"/>): the newest anomalies (one per frame id: delivery
/// is at least once), the newest good frames near the threshold, the newest model events and each node's last one, and
/// the results of the rate window for frames/s, anomaly rate and serving versions. Written by the console's consumer
/// thread, read by HTTP requests; each listening page gets its changes through a bounded channel of its own that drops
/// its oldest change when the page does not keep up. Pure: no Kafka, time from a <see cref="TimeProvider"/>.
/// </summary>
public sealed class ConsoleFeed
{
    /// <summary>Changes one page may fall behind by before the oldest are dropped.</summary>
    public const int ListenerCapacity = 256;

    private readonly ConsoleOptions options;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    private readonly LinkedList<ConsoleItem> anomalies = new();
    private readonly HashSet<string> anomalyIds = new(StringComparer.Ordinal);
    private readonly LinkedList<ConsoleItem> review = new();
    private readonly HashSet<string> reviewIds = new(StringComparer.Ordinal);
    private readonly LinkedList<ModelEvent> modelEvents = new();
    private readonly Dictionary<(string Node, string Product), NodeServing> nodes = [];
    private readonly Dictionary<string, ConsoleMap> maps = new(StringComparer.Ordinal);
    private readonly Queue<string> mapOrder = new();
    private readonly Queue<(DateTimeOffset At, string Camera, string Version, bool Anomalous)> window = new();
    private readonly List<Channel<ConsoleChange>> listeners = [];
    private long resultsRead;
    private long unreadable;

    public ConsoleFeed(ConsoleOptions options, TimeProvider time)
    {
        this.options = options;
        this.time = time;
    }

    /// <summary>An anomaly read from the anomalies topic; a frame id already held is ignored (a re-delivery).</summary>
    public void AddAnomaly(InspectionResult result)
    {
        ConsoleItem item;
        lock (gate)
        {
            if (!anomalyIds.Add(result.FrameId)) return;
            item = new ConsoleItem(result, time.GetUtcNow());
            anomalies.AddFirst(item);
            if (anomalies.Count > options.RecentAnomalies)
            {
                anomalyIds.Remove(anomalies.Last!.Value.Result.FrameId);
                anomalies.RemoveLast();
            }
        }
        Tell(new AnomalyArrived(item));
    }

    /// <summary>
    /// A result read from the results topic: counted for the rates and versions; a good one at or above
    /// <see cref="ConsoleOptions.ReviewScoreFraction"/> of its threshold enters the review queue.
    /// </summary>
    public void AddResult(InspectionResult result)
    {
        var now = time.GetUtcNow();
        ConsoleItem? queued = null;
        lock (gate)
        {
            resultsRead++;
            window.Enqueue((now, result.CameraId, result.ModelVersion, result.Verdict == InspectionVerdict.Anomalous));
            Trim(now);
            if (options.ReviewQueue > 0 && result.Verdict == InspectionVerdict.Good && result.Score >= options.ReviewScoreFraction * result.Threshold
                && reviewIds.Add(result.FrameId))
            {
                queued = new ConsoleItem(result, now);
                review.AddFirst(queued);
                if (review.Count > options.ReviewQueue)
                {
                    reviewIds.Remove(review.Last!.Value.Result.FrameId);
                    review.RemoveLast();
                }
            }
        }
        if (queued is not null) Tell(new ReviewArrived(queued));
    }

    /// <summary>An event from the model-events topic; an adopted or refused one also says what its node serves.</summary>
    public void AddModelEvent(ModelEvent modelEvent)
    {
        lock (gate)
        {
            modelEvents.AddFirst(modelEvent);
            if (modelEvents.Count > options.RecentModelEvents) modelEvents.RemoveLast();
            if (modelEvent is { Node: { } node, Kind: ModelEventKind.Adopted or ModelEventKind.Refused })
            {
                // A refused version leaves the node on what it served before: only an adoption changes the version.
                var key = (node, modelEvent.Product);
                var serving = modelEvent.Kind == ModelEventKind.Adopted || !nodes.TryGetValue(key, out var before)
                    ? modelEvent.Version
                    : before.Version;
                nodes[key] = new NodeServing(node, serving, modelEvent.Kind == ModelEventKind.Adopted, modelEvent.At, modelEvent.Detail, modelEvent.Product);
            }
        }
        Tell(new ModelEventArrived(modelEvent));
    }

    /// <summary>
    /// The most maps held: one for each anomaly and review item the console can hold, and as many again for maps that
    /// arrive before their result (they are published together, on different topics). The oldest goes first.
    /// </summary>
    public int MapCapacity => 2 * (options.RecentAnomalies + options.ReviewQueue);

    /// <summary>A map from the anomaly-maps topic; a frame id already held is replaced (a re-delivery).</summary>
    public void AddMap(ConsoleMap map)
    {
        lock (gate)
        {
            if (!maps.ContainsKey(map.FrameId)) mapOrder.Enqueue(map.FrameId);
            maps[map.FrameId] = map;
            while (mapOrder.Count > MapCapacity) maps.Remove(mapOrder.Dequeue());
        }
        Tell(new MapArrived(map.FrameId));
    }

    /// <summary>The map of <paramref name="frameId"/>, if the console holds it.</summary>
    public ConsoleMap? FindMap(string frameId)
    {
        lock (gate) return maps.GetValueOrDefault(frameId);
    }

    /// <summary>Maps held now.</summary>
    public int MapsHeld
    {
        get
        {
            lock (gate) return maps.Count;
        }
    }

    /// <summary>A message on one of the console's topics that it could not read (counted, shown on the health page).</summary>
    public void CountUnreadable()
    {
        lock (gate) unreadable++;
    }

    /// <summary>The anomaly or review item for <paramref name="frameId"/>, if the console holds it.</summary>
    public ConsoleItem? Find(string frameId)
    {
        lock (gate)
            return anomalies.FirstOrDefault(item => item.Result.FrameId == frameId) ?? review.FirstOrDefault(item => item.Result.FrameId == frameId);
    }

    public ConsoleSnapshot Snapshot()
    {
        var now = time.GetUtcNow();
        lock (gate)
        {
            Trim(now);
            var seconds = options.RateWindowSeconds;
            var cameras = window.GroupBy(entry => entry.Camera, StringComparer.Ordinal).OrderBy(group => group.Key, StringComparer.Ordinal)
                .Select(group =>
                {
                    var frames = group.Count();
                    var flagged = group.Count(entry => entry.Anomalous);
                    return new CameraRate(group.Key, frames, flagged, frames / seconds, frames == 0 ? 0 : (double)flagged / frames);
                }).ToArray();
            var versions = window.GroupBy(entry => entry.Version, StringComparer.Ordinal)
                .Select(group => new VersionSeen(group.Key, group.Count(), group.Max(entry => entry.At)))
                .OrderByDescending(seen => seen.LastAt).ToArray();
            return new ConsoleSnapshot([.. anomalies], [.. review], [.. modelEvents], [.. nodes.Values.OrderBy(node => node.Node, StringComparer.Ordinal).ThenBy(node => node.Product, StringComparer.Ordinal)],
                versions, cameras, resultsRead, unreadable);
        }
    }

    /// <summary>A new listener: its changes from now on, until <paramref name="cancellation"/> ends it.</summary>
    public ChannelReader<ConsoleChange> Listen(CancellationToken cancellation)
    {
        var channel = Channel.CreateBounded<ConsoleChange>(new BoundedChannelOptions(ListenerCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (gate) listeners.Add(channel);
        cancellation.Register(() =>
        {
            lock (gate) listeners.Remove(channel);
            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    /// <summary>Pages listening now.</summary>
    public int Listeners
    {
        get
        {
            lock (gate) return listeners.Count;
        }
    }

    private void Tell(ConsoleChange change)
    {
        Channel<ConsoleChange>[] now;
        lock (gate) now = [.. listeners];
        foreach (var listener in now) listener.Writer.TryWrite(change);
    }

    private void Trim(DateTimeOffset now)
    {
        var oldest = now - TimeSpan.FromSeconds(options.RateWindowSeconds);
        while (window.Count > 0 && window.Peek().At < oldest) window.Dequeue();
    }
}
