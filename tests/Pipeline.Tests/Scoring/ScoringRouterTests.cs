using Akka.Actor;
using Pipeline.Scoring;
using Pipeline.Shared.Scoring;
using Xunit;

namespace Pipeline.Tests.Scoring;

public sealed class ScoringRouterTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly ScoringMetrics metrics = new();

    [Fact]
    public void A_node_spreads_frames_over_its_device_scorers_and_gives_each_a_new_model()
    {
        using var recorded = new MetricsRecorder(metrics.Meter);
        var options = new ScoringOptions { MaxBatchViews = 2, MaxWaitMilliseconds = 0 };
        var requester = CreateTestProbe();
        var router = Sys.ActorOf(ScoringActors.PropsFor(options, ["cuda:0", "cuda:1"], _ => FakeScoringModel.Load, metrics, FakeScoringModel.Artifact("A")));
        AwaitAssert(() =>
        {
            router.Tell(GetScoringStatus.Instance, requester);
            Assert.True(requester.ExpectMsg<ScoringNodeStatus>().Ready);
        });

        for (var i = 0; i < 4; i++)
            router.Tell(new ScoreFrame($"f{i}", "camera-1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, FakeScoringModel.Frame(10)), requester);
        Assert.All(requester.ReceiveN(4).Cast<FrameScored>(), scored => Assert.Equal("A", scored.ModelVersion));
        var framesPerDevice = recorded.Of("frames_scored")
            .GroupBy(m => (string)m.Tags["device"]!)
            .ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(new Dictionary<string, double> { ["cuda:0"] = 2, ["cuda:1"] = 2 }, framesPerDevice);

        router.Tell(new LoadModel(FakeScoringModel.Artifact("B")), requester);
        var swapped = requester.ReceiveN(2).Cast<ModelSwapped>();
        Assert.Equal(["cuda:0", "cuda:1"], swapped.Select(s => s.Device).Order());
        router.Tell(GetScoringStatus.Instance, requester);
        Assert.All(requester.ExpectMsg<ScoringNodeStatus>().Scorers, scorer => Assert.Equal("B", scorer.ModelVersion));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        metrics.Dispose();
    }
}
