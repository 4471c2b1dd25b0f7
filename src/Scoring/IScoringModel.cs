using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Model;

namespace Pipeline.Scoring;

/// <summary>
/// A model as a device scorer uses it: its identity, what frames it takes, and batched scoring. Owned by one
/// device work loop: only that loop's thread scores with it and disposes it.
/// </summary>
public interface IScoringModel : IDisposable
{
    string Version { get; }

    /// <summary>Side S of the square frames it scores (prepared with <see cref="FramePreparation.Prepare"/>).</summary>
    int ImageSize { get; }

    /// <summary>Test views rendered per frame: what a frame weighs in a batch.</summary>
    int ViewsPerFrame { get; }

    double Threshold { get; }

    /// <summary>One score per frame, all frames in one pass.</summary>
    double[] Score(IReadOnlyList<RgbImage> frames);

    /// <summary>
    /// Scores and, per frame, the feature vectors of its test views (<c>ViewsPerFrame × 768</c> values, view after view)
    /// that the scores came from: what the training side collects of known-good frames. A model without features gives null.
    /// </summary>
    ScoredFrames ScoreWithFeatures(IReadOnlyList<RgbImage> frames) => new(Score(frames), null);

    /// <summary>The anomaly map of one frame and the region level the model calibrated (null when it has none); null when the model makes no maps.</summary>
    (AnomalyMap Map, double? RegionLevel)? Map(RgbImage frame) => null;

    /// <summary>
    /// Scores one batch of frames of several models (several products), each frame with its own model, scores and
    /// features in the order given. Frames of <see cref="DefectScoringModel"/>s share one backbone pass
    /// (<see cref="SharedBackbonePass"/>: a frame scores as it does alone with its model); frames of any other model are
    /// scored by that model, its frames together.
    /// </summary>
    /// <param name="withFeatures">Whether to return each frame's test-view features too (null where a model gives none).</param>
    /// <param name="maxViewsPerPass">Most views the shared backbone takes in one pass (the batch may hold that many of each product).</param>
    static ScoredFrames ScoreBatch(IReadOnlyList<(IScoringModel Model, RgbImage Frame)> frames, bool withFeatures, int maxViewsPerPass = int.MaxValue)
    {
        if (frames.Count == 0) return new ScoredFrames([], withFeatures ? [] : null);
        if (frames.All(frame => frame.Model is DefectScoringModel))
        {
            var shared = frames.Select(frame => (((DefectScoringModel)frame.Model).Model, frame.Frame)).ToArray();
            if (!withFeatures) return new ScoredFrames(SharedBackbonePass.Score(shared, maxViewsPerPass), null);
            var (scores, features) = SharedBackbonePass.ScoreWithFeatures(shared, maxViewsPerPass);
            return new ScoredFrames(scores, features);
        }

        var allScores = new double[frames.Count];
        var allFeatures = withFeatures ? new float[]?[frames.Count] : null;
        var anyFeatures = false;
        foreach (var group in Enumerable.Range(0, frames.Count).GroupBy(i => frames[i].Model))
        {
            var indexes = group.ToArray();
            var images = indexes.Select(i => frames[i].Frame).ToArray();
            var scored = withFeatures ? group.Key.ScoreWithFeatures(images) : new ScoredFrames(group.Key.Score(images), null);
            if (scored.Scores.Length != indexes.Length)
                throw new InvalidOperationException($"Model {group.Key.Version} returned {scored.Scores.Length} scores for {indexes.Length} frames.");
            for (var k = 0; k < indexes.Length; k++)
            {
                allScores[indexes[k]] = scored.Scores[k];
                if (allFeatures is not null && scored.Features is { } features)
                {
                    allFeatures[indexes[k]] = features[k];
                    anyFeatures = true;
                }
            }
        }
        return new ScoredFrames(allScores, anyFeatures ? allFeatures : null);
    }
}

/// <summary>Scores of a batch and, when the model gives them, each frame's test-view features (an entry is null where its model gives none).</summary>
public sealed record ScoredFrames(double[] Scores, float[]?[]? Features);

/// <summary>The product's scoring model: a <see cref="DefectModel"/> on the scorer's device.</summary>
public sealed class DefectScoringModel(DefectModel model) : IScoringModel
{
    public DefectModel Model { get; } = model;
    public string Version => Model.Manifest.ModelVersion;
    public int ImageSize => Model.Manifest.ImageSize;
    public int ViewsPerFrame => Model.TestViews.Count;
    public double Threshold => Model.Threshold;

    /// <summary>
    /// A loader for a device scorer: loads artifacts onto the device of the backbone <paramref name="backbone"/> gives,
    /// which it asks for on the scorer's work loop at each load.
    /// </summary>
    public static Func<ModelArtifact, IScoringModel> Loader(Func<PretrainedBackbone> backbone) =>
        artifact => new DefectScoringModel(DefectModel.Load(artifact, backbone()));

    public double[] Score(IReadOnlyList<RgbImage> frames) => Model.Score(frames);

    public ScoredFrames ScoreWithFeatures(IReadOnlyList<RgbImage> frames)
    {
        var (scores, features) = Model.ScoreWithFeatures(frames);
        return new ScoredFrames(scores, features);
    }

    public (AnomalyMap Map, double? RegionLevel)? Map(RgbImage frame) =>
        (Model.AnomalyMap(frame).Map, Model.Manifest.AnomalyMaps?.RegionLevel);

    public void Dispose() => Model.Dispose();
}
