using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Pipeline.Host.Hosting;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Support;
using Pipeline.Training;
using Pipeline.Training.Registry;
using Xunit;

namespace Pipeline.Tests.Streaming;

/// <summary>
/// Continuous learning end to end over the mock broker: a node with every role (ingest, scoring, training) serving the
/// registry's current version; a new version published to the registry mid-stream reaches the scorers through the
/// training singleton (announced on pub-sub, fetched in chunks) and is swapped in between two batches.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ModelSwapEndToEndTests(StreamingRigFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly StreamingRig rig = fixture.Rig;

    [Fact]
    public async Task A_version_published_under_load_is_swapped_in_once_every_frame_has_one_result_and_versions_never_go_back()
    {
        using var folder = new TempFolder();
        var line = rig.NewLine("swap");
        var port = TestNodes.FreePort();
        using var node = line.Node("inspection-swap", port, ClusterRoles.All, [port], TrainingSettings(folder.Path)).Build();
        await node.StartAsync();
        IHost? running = node;
        using var watcher = line.Watch();
        try
        {
            await WaitUntilReadyAsync(node);
            var registry = ModelRegistry.Open(Path.Combine(folder.Path, "registry"));
            Assert.Equal("v1", registry.Current?.Version);

            // A stream of frames; the new version is published while it flows, and frames go on until it scores some.
            var sent = new List<SentFrame>(line.SendFrames(18, cameras: 3, prefix: "before"));
            Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults >= 6, Patience), "the first results arrived");
            var published = registry.Publish(TinyArtifacts.Create("candidate", rig.Backbone.Sha256, seed: 8, TinyArtifacts.Flow(), threshold: rig.Artifact.Manifest.Threshold),
                "a test's new version", makeCurrent: true);
            Assert.Equal("v2", published.Version);
            for (var round = 0; round < 30 && !watcher.Results.Any(result => result.ModelVersion == "v2"); round++)
            {
                sent.AddRange(line.SendFrames(6, cameras: 3, prefix: $"during-{round:D2}"));
                await watcher.WaitUntilAsync(w => w.DistinctResults >= sent.Count, TimeSpan.FromSeconds(10));
            }
            sent.AddRange(line.SendFrames(12, cameras: 3, prefix: "after"));

            Assert.True(await watcher.WaitUntilAsync(w => w.DistinctResults >= sent.Count, Patience),
                $"{watcher.DistinctResults} of {sent.Count} results arrived within {Patience.TotalSeconds} s");
            // Stopped, the node has flushed all it will ever publish: once the watcher has read every message on the
            // results topic, a duplicate result cannot arrive later.
            await TestNodes.StopAllAsync(node);
            running = null;
            var onTheTopic = line.MessagesOn(line.Topics.Results);
            Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= onTheTopic, Patience), $"the watcher read {watcher.Results.Count} of the {onTheTopic} results on the topic");
            var results = watcher.Results;
            Assert.Equal(sent.Count, results.Count); // exactly one result per frame: none missing, none twice
            Assert.Equal(sent.Select(frame => frame.Metadata.FrameId).Order(), results.Select(result => result.FrameId).Order());

            // In the order they were scored, the versions switch once, from v1 to v2, and never go back.
            var versions = results.OrderBy(result => result.ScoredAt).Select(result => result.ModelVersion).ToArray();
            var switches = versions.Zip(versions.Skip(1)).Count(pair => pair.First != pair.Second);
            Assert.Equal(["v1", "v2"], versions.Distinct());
            Assert.Equal(1, switches);
            Assert.All(results.Where(result => result.FrameId.StartsWith("after", StringComparison.Ordinal)), result => Assert.Equal("v2", result.ModelVersion));
        }
        finally
        {
            await TestNodes.StopAllAsync(running);
        }
    }

    /// <summary>The training role's settings: registry and sample store under <paramref name="folder"/>, the rig's model as v1, no automatic refits.</summary>
    internal Dictionary<string, string?> TrainingSettings(string folder, int refitEveryNewSamples = 0) => TrainingSettings(folder, rig.ModelFile, refitEveryNewSamples);

    internal static Dictionary<string, string?> TrainingSettings(string folder, string initialModel, int refitEveryNewSamples)
    {
        string Key(string name) => $"{ContinuousTrainingOptions.SectionName}:{name}";
        return new Dictionary<string, string?>
        {
            [Key(nameof(ContinuousTrainingOptions.RegistryPath))] = Path.Combine(folder, "registry"),
            [Key(nameof(ContinuousTrainingOptions.SampleStorePath))] = Path.Combine(folder, "samples"),
            [Key(nameof(ContinuousTrainingOptions.InitialModelPath))] = initialModel,
            [Key(nameof(ContinuousTrainingOptions.RefitEveryNewSamples))] = refitEveryNewSamples.ToString(CultureInfo.InvariantCulture),
            [Key(nameof(ContinuousTrainingOptions.RefitIntervalMinutes))] = "0",
            [Key(nameof(ContinuousTrainingOptions.RegistryPollSeconds))] = "0.2",
            [$"{Pipeline.Scoring.ScoringOptions.SectionName}:ModelCheckSeconds"] = "1",
        };
    }

    /// <summary>Waits until the node's readiness checks pass (for scoring: the registry's current version is loaded).</summary>
    internal static Task WaitUntilReadyAsync(IHost node)
    {
        var health = node.Services.GetRequiredService<HealthCheckService>();
        return TestNodes.WaitUntilAsync(async () => (await health.CheckReadinessAsync()).Status == HealthStatus.Healthy, Patience,
            async () => "the node is not ready: " + (await health.CheckReadinessAsync()).Failing());
    }
}
