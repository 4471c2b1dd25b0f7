using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace Pipeline.Shared.Model;

/// <summary>
/// DifferNet's multi-scale image feature: the preprocessed image at full, half and quarter size (nearest-neighbour
/// downscaling of the preprocessed tensor, as DifferNet does), each through the backbone up to layer 3, averaged
/// over the image plane and concatenated. <see cref="forward"/> runs without gradients; <see cref="ForwardWithGradients"/>
/// keeps the graph back to the input pixels, for anomaly maps.
/// </summary>
public sealed class FeaturePyramid : Module<Tensor, Tensor>
{
    public const int ScaleCount = 3;

    /// <summary>Length of the feature <see cref="forward"/> returns: 256 layer-3 channels per scale.</summary>
    public const int FeatureSize = ScaleCount * ResNet18Backbone.Layer3Channels;

    /// <summary>The smallest height and width accepted: the smallest scale must still fit the backbone.</summary>
    public const int MinimumImageSize = ResNet18Backbone.MinimumInputSize << (ScaleCount - 1);

    private readonly BackbonePreprocessing preprocessing;
    private readonly ResNet18Backbone backbone;

    /// <summary>A pyramid that owns its parts: disposing it disposes them.</summary>
    /// <param name="preprocessing">The backbone's input transform; on the same device as <paramref name="backbone"/>.</param>
    /// <param name="backbone">The pretrained network.</param>
    public FeaturePyramid(BackbonePreprocessing preprocessing, ResNet18Backbone backbone) : base(nameof(FeaturePyramid))
    {
        this.preprocessing = preprocessing;
        this.backbone = backbone;
        RegisterComponents();
        eval();
    }

    /// <summary>The pyramid over the pretrained backbone found by <see cref="PretrainedBackboneFiles"/>, on <paramref name="device"/>.</summary>
    public static FeaturePyramid LoadPretrained(Device device)
    {
        var preprocessing = BackbonePreprocessing.LoadFromOnnx(PretrainedBackboneFiles.PreprocessingOnnxPath(), device);
        try
        {
            return new FeaturePyramid(preprocessing, ResNet18Backbone.LoadFromOnnx(PretrainedBackboneFiles.ResNet18OnnxPath(), device));
        }
        catch
        {
            preprocessing.Dispose();
            throw;
        }
    }

    /// <summary>RGB float32 with values 0..255, [B, 3, H, W] → [B, 768]: for each scale s, 256 channel means.</summary>
    public override Tensor forward(Tensor rgb)
    {
        RequireImageBatch(rgb);
        using var noGrad = no_grad();
        return Features(rgb);
    }

    private static void RequireImageBatch(Tensor rgb)
    {
        if (rgb.dim() != 4 || rgb.shape[1] != 3)
            throw new ArgumentException($"FeaturePyramid expects an RGB image batch [B, 3, H, W], got shape {OnnxFile.Shape(rgb.shape)}.", nameof(rgb));
        var (height, width) = (rgb.shape[2], rgb.shape[3]);
        if (height < MinimumImageSize || width < MinimumImageSize)
            throw new ArgumentException(
                $"FeaturePyramid needs images of at least {MinimumImageSize}×{MinimumImageSize} pixels (its smallest scale is a quarter of that), got {height}×{width}.",
                nameof(rgb));
    }

    /// <summary>
    /// <see cref="forward"/> with gradients: the autograd graph reaches <paramref name="rgb"/>, so the gradient of
    /// anything computed from the features can be taken with respect to the input pixels (anomaly maps). The backbone's
    /// weights stay frozen.
    /// </summary>
    public Tensor ForwardWithGradients(Tensor rgb)
    {
        RequireImageBatch(rgb);
        using var withGrad = enable_grad();
        return Features(rgb);
    }

    private Tensor Features(Tensor rgb)
    {
        var (height, width) = (rgb.shape[2], rgb.shape[3]);
        using var scope = NewDisposeScope();
        var preprocessed = preprocessing.call(rgb); // [B, 3, H, W]
        var featuresPerScale = new Tensor[ScaleCount];
        for (var scale = 0; scale < ScaleCount; scale++)
        {
            var scaled = scale == 0 ? preprocessed : interpolate(preprocessed, [height >> scale, width >> scale], mode: InterpolationMode.Nearest);
            featuresPerScale[scale] = backbone.Layer3(scaled).mean([2L, 3L]); // [B, 256]
        }
        return cat(featuresPerScale, 1).MoveToOuterDisposeScope(); // [B, 768]
    }
}
