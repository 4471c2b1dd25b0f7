using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>
/// The operator console of a real training node over HTTP: who may see and who may label, the login link, the live
/// feed from the anomalies topic, frame images read back from the frames topic, labels on the labels topic.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ConsoleRoutesTests(ConsoleNode node) : IClassFixture<ConsoleNode>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static InspectionResult Anomaly(string frameId, TopicPartitionOffset at, string camera = "camera-1") => new()
    {
        FrameId = frameId, CameraId = camera, Score = 3.5, Threshold = 1.2, Verdict = InspectionVerdict.Anomalous, ModelVersion = "v1",
        CapturedAt = DateTimeOffset.UtcNow, IngestedAt = DateTimeOffset.UtcNow, ScoredAt = DateTimeOffset.UtcNow,
        SourcePartition = at.Partition.Value, SourceOffset = at.Offset.Value,
    };

    private static StringContent Label(string frameId, string label) =>
        new(JsonSerializer.Serialize(new { frame_id = frameId, camera_id = "camera-1", label }), System.Text.Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("GET", "/console/state")]
    [InlineData("GET", "/console/events")]
    [InlineData("GET", "/console/health")]
    [InlineData("GET", "/console/frames/0/0?frame_id=x")]
    [InlineData("GET", "/console/maps/x")]
    [InlineData("POST", "/console/labels")]
    public async Task Without_credentials_the_console_answers_401(string method, string path)
    {
        using var http = node.Client();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("this needs a bearer token", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_a_login_the_page_is_a_401_page_that_says_how_to_log_in()
    {
        using var http = node.Client();

        using var response = await http.GetAsync("/");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("login link", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_login_link_keeps_the_token_in_an_HttpOnly_SameSite_Strict_cookie_and_sends_the_browser_to_the_page_without_it()
    {
        var cookies = new CookieContainer();
        using var http = node.Client(cookies: cookies);
        var token = node.Token(AccessRoles.Viewer);

        using var login = await http.GetAsync($"/?token={token}");

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/", login.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("pipeline_token=", setCookie);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Inspection console</title>", await page.Content.ReadAsStringAsync());
        using var state = await http.GetAsync("/console/state");
        Assert.Equal(HttpStatusCode.OK, state.StatusCode);
    }

    [Fact]
    public async Task A_login_link_with_a_token_signed_by_another_key_sets_no_cookie()
    {
        using var folder = new TempFolder();
        var stranger = Pipeline.Host.Security.SigningKeys.Generate(Path.Combine(folder.Path, "other"));
        var forged = Pipeline.Host.Security.AccessTokens.Issue(stranger, AccessRoles.Operator, "mallory", TimeSpan.FromMinutes(5), HttpAuthOptions.DefaultIssuer, HttpAuthOptions.DefaultIssuer);
        using var http = node.Client(cookies: new CookieContainer());

        using var login = await http.GetAsync($"/?token={forged}");

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_viewer_may_not_label_with_a_bearer_token_or_with_the_login_cookie()
    {
        using var bearer = node.Client(node.Token(AccessRoles.Viewer));
        var cookies = new CookieContainer();
        using var browser = node.Client(cookies: cookies);
        (await browser.GetAsync($"/?token={node.Token(AccessRoles.Viewer)}")).Dispose();

        foreach (var http in new[] { bearer, browser })
        {
            using var response = await http.PostAsync("/console/labels", Label("any", "good"));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("this needs a token with role operator; this token's role is viewer", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task An_anomaly_on_the_topic_is_pushed_to_a_listening_page_and_its_image_is_read_back_from_the_frames_topic()
    {
        using var http = node.Client(node.Token(AccessRoles.Viewer));
        using var events = await http.GetAsync("/console/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        using var stream = new StreamReader(await events.Content.ReadAsStreamAsync());
        Assert.Equal("event: snapshot", await stream.ReadLineAsync());

        var image = new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4 };
        var at = await node.SendFrameAsync("pushed-1", "camera-1", image);
        await node.PublishResultAsync(Anomaly("pushed-1", at));

        using (var patience = new CancellationTokenSource(Patience))
        {
            string? line;
            do line = await stream.ReadLineAsync(patience.Token);
            while (line is not null && line != "event: anomaly");
            var data = await stream.ReadLineAsync(patience.Token);
            Assert.StartsWith("data: ", data);
            using var anomaly = JsonDocument.Parse(data!["data: ".Length..]);
            Assert.Equal("pushed-1", anomaly.RootElement.GetProperty("frame_id").GetString());
            Assert.Equal(at.Offset.Value, anomaly.RootElement.GetProperty("source_offset").GetInt64());
        }

        using var frame = await http.GetAsync($"/console/frames/{at.Partition.Value}/{at.Offset.Value}?frame_id=pushed-1");
        Assert.Equal(HttpStatusCode.OK, frame.StatusCode);
        Assert.Equal("image/png", frame.Content.Headers.ContentType?.MediaType);
        Assert.Equal(image, await frame.Content.ReadAsByteArrayAsync());
        using var other = await http.GetAsync($"/console/frames/{at.Partition.Value}/{at.Offset.Value}?frame_id=someone-else");
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
    }

    [Fact]
    public async Task A_frames_anomaly_map_from_its_topic_is_served_to_a_viewer_and_an_unknown_one_is_404()
    {
        using var http = node.Client(node.Token(AccessRoles.Viewer));
        var png = AnomalyMapImages.ToGrayscalePng(new AnomalyMap(2, 2, [0, 1, 0.5f, 0]), 8, new FrameSize(16, 16));

        await node.PublishMapAsync("camera-1", "mapped-1", png, peak: 1, regionLevel: 0.5);

        await TestNodes.WaitUntilAsync(async () => (await http.GetAsync("/console/maps/mapped-1")).IsSuccessStatusCode, Patience,
            () => Task.FromResult("the console never served the map published for frame mapped-1"));
        using var map = await http.GetAsync("/console/maps/mapped-1");
        Assert.Equal("image/png", map.Content.Headers.ContentType?.MediaType);
        Assert.Equal(png, await map.Content.ReadAsByteArrayAsync());
        using var unknown = await http.GetAsync("/console/maps/never-mapped");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no anomaly map of frame never-mapped", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_operators_false_alarm_click_puts_a_good_label_for_the_frame_on_the_labels_topic_keyed_by_its_camera_naming_its_product()
    {
        var at = await node.SendFrameAsync("labelled-1", "camera-7", [1, 2, 3]);
        await node.PublishResultAsync(Anomaly("labelled-1", at, camera: "camera-7") with { Product = "bracket-a" });
        using var http = node.Client(node.Token(AccessRoles.Operator));
        await TestNodes.WaitUntilAsync(async () => (await http.GetStringAsync("/console/state")).Contains("labelled-1"), Patience, () => http.GetStringAsync("/console/state"));

        using var response = await http.PostAsync("/console/labels", Label("labelled-1", "good"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var consumer = KafkaClients.CreateConsumer(node.ClientOptions($"labels-reader-{Guid.NewGuid():N}"));
        consumer.Subscribe(node.Topics.Labels);
        var deadline = DateTime.UtcNow + Patience;
        ConsumeResult<string, byte[]>? found = null;
        while (found is null && DateTime.UtcNow < deadline)
        {
            var message = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (message?.Message is not null && InspectionEvents.DeserializeLabelFeedback(message.Message.Value).FrameId == "labelled-1") found = message;
        }
        consumer.Close();
        Assert.NotNull(found);
        Assert.Equal("camera-7", found.Message.Key); // the camera the console saw, not the one the request named
        var label = InspectionEvents.DeserializeLabelFeedback(found.Message.Value);
        Assert.Equal((FrameLabel.Good, "bracket-a"), (label.Label, label.Product)); // the product its result named
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(found.Offset.Value, answer.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task The_health_page_lists_this_node_with_its_roles_and_the_frames_lag()
    {
        using var http = node.Client(node.Token(AccessRoles.Viewer));

        using var health = JsonDocument.Parse(await http.GetStringAsync("/console/health"));

        var member = Assert.Single(health.RootElement.GetProperty("members").EnumerateArray());
        Assert.True(member.GetProperty("is_this_node").GetBoolean());
        Assert.Contains("training", member.GetProperty("roles").EnumerateArray().Select(role => role.GetString()));
        Assert.Equal(2, health.RootElement.GetProperty("frames_lag").GetArrayLength());
    }
}
