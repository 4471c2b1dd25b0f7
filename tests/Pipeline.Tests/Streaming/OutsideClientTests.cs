using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Streaming;

/// <summary>
/// What the pipeline writes is read by a Kafka client that is not librdkafka (kafkajs, with only its built-in codecs)
/// and holds to docs/events.md: keys, headers, JSON fields and types, schema version, dead letters as they came.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OutsideClientTests(StreamingRigFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly StreamingRig rig = fixture.Rig;

    [Fact]
    public async Task A_kafkajs_consumer_reads_results_anomalies_and_dead_letters_and_every_message_keeps_the_documented_contract()
    {
        await OutsideClient.AssertInstalledAsync();
        var contract = EventsContract.Read();
        var line = rig.NewLine("outside");
        var port = TestNodes.FreePort();
        using var node = line.Node("inspection-outside", port, [ClusterRoles.Ingest, ClusterRoles.Scoring], [port]).Build();
        await node.StartAsync();
        using var watcher = line.Watch();
        try
        {
            var png = rig.Parts[0].Png;
            var sent = line.SendFrames(9, cameras: 3, corrupt: i => i == 4 ? png[..(png.Length / 2)] : null);
            var refused = new Dictionary<string, (Message<string, byte[]> Message, string Reason)>
            {
                ["f-0004"] = (FrameHeaders.CreateMessage(sent[4].Metadata, png[..(png.Length / 2)]), DeadLetterReasons.UndecodableImage),
                ["no-content-type"] = (Frame("no-content-type", "camera-1", png, without: FrameHeaderNames.ContentType), DeadLetterReasons.MissingHeader),
                ["odd-label"] = (Frame("odd-label", "camera-2", png, label: "maybe"), DeadLetterReasons.UnknownLabel),
                ["huge-camera"] = (Frame("huge-camera", new string('c', 100_000), png), DeadLetterReasons.InvalidHeader),
                ["odd-product"] = (Frame("odd-product", "camera-3", png, product: "Bracket A"), DeadLetterReasons.UnknownProduct),
            };
            foreach (var (id, (message, _)) in refused.Where(entry => entry.Key != "f-0004")) line.SendRaw(message);
            var good = sent.Where(frame => !frame.Corrupt).ToArray();

            Assert.True(await watcher.WaitUntilAsync(
                    w => w.DistinctResults == good.Length && w.DeadLetters.Count == refused.Count
                         && w.Anomalies.Count == w.Results.Count(result => result.Verdict == InspectionVerdict.Anomalous), Patience),
                $"{watcher.DistinctResults} of {good.Length} results, {watcher.Anomalies.Count} anomalies and {watcher.DeadLetters.Count} of {refused.Count} dead letters arrived");
            var counts = new Dictionary<string, int>
            {
                [line.Topics.Results] = watcher.Results.Count,
                [line.Topics.Anomalies] = watcher.Anomalies.Count,
                [line.Topics.DeadLetter] = watcher.DeadLetters.Count,
            };
            Assert.True(counts[line.Topics.Anomalies] > 0, "the rig's threshold should make some frames anomalous");

            var read = await OutsideClient.ReadAsync(rig.Kafka.BootstrapServers, counts, TimeSpan.FromSeconds(60));

            var results = read.Where(message => message.Topic == line.Topics.Results).ToArray();
            var anomalies = read.Where(message => message.Topic == line.Topics.Anomalies).ToArray();
            foreach (var message in results.Concat(anomalies)) CheckResult(contract, message, line.Topics.Anomalies);
            Assert.Equal(good.Select(frame => frame.Metadata.FrameId).Order(), results.Select(message => message.Header(FrameHeaderNames.FrameId)).Distinct().Order());
            var anomalousIds = results.Where(message => Field(message, "verdict").GetString() == "anomalous").Select(message => message.Header(FrameHeaderNames.FrameId)).ToHashSet();
            Assert.True(anomalousIds.SetEquals(anomalies.Select(message => message.Header(FrameHeaderNames.FrameId))),
                "the anomalies topic holds exactly the anomalous results");

            var deadLetters = read.Where(message => message.Topic == line.Topics.DeadLetter).ToArray();
            Assert.Equal(refused.Keys.Order(), deadLetters.Select(message => message.Header(FrameHeaderNames.FrameId)).Order());
            foreach (var letter in deadLetters)
            {
                var (original, reason) = refused[letter.Header(FrameHeaderNames.FrameId)!];
                CheckDeadLetter(contract, letter, original, reason, line.Topics.Frames);
            }
        }
        finally
        {
            await TestNodes.StopAllAsync(node);
        }
    }

    /// <summary>A result as docs/events.md has it: key the camera, headers frame-id and content-type, the documented JSON.</summary>
    private static void CheckResult(EventsContract contract, OutsideMessage message, string anomaliesTopic)
    {
        var where = $"{message.Topic}/{message.Partition}/{message.Offset}";
        Assert.NotNull(message.Value);
        using var json = JsonDocument.Parse(message.Value);
        var problems = contract.ResultProblems(json.RootElement);
        Assert.True(problems.Count == 0, $"{where}: {string.Join("; ", problems)}");
        var result = json.RootElement;
        Assert.Equal(result.GetProperty("camera_id").GetString(), message.Key);
        Assert.Equal(ProductName.Default, result.GetProperty("product").GetString()); // the rig configures no product
        Assert.Equal(result.GetProperty("frame_id").GetString(), message.Header(FrameHeaderNames.FrameId));
        Assert.Equal(InspectionEvents.JsonContentType, message.Header(FrameHeaderNames.ContentType));
        var anomalous = result.GetProperty("score").GetDouble() > result.GetProperty("threshold").GetDouble();
        Assert.Equal(anomalous ? "anomalous" : "good", result.GetProperty("verdict").GetString());
        if (message.Topic == anomaliesTopic) Assert.True(anomalous, $"{where} is on the anomalies topic but not anomalous");
        Assert.InRange(result.GetProperty("source_partition").GetInt32(), 0, StreamingRig.FramePartitions - 1);
    }

    /// <summary>
    /// A dead letter as docs/events.md has it: the frame's key, value and headers as they came, plus every documented
    /// dead-letter header, with a documented reason code.
    /// </summary>
    private static void CheckDeadLetter(EventsContract contract, OutsideMessage letter, Message<string, byte[]> original, string reason, string framesTopic)
    {
        var where = $"{letter.Topic}/{letter.Partition}/{letter.Offset}";
        var limits = FrameHeaderLimits.Default;
        // A key or header over its limit is left out; everything else is as it came.
        Assert.Equal(Encoding.UTF8.GetByteCount(original.Key) > limits.MaxIdBytes ? null : original.Key, letter.Key);
        Assert.Equal(original.Value, letter.Value);
        foreach (var header in original.Headers)
        {
            var value = Encoding.UTF8.GetString(header.GetValueBytes());
            var limit = header.Key is FrameHeaderNames.FrameId or FrameHeaderNames.CameraId ? limits.MaxIdBytes : limits.MaxHeaderBytes;
            Assert.Equal(header.GetValueBytes().Length > limit ? null : value, letter.Header(header.Key));
        }

        Assert.True(letter.Headers.Sum(header => header.Key.Length + header.Value.Sum(value => value?.Length ?? 0)) < 2000, $"{where} carries large headers");
        foreach (var name in contract.DeadLetterHeaders)
            Assert.False(string.IsNullOrWhiteSpace(letter.Header(name)), $"{where} lacks header {name}");
        Assert.Contains(letter.Header(DeadLetters.ReasonHeader), contract.ReasonCodes);
        Assert.Equal(reason, letter.Header(DeadLetters.ReasonHeader));
        Assert.Matches($"^{Regex.Escape(framesTopic)}/[0-9]+/[0-9]+$", letter.Header(DeadLetters.SourceHeader));
        var at = letter.Header(DeadLetters.AtHeader)!;
        Assert.True(ResultField.IsIso8601(at) && DateTimeOffset.Parse(at).Offset == TimeSpan.Zero, $"{where}: dead-letter-at '{at}' is not ISO 8601 UTC");
    }

    private static JsonElement Field(OutsideMessage message, string name)
    {
        using var json = JsonDocument.Parse(message.Value!);
        return json.RootElement.GetProperty(name).Clone();
    }

    private static Message<string, byte[]> Frame(string id, string camera, byte[] value, string? without = null, string? label = null, string? product = null)
    {
        var message = FrameHeaders.CreateMessage(new FrameMetadata(id, camera, DateTimeOffset.UtcNow, FrameContentTypes.Png), value);
        if (without is not null) message.Headers.Remove(without);
        if (label is not null) message.Headers.Add(FrameHeaderNames.Label, Encoding.UTF8.GetBytes(label));
        if (product is not null) message.Headers.Add(FrameHeaderNames.Product, Encoding.UTF8.GetBytes(product));
        return message;
    }
}
