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
/// <para>
/// Per-frame instruments carry a <c>product</c> label wherever the frame's product is known (every frame whose headers
/// were read; not a dead letter refused for its headers): <c>default</c> in a deployment that configures no product.
/// </para>
/// </remarks>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Pipeline.Ingest";

    /// <summary>The label naming the frame's product.</summary>
    public const string ProductTag = "product";

    private readonly bool ownsMeter;
    private readonly Totals framesConsumed = new();
    private readonly Totals framesDeadLettered = new("reason", ProductTag);
    private readonly Totals resultsPublished = new("verdict", ProductTag);
    private readonly Totals anomalies = new("camera", ProductTag);
    private readonly Totals scoringRetries = new("cause", ProductTag);
    private readonly Histogram<double> endToEndLatency;
    private readonly Lock gate = new();
    private readonly Dictionary<object, Func<(int InFlight, long Lag)>> sources = [];

    /// <param name="meterFactory">The host's factory (dependency injection); without one the meter is created and owned here.</param>
    public IngestMetrics(IMeterFactory? meterFactory = null)
    {
        ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        Meter.CreateObservableCounter("frames_consumed", framesConsumed.Measurements, "{frame}", "Frames read from the frames topic.");
        Meter.CreateObservableCounter("frames_dead_lettered", framesDeadLettered.Measurements, "{frame}", "Frames sent to the dead-letter topic (acknowledged by Kafka), by reason and product.");
        Meter.CreateObservableCounter("results_published", resultsPublished.Measurements, "{frame}", "Results acknowledged by Kafka, by verdict and product.");
        Meter.CreateObservableCounter("anomalies", anomalies.Measurements, "{frame}", "Anomalous results acknowledged by Kafka, by camera and product.");
        Meter.CreateObservableCounter("scoring_retries", scoringRetries.Measurements, "{frame}", "Frames sent to scoring again, by cause and product.");
        endToEndLatency = Meter.CreateHistogram<double>("end_to_end_latency", "s", "From a frame's captured-at to its result acknowledged by Kafka, by product.");
        Meter.CreateObservableGauge("frames_in_flight", () => Sum(source => source.InFlight), "{frame}", "Frames read and not yet done (result or dead letter acknowledged).");
        Meter.CreateObservableGauge("consumer_lag", () => Sum(source => source.Lag), "{message}", "Messages in the assigned partitions of the frames topic not yet read (high watermark minus position).");
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

    internal void FrameConsumed() => framesConsumed.Add();

    /// <param name="product">The frame's product; null when its headers were refused before it was known.</param>
    internal void FrameDeadLettered(string reason, string? product) => framesDeadLettered.Add(reason, product);

    internal void ScoringRetried(string cause, string product) => scoringRetries.Add(cause, product);

    internal void ResultPublished(InspectionResult result, DateTimeOffset acknowledgedAt)
    {
        resultsPublished.Add(result.Verdict == InspectionVerdict.Anomalous ? "anomalous" : "good", result.Product);
        if (result.Verdict == InspectionVerdict.Anomalous) anomalies.Add(result.CameraId, result.Product);
        endToEndLatency.Record(Math.Max(0, (acknowledgedAt - result.CapturedAt).TotalSeconds), new KeyValuePair<string, object?>(ProductTag, result.Product));
    }

    private long Sum(Func<(int InFlight, long Lag), long> select)
    {
        lock (gate) return sources.Values.Sum(source => select(source()));
    }

    public void Dispose()
    {
        if (ownsMeter) Meter.Dispose();
    }

    /// <summary>
    /// A running total per combination of its tags' values (or one total without tags), reported whole; a tag whose
    /// value is null is left out of that series.
    /// </summary>
    private sealed class Totals(params string[] tags)
    {
        private readonly ConcurrentDictionary<Series, long> counts = new();

        public void Add(params string?[] values)
        {
            if (values.Length != tags.Length) throw new ArgumentException($"{tags.Length} tag values expected ({string.Join(", ", tags)}), not {values.Length}.", nameof(values));
            counts.AddOrUpdate(new Series(values), 1, (_, count) => count + 1);
        }

        public IEnumerable<Measurement<long>> Measurements() => counts.Select(entry => new Measurement<long>(entry.Value,
            tags.Select((tag, i) => (tag, value: entry.Key.Values[i])).Where(pair => pair.value is not null)
                .Select(pair => new KeyValuePair<string, object?>(pair.tag, pair.value)).ToArray()));

        /// <summary>The tag values of one series, compared by value.</summary>
        private sealed class Series(string?[] values) : IEquatable<Series>
        {
            public string?[] Values { get; } = values;

            public bool Equals(Series? other) => other is not null && Values.SequenceEqual(other.Values, StringComparer.Ordinal);

            public override bool Equals(object? obj) => Equals(obj as Series);

            public override int GetHashCode()
            {
                var hash = new HashCode();
                foreach (var value in Values) hash.Add(value, StringComparer.Ordinal);
                return hash.ToHashCode();
            }
        }
    }

    private sealed class Unregistration(Action undo) : IDisposable
    {
        private Action? undo = undo;

        public void Dispose() => Interlocked.Exchange(ref undo, null)?.Invoke();
    }
}
