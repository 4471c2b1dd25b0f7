using TorchSharp;
using Pipeline.Shared.Features;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// A trained defect model ready to score: the frozen feature pyramid, the flow loaded from an artifact,
/// and the artifact's manifest (image size, test views, threshold). Not thread-safe: one owner at a time.
/// </summary>
public sealed class DefectModel : IDisposable
{
    private DefectModel(ModelArtifact artifact, CouplingFlow flow, ViewFeatureExtractor features)
    {
        Artifact = artifact;
        Flow = flow;
        Features = features;
        TestViews = InspectionViews.ForTesting(artifact.Manifest.TestViews, artifact.Manifest.Rotations);
    }

    public ModelArtifact Artifact { get; }
    public ModelManifest Manifest => Artifact.Manifest;
    public CouplingFlow Flow { get; }
    public ViewFeatureExtractor Features { get; }
    public IReadOnlyList<ViewTransform> TestViews { get; }
    public double Threshold => Manifest.Threshold;

    /// <summary>
    /// Builds the flow from the artifact and loads its weights onto the backbone's device. Refuses an artifact
    /// made for another backbone or feature size, or whose weights do not fit its manifest.
    /// </summary>
    public static DefectModel Load(ModelArtifact artifact, PretrainedBackbone backbone, ViewFeatureCache? cache = null)
    {
        var manifest = artifact.Manifest;
        var backboneSha256 = backbone.Sha256;
        if (!string.Equals(manifest.BackboneSha256, backboneSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelArtifactException(artifact.Sha256[..12], $"was trained on features of backbone {Short(manifest.BackboneSha256)}, but this installation's backbone is {Short(backboneSha256)}; retrain the model");
        if (manifest.Flow.FeatureSize != FeaturePyramid.FeatureSize)
            throw new ModelArtifactException(artifact.Sha256[..12], $"expects {manifest.Flow.FeatureSize} features per view, the feature pyramid gives {FeaturePyramid.FeatureSize}");
        if (manifest.ImageSize < 32 || manifest.TestViews < 1 || !double.IsFinite(manifest.Threshold))
            throw new ModelArtifactException(artifact.Sha256[..12], $"has an invalid manifest (image size {manifest.ImageSize}, test views {manifest.TestViews}, threshold {manifest.Threshold})");

        CouplingFlow flow;
        try
        {
            flow = new CouplingFlow(manifest.Flow);
            using var stream = artifact.OpenWeights();
            StateDictReader.Load(flow, stream); // straight into the parameters: no copy of the weights on the managed heap
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or EndOfStreamException)
        {
            throw new ModelArtifactException(artifact.Sha256[..12], $"has weights that do not fit its flow configuration ({e.Message})", e);
        }
        flow.to(backbone.Device);
        flow.eval();
        var extractor = new ViewFeatureExtractor(backbone, manifest.ImageSize, cache);
        return new DefectModel(artifact, flow, extractor);
    }

    /// <summary>
    /// Anomaly scores of prepared images (see <see cref="ViewFeatureExtractor.Prepare"/>), one per image. The test
    /// views of all images go through the feature pyramid and the flow in one pass (<c>[N·V, 3, S, S]</c>), so
    /// callers bound N; an image scores the same alone or in a batch.
    /// </summary>
    public double[] Score(IReadOnlyList<RgbImage> preparedImages)
    {
        if (preparedImages.Count == 0) return [];
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var features = Features.Extract(preparedImages, TestViews); // [N·V, 768]
        return ScoreFeatures(features);
    }

    /// <summary>
    /// <see cref="Score"/> that also returns each image's test-view features (<c>float[V·768]</c>, view after view), as
    /// the flow saw them: a refit trains on exactly these.
    /// </summary>
    public (double[] Scores, float[][] Features) ScoreWithFeatures(IReadOnlyList<RgbImage> preparedImages)
    {
        if (preparedImages.Count == 0) return ([], []);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var features = Features.Extract(preparedImages, TestViews); // [N·V, 768]
        var flat = features.cpu().data<float>().ToArray();
        var perImage = flat.Length / preparedImages.Count;
        var split = Enumerable.Range(0, preparedImages.Count).Select(i => flat.AsSpan(i * perImage, perImage).ToArray()).ToArray();
        return (ScoreFeatures(features), split);
    }

    /// <summary>Scores of images from their test-view features <c>[N·V, 768]</c> (the views of an image consecutive).</summary>
    public double[] ScoreFeatures(Tensor features)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (z, _) = Flow.call(features.to(Features.Device));
        return CouplingFlow.AnomalyScores(z, TestViews.Count).to(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>Scores from features held as one <c>float[V·768]</c> per image.</summary>
    public double[] ScoreFeatures(IReadOnlyList<float[]> perImageFeatures) =>
        FlowScoring.Score(Flow, perImageFeatures, TestViews.Count, Features.Device);

    /// <summary>The anomaly map of one prepared image and its score (<see cref="GradientMap"/>); needs gradients, so it costs about three scorings.</summary>
    /// <param name="sigma">The blur; null: the one the model's region level was calibrated with (<see cref="GradientMap.DefaultSigma"/> when it has none).</param>
    public (AnomalyMap Map, double Score) AnomalyMap(RgbImage prepared, double? sigma = null) =>
        GradientMap.Compute(Features.Pyramid, Flow, TestViews, RequirePrepared(prepared), Features.Device, sigma ?? Manifest.AnomalyMaps?.Sigma ?? GradientMap.DefaultSigma);

    public void Dispose() => Flow.Dispose();

    private RgbImage RequirePrepared(RgbImage image) =>
        image.Width == Manifest.ImageSize && image.Height == Manifest.ImageSize ? image
            : throw new ArgumentException($"The image is {image.Width}×{image.Height}, but the model maps prepared {Manifest.ImageSize}×{Manifest.ImageSize} images; prepare it with FramePreparation.Prepare(image, {Manifest.ImageSize}).", nameof(image));

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;
}
