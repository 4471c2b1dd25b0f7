using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Pipeline.Tests.Scoring;

/// <summary>Records every measurement of one meter's instruments (and of no other meter, so parallel tests do not mix).</summary>
internal sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> measurements = new();

    public MetricsRecorder(Meter meter)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
    }

    /// <summary>The values recorded by the instrument <paramref name="name"/>, with their tags, in order.</summary>
    public IReadOnlyList<(double Value, Dictionary<string, object?> Tags)> Of(string name) =>
        measurements.Where(m => m.Instrument == name).Select(m => (m.Value, m.Tags)).ToArray();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        measurements.Enqueue((instrument.Name, value, new Dictionary<string, object?>(tags.ToArray())));

    public void Dispose() => listener.Dispose();
}
