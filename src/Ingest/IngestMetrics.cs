using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Pipeline.Shared.Kafka;

namespace Pipeline.Ingest;

/// <summary>
/// Ingest's instruments on the meter <see cref="MeterName"/> (exported on <c>/metrics</c> as <c>pipeline_ingest_*</c>).
/// One instance per process; safe to use from the consuming thread, the actor and the producer's delivery thread at once.
/// </summary>
/// <remarks>
/// The counters are observable counters over totals kept here, reported whole at every collection, not increments:
/// an exporter that drops a series nobody updated for a while (prometheus-net unpublishes them after
/// <c>MetricsExpireAfter</c>, 5 minutes by default) would otherwise start it again from 0 at the next increment and
/// lose every count before it. A total reported whole cannot lose one.
/// </remarks>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Pipeline.Ingest";

    private readonly bool ownsMeter;
    private readonly Totals framesConsumed = new(null);
    private readonly Totals framesDeadLettered = new("reason");
    private readonly Totals resultsPublished = new("verdict");
    private readonly Totals anomalies = new("camera");
    private readonly Totals scoringRetries = new("cause");
    private readonly Histogram<double> endToEndLatency;
    private readonly Lock gate = new();
    private readonly Dictionary<object, Func<(int InFlight, long Lag)>> sources = [];

    /// <param name="meterFactory">The host's factory (dependency injection); without one the meter is created and owned here.</param>
    public IngestMetrics(IMeterFactory? meterFactory = null)
    {
        ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        Meter.CreateObservableCounter("pipeline.ingest.frames_consumed", framesConsumed.Measurements, "{frame}", "Frames read from the frames topic.");
        Meter.CreateObservableCounter("pipeline.ingest.frames_dead_lettered", framesDeadLettered.Measurements, "{frame}", "Frames sent to the dead-letter topic (acknowledged by Kafka), by reason.");
        Meter.CreateObservableCounter("pipeline.ingest.results_published", resultsPublished.Measurements, "{frame}", "Results acknowledged by Kafka, by verdict.");
        Meter.CreateObservableCounter("pipeline.ingest.anomalies", anomalies.Measurements, "{frame}", "Anomalous results acknowledged by Kafka, by camera.");
        Meter.CreateObservableCounter("pipeline.ingest.scoring_retries", scoringRetries.Measurements, "{frame}", "Frames sent to scoring again, by cause.");
        endToEndLatency = Meter.CreateHistogram<double>("pipeline.ingest.end_to_end_latency", "s", "From a frame's captured-at to its result acknowledged by Kafka.");
        Meter.CreateObservableGauge("pipeline.ingest.frames_in_flight", () => Sum(source => source.InFlight), "{frame}", "Frames read and not yet done (result or dead letter acknowledged).");
        Meter.CreateObservableGauge("pipeline.ingest.consumer_lag", () => Sum(source => source.Lag), "{message}", "Messages in the assigned partitions of the frames topic not yet read (high watermark minus position).");
    }

    public Meter Meter { get; }

    /// <summary>Adds a consumer whose in-flight frames and lag the gauges report until the returned handle is disposed.</summary>
    internal IDisposable Observe(Func<(int InFlight, long Lag)> source)
    {
        var key = new object();
        lock (gate) sources[key] = source;
        return new Unregistration(() =>
        {
            lock (gate) sources.Remove(key);
        });
    }

    internal void FrameConsumed() => framesConsumed.Add("");

    internal void FrameDeadLettered(string reason) => framesDeadLettered.Add(reason);

    internal void ScoringRetried(string cause) => scoringRetries.Add(cause);

    internal void ResultPublished(InspectionResult result, DateTimeOffset acknowledgedAt)
    {
        resultsPublished.Add(result.Verdict == InspectionVerdict.Anomalous ? "anomalous" : "good");
        if (result.Verdict == InspectionVerdict.Anomalous) anomalies.Add(result.CameraId);
        endToEndLatency.Record(Math.Max(0, (acknowledgedAt - result.CapturedAt).TotalSeconds));
    }

    private long Sum(Func<(int InFlight, long Lag), long> select)
    {
        lock (gate) return sources.Values.Sum(source => select(source()));
    }

    public void Dispose()
    {
        if (ownsMeter) Meter.Dispose();
    }

    /// <summary>A running total per value of one tag (or one total without a tag), reported whole.</summary>
    private sealed class Totals(string? tag)
    {
        private readonly ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);

        public void Add(string value) => counts.AddOrUpdate(value, 1, (_, count) => count + 1);

        public IEnumerable<Measurement<long>> Measurements() => counts.Select(entry => tag is null
            ? new Measurement<long>(entry.Value)
            : new Measurement<long>(entry.Value, new KeyValuePair<string, object?>(tag, entry.Key)));
    }

    private sealed class Unregistration(Action undo) : IDisposable
    {
        private Action? undo = undo;

        public void Dispose() => Interlocked.Exchange(ref undo, null)?.Invoke();
    }
}
