using System.Net.Http.Headers;
using System.Text.Json;
using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>
/// The operator console of <c>pipeline demo --stay</c> in a real browser (chromium, headless, driven by playwright-core):
/// what a person on the line sees and does, checked on the topics with the test's own Kafka clients.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class ConsoleBrowserTests(StayingDemo demo) : IClassFixture<StayingDemo>
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task In_a_browser_the_demos_console_shows_anomalies_with_images_labels_them_refuses_a_viewer_and_swaps_the_serving_version()
    {
        ConsoleBrowser.AssertInstalled();
        using var scratch = new TempFolder();
        // PIPELINE_CONSOLE_SCREENSHOTS=docs/console keeps them for the docs.
        var screenshots = Environment.GetEnvironmentVariable("PIPELINE_CONSOLE_SCREENSHOTS") is { Length: > 0 } keep ? Directory.CreateDirectory(keep).FullName : scratch.Path;
        var seen = await ConsoleBrowser.RunAsync(["--operator-url", demo.OperatorUrl, "--viewer-url", demo.ViewerUrl, "--screenshots", screenshots], Patience);

        Assert.DoesNotContain("token=", seen.GetProperty("address_after_login").GetString());
        var cookie = Assert.Single(seen.GetProperty("cookie").EnumerateArray());
        Assert.True(cookie.GetProperty("http_only").GetBoolean());
        Assert.Equal("Strict", cookie.GetProperty("same_site").GetString());
        Assert.True(seen.GetProperty("anomaly_with_image").GetProperty("width").GetInt32() > 0, seen.ToString());
        // An anomaly's map over its image: painted, with a box for every region of its result (an anomalous frame has one at least).
        var map = seen.GetProperty("map_drawn");
        Assert.True(map.GetProperty("painted_pixels").GetInt32() > 0, map.ToString());
        Assert.True(map.GetProperty("regions_in_result").GetInt32() >= 1, map.ToString());
        Assert.Equal(map.GetProperty("regions_in_result").GetInt32(), map.GetProperty("region_boxes").GetInt32());
        Assert.Equal("default", map.GetProperty("product").GetString());
        var labelled = seen.GetProperty("labelled").GetProperty("frame_id").GetString()!;
        Assert.StartsWith("sent:", seen.GetProperty("labelled").GetProperty("said").GetString());
        Assert.Equal(0, seen.GetProperty("viewer_label_buttons_enabled").GetInt32());
        Assert.Equal(403, seen.GetProperty("viewer_label_status").GetInt32());
        Assert.Equal(403, seen.GetProperty("viewer_promote_status").GetInt32());
        Assert.Equal(403, seen.GetProperty("viewer_rollback_status").GetInt32());
        Assert.Equal(401, seen.GetProperty("anonymous_state_status").GetInt32());
        Assert.Equal(401, seen.GetProperty("anonymous_page_status").GetInt32());
        foreach (var page in new[] { "live", "review", "models", "health" })
            Assert.True(File.Exists(Path.Combine(screenshots, $"console-{page}.png")), $"no screenshot of the {page} page");

        var kafka = demo.Kafka;
        var label = Assert.Single(Read(kafka, kafka.Topics.Labels, message => InspectionEvents.DeserializeLabelFeedback(message.Value), feedback => feedback.FrameId == labelled));
        Assert.Equal(FrameLabel.Good, label.Label);

        // The refits made a newer version current during the stream; a rollback from the page puts the one before it back
        // on the scoring node, and promoting the newer one takes it back: a frame sent after each is scored by that version.
        var image = await AnImageAsync(demo);
        var rolledBack = await ConsoleBrowser.RunAsync(["--operator-url", demo.OperatorUrl, "--swap", "rollback", "--screenshots", screenshots], Patience);
        var (older, newer) = (rolledBack.GetProperty("current").GetString()!, rolledBack.GetProperty("was").GetString()!);
        Assert.NotEqual(newer, older);
        Assert.Contains("Roll back to the previous version of default?", rolledBack.GetProperty("dialogs")[0].GetString());
        Assert.Equal(older, await ScoredByAsync(kafka, "after-rollback", image, demo.Process));
        var promoted = await ConsoleBrowser.RunAsync(["--operator-url", demo.OperatorUrl, "--swap", $"promote:{newer}"], Patience);
        Assert.Equal(newer, promoted.GetProperty("current").GetString());
        Assert.Equal(newer, await ScoredByAsync(kafka, "after-promote", image, demo.Process));
    }

    [Fact]
    public async Task Every_metric_the_Grafana_dashboard_queries_is_on_the_demo_nodes_metrics()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy.DeployFiles.RepositoryRoot, "deploy", "grafana", "inspection-pipeline.json")));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target => (Panel: panel.GetProperty("title").GetString(), Expr: target.GetProperty("expr").GetString()!)))
            .ToArray();
        using var http = new HttpClient { BaseAddress = new Uri(demo.Origin) };

        var exported = (await http.GetStringAsync("/metrics")).Split('\n').Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line[..line.IndexOfAny(['{', ' '])]).ToHashSet(StringComparer.Ordinal);

        Assert.True(queries.Length >= 10, $"the dashboard has {queries.Length} queries");
        var missing = queries.SelectMany(query => MetricName().Matches(query.Expr).Select(match => (query.Panel, Metric: match.Value)))
            .Where(use => !exported.Contains(use.Metric)).Distinct().ToArray();
        Assert.True(missing.Length == 0, "the dashboard queries metrics the node does not export: " + string.Join(", ", missing.Select(use => $"{use.Metric} ({use.Panel})")));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(pipeline|process|dotnet)_[a-z0-9_]+\b")]
    private static partial System.Text.RegularExpressions.Regex MetricName();

    /// <summary>An image the demo's cameras sent, read back through the console (with the operator's token from the link).</summary>
    private static async Task<byte[]> AnImageAsync(StayingDemo demo)
    {
        using var http = new HttpClient { BaseAddress = new Uri(demo.Origin) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", demo.OperatorToken);
        using var state = JsonDocument.Parse(await http.GetStringAsync("/console/state"));
        var anomaly = state.RootElement.GetProperty("anomalies").EnumerateArray().First();
        return await http.GetByteArrayAsync($"/console/frames/{anomaly.GetProperty("source_partition").GetInt32()}/{anomaly.GetProperty("source_offset").GetInt64()}?frame_id={anomaly.GetProperty("frame_id").GetString()}");
    }

    /// <summary>Sends <paramref name="image"/> as a new frame and answers the model version in its result.</summary>
    private static async Task<string> ScoredByAsync(KafkaOptions kafka, string frameId, byte[] image, DemoProcess demo)
    {
        using (var producer = KafkaClients.CreateProducer(kafka, "browser-test-camera", PipelineTopic.Frames))
            await producer.ProduceAsync(kafka.Topics.Frames, FrameHeaders.CreateMessage(new FrameMetadata(frameId, "camera-1", DateTimeOffset.UtcNow, FrameContentTypes.Png, null), image));
        var results = Read(kafka.WithConsumerGroup($"results-{Guid.NewGuid():N}"), kafka.Topics.Results,
            message => InspectionEvents.DeserializeInspectionResult(message.Value), result => result.FrameId == frameId);
        Assert.True(results.Count > 0, $"no result for frame {frameId} within {Patience.TotalSeconds:0} s; the demo said last:\n{string.Join('\n', demo.Output.Split('\n').TakeLast(60))}");
        return Assert.Single(results.Select(result => result.ModelVersion).Distinct()); // a re-delivery is scored by the same version

    }

    /// <summary>Reads <paramref name="topic"/> from its beginning until a message matches (or the patience runs out).</summary>
    private static IReadOnlyList<T> Read<T>(KafkaOptions kafka, string topic, Func<Message<string, byte[]>, T> parse, Func<T, bool> wanted)
    {
        using var consumer = KafkaClients.CreateConsumer(kafka);
        consumer.Subscribe(topic);
        var found = new List<T>();
        var deadline = DateTime.UtcNow + Patience;
        while (found.Count == 0 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: { } message } && parse(message) is var item && wanted(item)) found.Add(item);
        }
        // Whatever else is there already (a repeat of the same frame would show here).
        while (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { Message: { } more }) if (parse(more) is var item && wanted(item)) found.Add(item);
        consumer.Close();
        return found;
    }
}
