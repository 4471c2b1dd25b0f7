using Akka.Actor;
using Akka.TestKit;
using Pipeline.Scoring;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;
using Pipeline.Shared.Training;
using Pipeline.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Pipeline.Tests.Scoring;

/// <summary>
/// A scoring node's model follower with the node's real scorers (tiny real models on the CPU backbone); a test probe
/// stands in for the training singleton and serves artifact bytes chunk by chunk, as it would. The follower's checks and
/// timeouts run on a <see cref="FakeTimeProvider"/>: time moves only when a test moves it.
/// </summary>
[Collection(TinyDefectModelsCollection.Name)]
public sealed class ModelFollowerTests(TinyDefectModelsFixture models) : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider clock = new();

    private IActorRef Follower(IActorRef training, IActorRef scoring, TimeSpan? checkInterval = null) =>
        Sys.ActorOf(ModelFollower.Props(training, scoring, null, "node-1", checkInterval ?? CheckInterval, clock));

    [Fact]
    public void A_new_version_is_fetched_in_chunks_verified_and_swapped_in()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        Follower(training, scoring);
        var b = models.B.ToBytes();

        Announce(training, models.B, b);

        var report = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.True(report.Adopted, report.Reason);
        Assert.Equal(models.B.Manifest.ModelVersion, report.Version);
        Assert.Equal(models.B.Manifest.ModelVersion, ServingVersion(scoring));
    }

    [Fact]
    public async Task Every_products_current_version_is_fetched_and_loaded_as_that_products_model_and_the_node_is_in_step_once_all_are()
    {
        var training = CreateTestProbe();
        var scoring = Sys.ActorOf(ScoringActors.PropsFor(new ScoringOptions { Device = "cpu" }, ["cpu"],
            _ => DefectScoringModel.Loader(() => models.Backbone), new ScoringMetrics(), models.A, followsTraining: true));
        AwaitCondition(() => ServingVersion(scoring) == models.A.Manifest.ModelVersion, Patience);
        Assert.False(NodeStatus(scoring).ModelsInStep); // the training side has not been heard yet
        var follower = Follower(training, scoring);
        var (a, b) = (models.A.ToBytes(), models.B.ToBytes());

        training.ExpectMsg<GetCurrentModels>(Patience);
        training.Reply(new CurrentModelsAre([
            new ModelAnnouncement(models.A.Manifest.ModelVersion, models.A.Sha256, a.Length, "bracket"),
            new ModelAnnouncement(models.B.Manifest.ModelVersion, models.B.Sha256, b.Length),
        ]));
        // One fetch at a time, in product name order.
        Serve(training, "bracket", a);
        var first = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.Equal(("bracket", models.A.Manifest.ModelVersion, true), (first.Product, first.Version, first.Adopted));
        Assert.False(NodeStatus(scoring).ModelsInStep); // the default product's current version is not loaded yet
        Serve(training, ProductName.Default, b);
        var second = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.Equal((ProductName.Default, models.B.Manifest.ModelVersion, true), (second.Product, second.Version, second.Adopted));

        AwaitCondition(() => NodeStatus(scoring).ModelsInStep, Patience);
        Assert.Equal([new ServedModel("bracket", "A", TinyArtifacts.ImageSize), new ServedModel(ProductName.Default, "B", TinyArtifacts.ImageSize)],
            NodeStatus(scoring).Scorers.Single().ServedModels);
        var status = await follower.Ask<ModelFollowerStatus>(GetModelFollowerStatus.Instance, Patience);
        Assert.True(status.InStep);
        Assert.Equal(["bracket", ProductName.Default], status.Products.Select(p => p.Product));
        Assert.Equal(("A", "B"), (status.Of("bracket").Serving, status.Of(ProductName.Default).Serving));
    }

    [Fact]
    public void A_node_whose_registry_has_no_model_is_in_step_once_the_training_side_said_so()
    {
        var training = CreateTestProbe();
        var scoring = Sys.ActorOf(ScoringActors.PropsFor(new ScoringOptions { Device = "cpu" }, ["cpu"],
            _ => DefectScoringModel.Loader(() => models.Backbone), new ScoringMetrics(), followsTraining: true));
        Follower(training, scoring);
        training.ExpectMsg<GetCurrentModels>(Patience);
        Assert.False(NodeStatus(scoring).ModelsInStep);

        training.Reply(new CurrentModelsAre([]));

        AwaitCondition(() => NodeStatus(scoring).ModelsInStep, Patience);
    }

    [Fact]
    public async Task A_corrupted_artifact_is_refused_and_the_old_model_keeps_serving()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        var follower = Follower(training, scoring);
        var corrupted = models.B.ToBytes();
        corrupted[corrupted.Length / 2] ^= 0x5A; // one byte flipped on the way

        Announce(training, models.B, corrupted);

        var report = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.False(report.Adopted);
        Assert.Contains("corrupted", report.Reason, StringComparison.Ordinal);
        Assert.Equal(models.A.Manifest.ModelVersion, ServingVersion(scoring));
        var status = await follower.Ask<ModelFollowerStatus>(GetModelFollowerStatus.Instance, Patience);
        Assert.NotNull(status.Of(ProductName.Default).Refused);
        Assert.True(status.InStep); // refused for a reason: in step, serving the old model
    }

    [Fact]
    public void An_artifact_whose_weights_do_not_fit_its_manifest_is_refused_by_the_scorers_and_the_old_model_keeps_serving()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        Follower(training, scoring);
        // Whole and correctly sealed, but its weights come from a flow of another width than its manifest says.
        var mismatched = TinyArtifacts.Create("mismatched", models.Backbone.Sha256, seed: 4, TinyArtifacts.Flow(hiddenWidth: 8), TinyArtifacts.Flow(hiddenWidth: 16));

        Announce(training, mismatched, mismatched.ToBytes());

        var report = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.False(report.Adopted);
        Assert.Contains("do not fit", report.Reason, StringComparison.Ordinal);
        Assert.Equal(models.A.Manifest.ModelVersion, ServingVersion(scoring));
    }

    [Fact]
    public void A_training_singleton_that_stays_silent_is_warned_of_once_and_its_return_noted()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        var logged = CreateTestProbe();
        Sys.EventStream.Subscribe(logged, typeof(Akka.Event.LogEvent));
        var follower = Follower(training, scoring);
        training.ExpectMsg<GetCurrentModels>(Patience); // the question at start

        Check(training, ModelFollower.UnansweredChecksBeforeWarning);
        Assert.Single(Logged(logged, "training singleton has not answered"));
        // Still silent: no second warning however long the silence lasts.
        Check(training, 2 * ModelFollower.UnansweredChecksBeforeWarning);
        Assert.Empty(Logged(logged, "training singleton has not answered"));

        follower.Tell(new CurrentModelsAre([]), training);
        logged.FishForMessage<Akka.Event.Info>(info => info.Message.ToString()!.Contains("training singleton answers again", StringComparison.Ordinal), Patience);
        Assert.Equal(models.A.Manifest.ModelVersion, ServingVersion(scoring));
    }

    [Fact]
    public void A_chunk_that_is_not_answered_is_asked_for_again_after_the_timeout_and_the_fetch_given_up_after_the_last_try()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        var logged = CreateTestProbe();
        Sys.EventStream.Subscribe(logged, typeof(Akka.Event.Warning));
        // Checks every 4 s mark the time: 3 of them (4, 8, 12 s) come before a timeout of 15 s, the next at 16 s.
        Follower(training, scoring, TimeSpan.FromSeconds(4));
        training.ExpectMsg<GetCurrentModels>(Patience);
        var b = models.B.ToBytes();
        training.Reply(new CurrentModelsAre([new ModelAnnouncement(models.B.Manifest.ModelVersion, models.B.Sha256, b.Length)]));
        var first = training.ExpectMsg<FetchModelChunk>(Patience);

        clock.Advance(ModelFollower.ChunkTimeout);
        var (again, checksBefore) = NextChunkRequest(training);
        Assert.Equal((first, 3), (again, checksBefore));
        for (var attempt = 3; attempt <= ModelFollower.ChunkAttempts; attempt++)
        {
            clock.Advance(ModelFollower.ChunkTimeout);
            Assert.Equal(first, NextChunkRequest(training).Request);
        }

        clock.Advance(ModelFollower.ChunkTimeout);
        logged.FishForMessage<Akka.Event.Warning>(warning => warning.Message.ToString()!.Contains($"after {ModelFollower.ChunkAttempts} tries", StringComparison.Ordinal), Patience);
        Assert.Equal(models.A.Manifest.ModelVersion, ServingVersion(scoring));
    }

    /// <summary>The follower's next chunk request, and how many checks it made before it.</summary>
    private static (FetchModelChunk Request, int ChecksBefore) NextChunkRequest(TestProbe training)
    {
        var checks = 0;
        while (true)
        {
            switch (training.ReceiveOne(Patience))
            {
                case FetchModelChunk request: return (request, checks);
                case GetCurrentModels: checks++; break;
                case var other: throw new Xunit.Sdk.XunitException($"unexpected message to the training singleton: {other}");
            }
        }
    }

    /// <summary>Moves the clock over <paramref name="checks"/> check intervals, waiting for each check's question to the training singleton.</summary>
    private void Check(TestProbe training, int checks)
    {
        for (var i = 0; i < checks; i++)
        {
            clock.Advance(CheckInterval);
            training.ExpectMsg<GetCurrentModels>(Patience);
        }
    }

    /// <summary>
    /// The log events already published that contain <paramref name="text"/>. A follower logs before it asks the
    /// training singleton, so once its question was received, what it logged for that check is here.
    /// </summary>
    private static List<Akka.Event.LogEvent> Logged(TestProbe logged, string text)
    {
        var events = new List<Akka.Event.LogEvent>();
        while (logged.HasMessages)
            if (logged.ReceiveOne(TimeSpan.Zero) is Akka.Event.LogEvent log && log.Message.ToString()!.Contains(text, StringComparison.Ordinal))
                events.Add(log);
        return events;
    }

    /// <summary>The node's scorers: one CPU scorer serving <paramref name="initial"/>.</summary>
    private IActorRef Scorers(ModelArtifact initial)
    {
        var scoring = Sys.ActorOf(ScoringActors.PropsFor(new ScoringOptions { Device = "cpu" }, ["cpu"],
            _ => DefectScoringModel.Loader(() => models.Backbone), new ScoringMetrics(), initial));
        AwaitCondition(() => ServingVersion(scoring) == initial.Manifest.ModelVersion, Patience);
        return scoring;
    }

    private static ScoringNodeStatus NodeStatus(IActorRef scoring) => scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, Patience).Result;

    private static string? ServingVersion(IActorRef scoring) =>
        scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, Patience).Result.Scorers.Single().ModelVersion;

    /// <summary>Plays the training singleton: answers the follower's first question with the announcement, then serves <paramref name="bytes"/> in the chunks asked for.</summary>
    private static void Announce(TestProbe training, ModelArtifact artifact, byte[] bytes)
    {
        training.ExpectMsg<GetCurrentModels>(Patience);
        training.Reply(new CurrentModelsAre([new ModelAnnouncement(artifact.Manifest.ModelVersion, artifact.Sha256, bytes.Length)]));
        Serve(training, ProductName.Default, bytes);
    }

    /// <summary>Plays the training singleton serving one product's artifact <paramref name="bytes"/> in the chunks asked for; checks no other product's chunks are asked meanwhile.</summary>
    private static void Serve(TestProbe training, string product, byte[] bytes)
    {
        long served = 0;
        while (served < bytes.Length)
        {
            var request = training.FishForMessage<FetchModelChunk>(_ => true, Patience); // checks may come between chunks
            Assert.Equal((product, served), (request.Product, request.Offset));
            Assert.InRange(request.Length, 1, ModelFollower.ChunkBytes);
            var length = (int)Math.Min(request.Length, bytes.Length - request.Offset);
            training.Reply(new ModelChunk(request.Version, request.Offset, bytes.Length, bytes.AsSpan((int)request.Offset, length).ToArray(), product));
            served += length;
        }
    }
}
