using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Streaming;

/// <summary>
/// Frames in through Kafka (librdkafka's mock cluster), through real nodes (ingest, scoring with a tiny real model),
/// outcomes out through Kafka, read back the way a downstream service reads them.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StreamingEndToEndTests(StreamingRigFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly string[] AllRoles = [ClusterRoles.Ingest, ClusterRoles.Scoring];
    private readonly StreamingRig rig = fixture.Rig;

    [Fact]
    public async Task Every_frame_gets_one_result_anomalies_are_among_them_and_bad_frames_go_to_the_dead_letter_topic()
    {
        var line = rig.NewLine("e2e");
        var port = TestNodes.FreePort();
        using var node = line.Node("inspection-e2e", port, AllRoles, [port]).Build();
        await node.StartAsync();
        using var watcher = line.Watch();
        try
        {
            var png = rig.Parts[0].Png;
            var sent = line.SendFrames(24, cameras: 3, corrupt: i => i switch
            {
                5 => png[..(png.Length / 2)], // cut off mid-image
                9 => Encoding.UTF8.GetBytes("this is not an image"),
                _ => null,
            });
            var headerless = FrameHeaders.CreateMessage(new FrameMetadata("no-content-type", "camera-0", DateTimeOffset.UtcNow, FrameContentTypes.Png), png);
            headerless.Headers.Remove(FrameHeaderNames.ContentType);
            line.SendRaw(headerless);

            var good = sent.Where(frame => !frame.Corrupt).ToArray();
            Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults == good.Length && w.DeadLetters.Count == 3, Patience),
                $"{watcher.DistinctResults} of {good.Length} results and {watcher.DeadLetters.Count} of 3 dead letters arrived within {Patience.TotalSeconds} s");

            var results = watcher.Results;
            Assert.Equal(good.Select(frame => frame.Metadata.FrameId).Order(), results.Select(result => result.FrameId).Distinct().Order());
            Assert.All(results, result => Assert.Equal("tiny-1", result.ModelVersion));

            // Streaming scores are the offline scores (decode, prepare, score) of the same images.
            var partOf = good.ToDictionary(frame => frame.Metadata.FrameId, frame => frame.PartIndex);
            var partOfCamera = good.ToDictionary(frame => frame.Metadata.FrameId, frame => frame.Metadata.CameraId);
            Assert.All(results, result => Assert.Equal(rig.OfflineScores[partOf[result.FrameId]], result.Score, 1e-4 * Math.Max(1, Math.Abs(result.Score))));

            // The anomalies topic holds exactly the results over the threshold, and some are.
            var anomalous = results.Where(result => result.Verdict == InspectionVerdict.Anomalous).Select(result => result.FrameId).ToHashSet();
            Assert.True(await watcher.WaitUntilAsync(w => w.Anomalies.Select(a => a.FrameId).ToHashSet().SetEquals(anomalous), TimeSpan.FromSeconds(10)));
            Assert.NotEmpty(anomalous);
            Assert.True(anomalous.Count < good.Length, "the threshold splits the parts: some results must be good");
            Assert.All(watcher.Anomalies, anomaly => Assert.True(anomaly.Score > anomaly.Threshold));

            // Each anomaly carries regions, and the maps topic holds one map per anomalous frame, under its frame id.
            Assert.All(watcher.Anomalies, anomaly => Assert.NotEmpty(anomaly.Regions!));
            Assert.All(results.Where(result => result.Verdict == InspectionVerdict.Good), result => Assert.Null(result.Regions));
            Assert.True(await watcher.WaitUntilAsync(w => w.Maps.Count >= anomalous.Count, TimeSpan.FromSeconds(10)), $"{watcher.Maps.Count} maps for {anomalous.Count} anomalies");
            Assert.Equal(anomalous.Order(), watcher.Maps.Select(map => map.FrameId!).Order());
            Assert.All(watcher.Maps, map => Assert.Equal(partOfCamera[map.FrameId!], map.CameraId));
            var mapImage = Shared.Imaging.ImageDecoder.Decode(watcher.Maps[0].Png, "map");
            Assert.Equal(64, Math.Max(mapImage.Width, mapImage.Height));

            // Each camera's results come in the order its frames were sent.
            foreach (var camera in results.GroupBy(result => result.CameraId))
                Assert.Equal(camera.Select(result => result.FrameId).Order(StringComparer.Ordinal), camera.Select(result => result.FrameId));

            var deadLetters = watcher.DeadLetters.ToDictionary(letter => letter.FrameId ?? "?");
            Assert.Equal(DeadLetterReasons.UndecodableImage, deadLetters["f-0005"].Reason);
            Assert.Contains("f-0005", deadLetters["f-0005"].Detail, StringComparison.Ordinal);
            Assert.Equal(DeadLetterReasons.UndecodableImage, deadLetters["f-0009"].Reason);
            Assert.Equal(DeadLetterReasons.MissingHeader, deadLetters["no-content-type"].Reason);
            Assert.Contains(FrameHeaderNames.ContentType, deadLetters["no-content-type"].Detail, StringComparison.Ordinal);
        }
        finally
        {
            await TestNodes.StopAllAsync(node);
        }
    }

    [Fact]
    public async Task A_node_stopped_mid_stream_loses_no_frame_its_successor_finishes_the_stream()
    {
        var line = rig.NewLine("restart");
        var sent = line.SendFrames(40, cameras: 4);
        using var watcher = line.Watch();

        var firstPort = TestNodes.FreePort();
        var first = line.Node("inspection-first", firstPort, AllRoles, [firstPort], new Dictionary<string, string?>
        {
            // Four frames in flight that wait 2 s for a batch to fill: when the node stops, some are always read
            // and not yet published, and the stream is far from done.
            ["Pipeline:Ingest:MaxInFlightFrames"] = "4",
            ["Pipeline:Scoring:MaxWaitMilliseconds"] = "2000",
        }).Build();
        await first.StartAsync();
        Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults >= 5, Patience), "the first node published nothing");
        await TestNodes.StopAllAsync(first);
        var doneByFirst = watcher.DistinctResults;
        Assert.True(doneByFirst < sent.Count, $"the first node finished all {sent.Count} frames before it was stopped; nothing was left to its successor");

        var secondPort = TestNodes.FreePort();
        using var second = line.Node("inspection-second", secondPort, AllRoles, [secondPort]).Build();
        await second.StartAsync();
        try
        {
            Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults == sent.Count, Patience),
                $"{watcher.DistinctResults} of {sent.Count} frames have a result ({doneByFirst} before the restart)");
            Assert.Equal(sent.Select(frame => frame.Metadata.FrameId).Order(), watcher.Results.Select(result => result.FrameId).Distinct().Order());
            Assert.Empty(watcher.DeadLetters);
            // No map is lost either: every anomalous frame's map is on the maps topic (at least once), with its frame id.
            var anomalous = watcher.Results.Where(result => result.Verdict == InspectionVerdict.Anomalous).Select(result => result.FrameId).ToHashSet();
            Assert.NotEmpty(anomalous);
            Assert.True(await watcher.WaitUntilAsync(w => anomalous.IsSubsetOf(w.Maps.Select(map => map.FrameId!)), TimeSpan.FromSeconds(10)),
                $"maps for {watcher.Maps.Select(map => map.FrameId!).Distinct().Count(anomalous.Contains)} of {anomalous.Count} anomalous frames");
            Assert.All(watcher.Maps, map => Assert.Contains(map.FrameId!, anomalous));
        }
        finally
        {
            await TestNodes.StopAllAsync(second);
        }
    }

    [Fact]
    public async Task Frames_read_on_an_ingest_node_are_scored_on_a_scoring_node()
    {
        var line = rig.NewLine("two-nodes");
        var seedPort = TestNodes.FreePort();
        using var ingest = line.Node("inspection-two", seedPort, [ClusterRoles.Ingest], [seedPort]).Build();
        using var scoring = line.Node("inspection-two", TestNodes.FreePort(), [ClusterRoles.Scoring], [seedPort]).Build();
        await Task.WhenAll(ingest.StartAsync(), scoring.StartAsync());
        using var watcher = line.Watch();
        try
        {
            var sent = line.SendFrames(12, cameras: 2);
            Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults == sent.Count, Patience),
                $"{watcher.DistinctResults} of {sent.Count} frames have a result");
            var partOf = sent.ToDictionary(frame => frame.Metadata.FrameId, frame => frame.PartIndex);
            Assert.All(watcher.Results, result => Assert.Equal(rig.OfflineScores[partOf[result.FrameId]], result.Score, 1e-4 * Math.Max(1, Math.Abs(result.Score))));
        }
        finally
        {
            await TestNodes.StopAllAsync(ingest, scoring);
        }
    }
}
