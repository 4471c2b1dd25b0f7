using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pipeline.Shared.Scoring;

namespace Pipeline.Scoring;

/// <summary>
/// The scorers' instruments on the meter <see cref="MeterName"/> (System.Diagnostics.Metrics, so an
/// OpenTelemetry or Prometheus exporter can listen). Every measurement is tagged with its <c>device</c>; the frames
/// scored and the model serving also with the <c>product</c> and its <c>model.version</c> (a batch mixes products, so
/// its size and duration are the device's).
/// One instance serves all scorers of a process; it is safe to use from several actors at once.
/// </summary>
public sealed class ScoringMetrics : IDisposable
{
    public const string MeterName = "Pipeline.Scoring";

    private readonly bool ownsMeter;
    private readonly Counter<long> framesScored;
    private readonly Counter<long> framesFailed;
    private readonly Counter<long> framesRejected;
    private readonly Histogram<int> batchSize;
    private readonly Histogram<double> batchDuration;
    private readonly Histogram<double> frameLatency;
    private readonly UpDownCounter<int> queuedFrames;
    private readonly Counter<long> mapsSkipped;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Device, string Product), string> servingVersions = new();

    /// <param name="meterFactory">The host's factory (dependency injection); without one the meter is created and owned here.</param>
    public ScoringMetrics(IMeterFactory? meterFactory = null)
    {
        ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        framesScored = Meter.CreateCounter<long>("frames_scored", "{frame}", "Frames answered with a score, by product and the version of its model that scored them.");
        framesFailed = Meter.CreateCounter<long>("frames_failed", "{frame}", "Frames answered with ScoringFailed, by failure kind.");
        framesRejected = Meter.CreateCounter<long>("frames_rejected", "{frame}", "Frames refused with ScoringBusy because the queue was full.");
        batchSize = Meter.CreateHistogram<int>("batch_size", "{frame}", "Frames per batch the device scored (of every product: one backbone pass).");
        batchDuration = Meter.CreateHistogram<double>("batch_duration", "s", "Time the device took for one batch.");
        frameLatency = Meter.CreateHistogram<double>("frame_latency", "s", "From a frame's arrival at its scorer to its answer: waiting plus scoring.");
        queuedFrames = Meter.CreateUpDownCounter<int>("queued_frames", "{frame}", "Frames waiting for a batch.");
        mapsSkipped = Meter.CreateCounter<long>("maps_skipped", "{frame}", "Frames that wanted an anomaly map but were answered without one, because Pipeline:Scoring:MaxQueuedMaps frames already waited for theirs.");
        Meter.CreateObservableGauge("model_serving", () => servingVersions.Select(serving =>
                new Measurement<int>(1, new KeyValuePair<string, object?>("device", serving.Key.Device), new KeyValuePair<string, object?>("product", serving.Key.Product),
                    new KeyValuePair<string, object?>("model.version", serving.Value))),
            "{model}", "1 for the model version of each product each device scores with now.");
    }

    public Meter Meter { get; }

    /// <summary>A batch of <paramref name="frames"/> frames (of every product in it) the device scored.</summary>
    internal void BatchScored(string device, int frames, TimeSpan duration)
    {
        var tags = new TagList { { "device", device } };
        batchSize.Record(frames, tags);
        batchDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary><paramref name="frames"/> frames of <paramref name="product"/> in one batch, scored by <paramref name="modelVersion"/>.</summary>
    internal void FramesScored(string device, string product, string modelVersion, int frames) =>
        framesScored.Add(frames, new TagList { { "device", device }, { "product", product }, { "model.version", modelVersion } });

    internal void ModelServing(string device, string product, string modelVersion) => servingVersions[(device, product)] = modelVersion;

    internal void FrameFailed(string device, ScoringFailureKind kind) =>
        framesFailed.Add(1, new TagList { { "device", device }, { "kind", kind.ToString() } });

    internal void MapSkipped(string device) => mapsSkipped.Add(1, new KeyValuePair<string, object?>("device", device));

    internal void FrameRejected(string device) => framesRejected.Add(1, new KeyValuePair<string, object?>("device", device));

    internal void FrameAnswered(string device, TimeSpan latency) =>
        frameLatency.Record(latency.TotalSeconds, new KeyValuePair<string, object?>("device", device));

    internal void QueueChanged(string device, int delta)
    {
        if (delta != 0) queuedFrames.Add(delta, new KeyValuePair<string, object?>("device", device));
    }

    public void Dispose()
    {
        if (ownsMeter) Meter.Dispose();
    }
}
