using Pipeline.Shared.Kafka;
using Pipeline.Shared.Training;

namespace Pipeline.Tests.Training;

/// <summary>Feature samples for tests of the training side: deterministic values, a few views each.</summary>
public static class TrainingSamples
{
    public static FeatureSample Sample(string frameId, string cameraId = "camera-1", FrameLabel label = FrameLabel.Good, int imageSize = 64, int views = 2, int seed = 0)
    {
        var rng = new Random(HashCode.Combine(frameId, seed));
        var features = new float[views * FeatureSample.FeatureSize];
        for (var i = 0; i < features.Length; i++) features[i] = (float)rng.NextDouble();
        return new FeatureSample(frameId, cameraId, label, new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.FromHours(1)), imageSize, views, features);
    }
}
