using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>Anomaly scores from cached view features, in bounded batches.</summary>
public static class FlowScoring
{
    private const int ImagesPerBatch = 64;

    /// <summary>
    /// One score per image from its test-view features (<c>float[V·D]</c> per image): the mean of z² over
    /// the views and dimensions (DifferNet's score).
    /// </summary>
    public static double[] Score(CouplingFlow flow, IReadOnlyList<float[]> perImageFeatures, int viewsPerImage, Device device)
    {
        var featureSize = flow.Config.FeatureSize;
        var scores = new double[perImageFeatures.Count];
        using var _ = no_grad();
        for (var start = 0; start < perImageFeatures.Count; start += ImagesPerBatch)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(ImagesPerBatch, perImageFeatures.Count - start);
            var flat = new float[count * viewsPerImage * featureSize];
            for (var i = 0; i < count; i++)
            {
                var features = perImageFeatures[start + i];
                if (features.Length != viewsPerImage * featureSize)
                    throw new ArgumentException($"Image {start + i} has {features.Length} feature values, expected {viewsPerImage} views × {featureSize}.");
                features.CopyTo(flat, i * viewsPerImage * featureSize);
            }
            var batch = tensor(flat, [count * viewsPerImage, featureSize]).to(device);
            var (z, _) = flow.call(batch);
            CouplingFlow.AnomalyScores(z, viewsPerImage).to(ScalarType.Float64).cpu().data<double>().ToArray().CopyTo(scores, start);
        }
        return scores;
    }
}
