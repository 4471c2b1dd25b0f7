using System.Diagnostics;
using System.Security.Cryptography;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using static TorchSharp.torch;

namespace Pipeline.Shared.Features;

/// <summary>
/// Runs the frozen feature pyramid over the views of images: <c>image → [V, 768]</c>. The one path from a
/// decoded image to features, for training, evaluation and streaming.
/// </summary>
public sealed class ViewFeatureExtractor
{
    private readonly PretrainedBackbone backbone;
    private readonly ViewFeatureCache? cache;

    public ViewFeatureExtractor(PretrainedBackbone backbone, int imageSize, ViewFeatureCache? cache)
    {
        this.backbone = backbone;
        this.cache = cache;
        ImageSize = imageSize;
    }

    public int ImageSize { get; }
    public int FeatureSize => FeaturePyramid.FeatureSize;
    public Device Device => backbone.Device;

    /// <summary>The frozen pyramid the features come from (anomaly maps run it with gradients).</summary>
    public FeaturePyramid Pyramid => backbone.Pyramid;

    /// <summary>Decoded image → the S×S image of this extractor (see <see cref="FramePreparation.Prepare"/>).</summary>
    public RgbImage Prepare(RgbImage decoded) => FramePreparation.Prepare(decoded, ImageSize);

    /// <summary>Features of the views of one prepared image: <c>[V, 768]</c> on the model's device.</summary>
    public Tensor Extract(RgbImage prepared, IReadOnlyList<ViewTransform> views) => Extract([prepared], views);

    /// <summary>
    /// Features of the views of several prepared images in one pass through the pyramid:
    /// <c>N images → [N·V, 768]</c> on the model's device, the views of an image consecutive. The pass holds all
    /// N·V rendered views at once, so callers bound N (the streaming scorer batches by views).
    /// </summary>
    public Tensor Extract(IReadOnlyList<RgbImage> prepared, IReadOnlyList<ViewTransform> views) =>
        Extract(prepared.Select(image => (image, views)).ToArray());

    /// <summary>
    /// Features of several prepared images, each with views of its own: <c>[ΣVᵢ, 768]</c> on the device, image after
    /// image and the views of an image consecutive. This is how frames of several products share one backbone pass:
    /// only the flows differ between products. Every view goes through the pyramid once, in passes of at most
    /// <paramref name="maxViewsPerPass"/> views (whole images; an image with more views goes alone), which bounds what
    /// one pass holds: a batch with frames of several products holds more views than one product's.
    /// </summary>
    public Tensor Extract(IReadOnlyList<(RgbImage Prepared, IReadOnlyList<ViewTransform> Views)> images, int maxViewsPerPass = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxViewsPerPass, 1);
        if (images.Count == 0) throw new ArgumentException("At least one image is needed to extract features.", nameof(images));
        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i].Prepared;
            if (image.Width != ImageSize || image.Height != ImageSize)
                throw new ArgumentException(
                    $"Image {i} is {image.Width}×{image.Height}, but features are extracted from prepared {ImageSize}×{ImageSize} images; prepare it with FramePreparation.Prepare(image, {ImageSize}).",
                    nameof(images));
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var passes = new List<Tensor>();
        foreach (var pass in Passes(images, maxViewsPerPass))
        {
            using var passScope = NewDisposeScope();
            var rendered = pass
                .Select(image => InspectionViews.Render(InspectionViews.ToTensor(image.Prepared, backbone.Device), image.Views))
                .ToArray();
            var batch = rendered.Length == 1 ? rendered[0] : cat(rendered, 0);
            passes.Add(backbone.Pyramid.call(batch).MoveToOuterDisposeScope());
        }
        return (passes.Count == 1 ? passes[0] : cat(passes, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>Consecutive runs of whole images of at most <paramref name="maxViews"/> views each (an image with more goes alone).</summary>
    private static IEnumerable<List<(RgbImage Prepared, IReadOnlyList<ViewTransform> Views)>> Passes(
        IReadOnlyList<(RgbImage Prepared, IReadOnlyList<ViewTransform> Views)> images, int maxViews)
    {
        var pass = new List<(RgbImage Prepared, IReadOnlyList<ViewTransform> Views)>();
        var views = 0;
        foreach (var image in images)
        {
            if (pass.Count > 0 && views + image.Views.Count > maxViews)
            {
                yield return pass;
                pass = [];
                views = 0;
            }
            pass.Add(image);
            views += image.Views.Count;
        }
        yield return pass;
    }

    /// <summary>
    /// Features of image files, one <c>float[V·768]</c> per file (views in the order given), read from the cache
    /// where possible. <paramref name="viewsOf"/> gets the SHA-256 of the file's content, so random training views
    /// can be drawn reproducibly per image. Decoding errors name the file.
    /// </summary>
    public IReadOnlyList<float[]> ExtractFiles(
        IReadOnlyList<string> paths,
        Func<string, IReadOnlyList<ViewTransform>> viewsOf,
        IWorkProgressSink progress,
        string stage,
        CancellationToken cancellation = default)
    {
        var results = new float[paths.Count][];
        var computed = 0;
        var stopwatch = Stopwatch.StartNew();
        progress.Report(new WorkProgress(stage, 0, paths.Count));
        for (var i = 0; i < paths.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var bytes = ReadFile(paths[i]);
            var contentSha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            var views = viewsOf(contentSha);
            var key = ViewFeatureCache.Key(backbone.Sha256, ImageSize, contentSha, views.Select(v => v.Signature));
            var length = views.Count * FeatureSize;
            if (cache is null || !cache.TryGet(key, length, out var features))
            {
                var prepared = Prepare(ImageDecoder.Decode(bytes, paths[i]));
                using var tensor = Extract(prepared, views);
                features = tensor.cpu().data<float>().ToArray();
                cache?.Put(key, features);
                computed++;
            }
            results[i] = features;
            progress.Report(new WorkProgress(stage, i + 1, paths.Count,
                computed == 0 ? "from cache" : $"{computed} computed, {i + 1 - computed} from cache"));
        }
        progress.Note($"{stage}: {paths.Count} images × views in {stopwatch.Elapsed.TotalSeconds:0.0} s ({computed} computed, {paths.Count - computed} from cache)");
        return results;
    }

    private static byte[] ReadFile(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new PipelineInputException($"Image '{path}' cannot be read: {e.Message}", e); }
    }
}
