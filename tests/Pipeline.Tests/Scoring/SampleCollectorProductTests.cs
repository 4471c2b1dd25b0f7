using Akka.Actor;
using Pipeline.Scoring;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Training;
using Xunit;

namespace Pipeline.Tests.Scoring;

/// <summary>The node's sample collector keeps each frame's product on the sample it hands to training.</summary>
public sealed class SampleCollectorProductTests : Akka.TestKit.Xunit2.TestKit
{
    private static FrameFeatures Features(string id, string product, FrameLabel? label) =>
        new(id, "camera-1", label, DateTimeOffset.UnixEpoch, 64, 1, new float[FeatureSample.FeatureSize], 0.5, 1, product);

    [Fact]
    public void A_sample_names_the_product_of_its_frame_whether_labelled_at_once_or_later()
    {
        var training = CreateTestProbe();
        var collector = Sys.ActorOf(SampleCollector.Props(training, mediator: null, recentFrames: 10));

        collector.Tell(Features("labelled", "bracket-a", FrameLabel.Good));
        collector.Tell(Features("late", "bracket-b", null));
        collector.Tell(new FrameLabelled("late", FrameLabel.Defect));

        var samples = new List<FeatureSample>();
        while (samples.Count < 2) samples.AddRange(training.ExpectMsg<CollectSamples>(TimeSpan.FromSeconds(10)).Samples);
        Assert.Equal([("labelled", "bracket-a", FrameLabel.Good), ("late", "bracket-b", FrameLabel.Defect)],
            samples.Select(sample => (sample.FrameId, sample.Product, sample.Label)));
    }
}
