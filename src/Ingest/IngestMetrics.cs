using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pipeline.Shared.Kafka;

namespace Pipeline.Ingest;

/// <summary>
/// Ingest's instruments on the meter <see cref="MeterName"/> (exported on <c>/metrics</c> as <c>pipeline_ingest_*</c>).
/// One instance per process; safe to use from the consuming thread, the actor and the producer's delivery thread at once.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Pipeline.Ingest";

    private readonly bool ownsMeter;
    private readonly Counter<long> framesConsumed;
    private readonly Counter<long> framesDeadLettered;
    private readonly Counter<long> resultsPublished;
    private readonly Counter<long> anomalies;
    private readonly Counter<long> scoringRetries;
    private readonly Histogram<double> endToEndLatency;
    private readonly Lock gate = new();
    private readonly Dictionary<object, Func<(int InFlight, long Lag)>> sources = [];

    /// <param name="meterFactory">The host's factory (dependency injection); without one the meter is created and owned here.</param>
    public IngestMetrics(IMeterFactory? meterFactory = null)
    {
        ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        framesConsumed = Meter.CreateCounter<long>("pipeline.ingest.frames_consumed", "{frame}", "Frames read from the frames topic.");
        framesDeadLettered = Meter.CreateCounter<long>("pipeline.ingest.frames_dead_lettered", "{frame}", "Frames sent to the dead-letter topic, by reason.");
        resultsPublished = Meter.CreateCounter<long>("pipeline.ingest.results_published", "{frame}", "Results acknowledged by Kafka, by verdict.");
        anomalies = Meter.CreateCounter<long>("pipeline.ingest.anomalies", "{frame}", "Anomalous results acknowledged by Kafka, by camera.");
        scoringRetries = Meter.CreateCounter<long>("pipeline.ingest.scoring_retries", "{frame}", "Frames sent to scoring again, by cause.");
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

    internal void FrameConsumed() => framesConsumed.Add(1);

    internal void FrameDeadLettered(string reason) => framesDeadLettered.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal void ScoringRetried(string cause) => scoringRetries.Add(1, new KeyValuePair<string, object?>("cause", cause));

    internal void ResultPublished(InspectionResult result, DateTimeOffset acknowledgedAt)
    {
        resultsPublished.Add(1, new KeyValuePair<string, object?>("verdict", result.Verdict == InspectionVerdict.Anomalous ? "anomalous" : "good"));
        if (result.Verdict == InspectionVerdict.Anomalous) anomalies.Add(1, new KeyValuePair<string, object?>("camera", result.CameraId));
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

    private sealed class Unregistration(Action undo) : IDisposable
    {
        private Action? undo = undo;

        public void Dispose() => Interlocked.Exchange(ref undo, null)?.Invoke();
    }
}
