using Pipeline.Shared.Imaging;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// Scores frames of several products together: the frozen backbone runs once over the test views of every frame of
/// the batch, and each product's rows of the features go through that product's own flow. An extra product costs its
/// flow, not another backbone pass. A frame scores the same here as alone with its model (<see cref="DefectModel.Score"/>).
/// <para>
/// The rule for a batch: every frame has the same prepared size (the backbone's input is one tensor), and every
/// model runs on the same backbone (one installation's, on one device). Frames of models of different sizes go in
/// different batches.
/// </para>
/// </summary>
public static class SharedBackbonePass
{
    /// <summary>One score per frame, in the order given.</summary>
    /// <param name="maxViewsPerPass">Most views the backbone takes at once (see <see cref="Features.ViewFeatureExtractor"/>); each product's rows go through its flow together.</param>
    public static double[] Score(IReadOnlyList<(DefectModel Model, RgbImage Prepared)> frames, int maxViewsPerPass = int.MaxValue) =>
        Run(frames, withFeatures: false, maxViewsPerPass).Scores;

    /// <summary><see cref="Score"/> and each frame's test-view features (<c>float[V·768]</c>, view after view), as its flow saw them.</summary>
    public static (double[] Scores, float[][] Features) ScoreWithFeatures(IReadOnlyList<(DefectModel Model, RgbImage Prepared)> frames, int maxViewsPerPass = int.MaxValue)
    {
        var (scores, features) = Run(frames, withFeatures: true, maxViewsPerPass);
        return (scores, features!);
    }

    private static (double[] Scores, float[][]? Features) Run(IReadOnlyList<(DefectModel Model, RgbImage Prepared)> frames, bool withFeatures, int maxViewsPerPass)
    {
        if (frames.Count == 0) return ([], withFeatures ? [] : null);
        var extractor = frames[0].Model.Features;
        foreach (var (model, _) in frames)
        {
            if (model.Features.ImageSize != extractor.ImageSize)
                throw new ArgumentException($"A shared backbone pass takes frames of one size; model {model.Manifest.ModelVersion} scores {model.Features.ImageSize} px frames, model {frames[0].Model.Manifest.ModelVersion} {extractor.ImageSize} px.", nameof(frames));
            if (!ReferenceEquals(model.Features.Pyramid, extractor.Pyramid))
                throw new ArgumentException($"A shared backbone pass needs every model on the same backbone; model {model.Manifest.ModelVersion} was loaded on another one.", nameof(frames));
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var features = extractor.Extract(frames.Select(frame => (frame.Prepared, frame.Model.TestViews)).ToArray(), maxViewsPerPass); // [ΣV, 768]
        var firstRow = new long[frames.Count];
        for (var i = 1; i < frames.Count; i++) firstRow[i] = firstRow[i - 1] + frames[i - 1].Model.TestViews.Count;

        var scores = new double[frames.Count];
        foreach (var group in Enumerable.Range(0, frames.Count).GroupBy(i => frames[i].Model))
        {
            var model = group.Key;
            var views = model.TestViews.Count;
            var rows = group.SelectMany(i => Enumerable.Range(0, views).Select(v => firstRow[i] + v)).ToArray();
            using var index = tensor(rows, device: extractor.Device);
            var productScores = model.ScoreFeatures(features.index_select(0, index));
            var k = 0;
            foreach (var i in group) scores[i] = productScores[k++];
        }

        if (!withFeatures) return (scores, null);
        var flat = features.cpu().data<float>().ToArray();
        var perFrame = new float[frames.Count][];
        for (var i = 0; i < frames.Count; i++)
            perFrame[i] = flat.AsSpan((int)(firstRow[i] * extractor.FeatureSize), frames[i].Model.TestViews.Count * extractor.FeatureSize).ToArray();
        return (scores, perFrame);
    }
}
