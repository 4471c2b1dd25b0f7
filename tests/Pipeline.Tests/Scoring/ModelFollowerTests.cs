using Akka.Actor;
using Akka.TestKit;
using Pipeline.Scoring;
using Pipeline.Shared.Model;
using Pipeline.Shared.Scoring;
using Pipeline.Shared.Training;
using Pipeline.Tests.Support;
using Xunit;

namespace Pipeline.Tests.Scoring;

/// <summary>
/// A scoring node's model follower with the node's real scorers (tiny real models on the CPU backbone); a test probe
/// stands in for the training singleton and serves artifact bytes chunk by chunk, as it would.
/// </summary>
[Collection(TinyDefectModelsCollection.Name)]
public sealed class ModelFollowerTests(TinyDefectModelsFixture models) : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_new_version_is_fetched_in_chunks_verified_and_swapped_in()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        Sys.ActorOf(ModelFollower.Props(training, scoring, null, "node-1", TimeSpan.FromMinutes(1)));
        var b = models.B.ToBytes();

        Announce(training, models.B, b);

        var report = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.True(report.Adopted, report.Reason);
        Assert.Equal(models.B.Manifest.ModelVersion, report.Version);
        Assert.Equal(models.B.Manifest.ModelVersion, ServingVersion(scoring));
    }

    [Fact]
    public async Task A_corrupted_artifact_is_refused_and_the_old_model_keeps_serving()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        var follower = Sys.ActorOf(ModelFollower.Props(training, scoring, null, "node-1", TimeSpan.FromMinutes(1)));
        var corrupted = models.B.ToBytes();
        corrupted[corrupted.Length / 2] ^= 0x5A; // one byte flipped on the way

        Announce(training, models.B, corrupted);

        var report = training.FishForMessage<ModelAdoptionReport>(_ => true, Patience);
        Assert.False(report.Adopted);
        Assert.Contains("corrupted", report.Reason, StringComparison.Ordinal);
        Assert.Equal(models.A.Manifest.ModelVersion, ServingVersion(scoring));
        var status = await follower.Ask<ModelFollowerStatus>(GetModelFollowerStatus.Instance, Patience);
        Assert.NotNull(status.Refused);
    }

    [Fact]
    public void An_artifact_whose_weights_do_not_fit_its_manifest_is_refused_by_the_scorers_and_the_old_model_keeps_serving()
    {
        var (training, scoring) = (CreateTestProbe(), Scorers(models.A));
        Sys.ActorOf(ModelFollower.Props(training, scoring, null, "node-1", TimeSpan.FromMinutes(1)));
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
        var silence = TimeSpan.FromMilliseconds(50 * (ModelFollower.UnansweredChecksBeforeWarning + 1));

        IActorRef follower = ActorRefs.Nobody;
        EventFilter.Warning(contains: "training singleton has not answered").ExpectOne(Patience, () =>
            follower = Sys.ActorOf(ModelFollower.Props(training, scoring, null, "node-1", TimeSpan.FromMilliseconds(50))));
        // Still silent: no second warning while the silence lasts.
        EventFilter.Warning(contains: "training singleton has not answered").Expect(0, silence, () => { });

        EventFilter.Info(contains: "training singleton answers again").ExpectOne(Patience, () =>
            follower.Tell(new CurrentModelIs(null), training));
        Assert.Equal(models.A.Manifest.ModelVersion, ServingVersion(scoring));
    }

    /// <summary>The node's scorers: one CPU scorer serving <paramref name="initial"/>.</summary>
    private IActorRef Scorers(ModelArtifact initial)
    {
        var scoring = Sys.ActorOf(ScoringActors.PropsFor(new ScoringOptions { Device = "cpu" }, ["cpu"],
            _ => DefectScoringModel.Loader(() => models.Backbone), new ScoringMetrics(), initial));
        AwaitCondition(() => ServingVersion(scoring) == initial.Manifest.ModelVersion, Patience);
        return scoring;
    }

    private static string? ServingVersion(IActorRef scoring) =>
        scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, Patience).Result.Scorers.Single().ModelVersion;

    /// <summary>Plays the training singleton: answers the follower's first question with the announcement, then serves <paramref name="bytes"/> in the chunks asked for.</summary>
    private static void Announce(TestProbe training, ModelArtifact artifact, byte[] bytes)
    {
        training.ExpectMsg<GetCurrentModel>(Patience);
        training.Reply(new CurrentModelIs(new ModelAnnouncement(artifact.Manifest.ModelVersion, artifact.Sha256, bytes.Length)));
        long served = 0;
        while (served < bytes.Length)
        {
            var request = training.ExpectMsg<FetchModelChunk>(Patience);
            Assert.Equal(served, request.Offset);
            Assert.InRange(request.Length, 1, ModelFollower.ChunkBytes);
            var length = (int)Math.Min(request.Length, bytes.Length - request.Offset);
            training.Reply(new ModelChunk(request.Version, request.Offset, bytes.Length, bytes.AsSpan((int)request.Offset, length).ToArray()));
            served += length;
        }
    }
}
