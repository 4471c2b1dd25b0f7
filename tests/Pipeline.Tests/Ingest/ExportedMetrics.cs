using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Prometheus;

namespace Pipeline.Tests.Ingest;

/// <summary>
/// One meter's instruments as <c>/metrics</c> exports them (prometheus-net's meter adapter, as in
/// <c>PipelineMetrics</c>), with a short <see cref="MeterAdapterOptions.MetricsExpireAfter"/>, so that a test can let
/// the exporter drop series nobody updated (it does so after 5 minutes in production) without waiting minutes.
/// </summary>
internal sealed partial class ExportedMetrics : IDisposable
{
    private readonly CollectorRegistry registry = Metrics.NewCustomRegistry();
    private readonly Meter sentinelMeter = new("Pipeline.Tests.Sentinel");
    private readonly Counter<long> sentinel;
    private readonly IDisposable adapter;

    public ExportedMetrics(Meter meter, TimeSpan expireAfter)
    {
        sentinel = sentinelMeter.CreateCounter<long>("marks");
        adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = registry,
            MetricFactory = Metrics.WithCustomRegistry(registry),
            MetricsExpireAfter = expireAfter,
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter, meter) || ReferenceEquals(instrument.Meter, sentinelMeter),
        });
    }

    /// <summary>
    /// The values of the exported series <paramref name="name"/> by the value of label <paramref name="label"/>, as a
    /// scrape sees them now, summed over their other labels (<c>product</c>, say).
    /// </summary>
    public async Task<Dictionary<string, double>> ScrapeAsync(string name, string label) =>
        (await ScrapeSeriesAsync(name)).Where(series => series.Labels.ContainsKey(label)).GroupBy(series => series.Labels[label])
            .ToDictionary(group => group.Key, group => group.Sum(series => series.Value));

    /// <summary>Every exported series <paramref name="name"/>: its labels and its value, as a scrape sees them now.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> ScrapeSeriesAsync(string name)
    {
        var series = new Regex($"^{Regex.Escape(name)}\\{{([^}}]*)\\}} (\\S+)$", RegexOptions.Multiline);
        var labels = new Regex("([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\"");
        return series.Matches(await ExportAsync())
            .Select(match => ((IReadOnlyDictionary<string, string>)labels.Matches(match.Groups[1].Value).ToDictionary(label => label.Groups[1].Value, label => label.Groups[2].Value),
                double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToArray();
    }

    /// <summary>
    /// Waits until the exporter has dropped a (labelled) series last updated now: from then on, every series not updated since
    /// this call has been idle longer than the expiry.
    /// </summary>
    public async Task AwaitExpiryAsync(TimeSpan patience)
    {
        sentinel.Add(1, new KeyValuePair<string, object?>("mark", "expiry"));
        var deadline = DateTime.UtcNow + patience;
        while ((await ExportAsync()).Contains("\npipeline_tests_sentinel_marks{mark=\"expiry\"} ", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the exporter did not drop an idle series within {patience.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        adapter.Dispose();
        sentinelMeter.Dispose();
    }

    private async Task<string> ExportAsync()
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return "\n" + Encoding.UTF8.GetString(stream.ToArray());
    }
}
