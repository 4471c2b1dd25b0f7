using TorchSharp;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Pipeline.Shared.Model;

/// <summary>
/// DifferNet's localization (Rudolph et al., "Same Same But DifferNet", WACV 2021, section 3.4, and <c>localization.py</c>
/// of its code): the gradient of the frame's anomaly score with respect to the input pixels, through the feature
/// pyramid and the flow, for each test view; each view's gradient turned back to the frame's orientation and blurred
/// (Gaussian, per colour channel); the mean of the absolute values over the views and the three channels. <c>docs/anomaly-maps.md</c>
/// gives the steps and where they differ from DifferNet's code.
/// </summary>
public static class GradientMap
{
    /// <summary>DifferNet's code blurs with σ = 3 pixels; the default of training and scoring.</summary>
    public const double DefaultSigma = 3;

    /// <summary>The map of one prepared S×S image and its score (the same score <see cref="DefectModel.Score"/> gives, from the same pass).</summary>
    /// <param name="sigma">Standard deviation of the Gaussian blur in map pixels; 0 = no blur.</param>
    public static (AnomalyMap Map, double Score) Compute(
        FeaturePyramid pyramid, CouplingFlow flow, IReadOnlyList<ViewTransform> views, RgbImage prepared, Device device, double sigma)
    {
        if (!(sigma >= 0) || double.IsInfinity(sigma))
            throw new ArgumentOutOfRangeException(nameof(sigma), $"The blur of an anomaly map needs a finite σ ≥ 0, got {sigma}.");
        using var scope = NewDisposeScope();
        using var withGrad = enable_grad();
        Tensor rendered;
        using (no_grad())
            rendered = InspectionViews.Render(InspectionViews.ToTensor(prepared, device), views); // [V, 3, S, S]
        var pixels = rendered.detach().requires_grad_(true);
        var features = pyramid.ForwardWithGradients(pixels); // [V, 768]
        var (z, _) = flow.call(features);
        var score = CouplingFlow.AnomalyScores(z, views.Count); // [1]: mean z² over views and dimensions
        // Only the pixels' gradient is asked for: the flow's weights get none, so scoring and refits are not disturbed.
        var gradient = autograd.grad([score.sum()], [pixels])[0]; // [V, 3, S, S]
        using (no_grad())
        {
            // As DifferNet's code: each view's signed gradient turned back and blurred channel by channel, then the
            // absolute value, then the mean over views and channels. Blurring before the absolute value lets the
            // gradient of fine texture, whose sign alternates, cancel, while a defect's gradient, of one sign, stays.
            var inFrameOrientation = InspectionViews.RotateBack(gradient, views);                  // [V, 3, S, S]
            var (count, size) = (inFrameOrientation.shape[0] * 3, inFrameOrientation.shape[2]);
            var perChannel = inFrameOrientation.reshape(count, 1, size, inFrameOrientation.shape[3]); // [3V, 1, S, S]
            var blurred = sigma > 0 ? GaussianBlur(perChannel, sigma) : perChannel;
            var averaged = blurred.abs().mean([0L]);                                              // [1, S, S]
            var values = averaged.cpu().contiguous().data<float>().ToArray();
            return (new AnomalyMap(prepared.Width, prepared.Height, values), score.to(ScalarType.Float64).cpu().item<double>());
        }
    }

    /// <summary>
    /// A separable Gaussian blur of each image of <c>[N, 1, H, W]</c>, kernel radius ⌊4σ + 0.5⌋ and mirrored edges (as SciPy's
    /// <c>gaussian_filter</c>, which DifferNet uses); the radius is capped so that the mirror fits in the image.
    /// </summary>
    public static Tensor GaussianBlur(Tensor map, double sigma)
    {
        using var scope = NewDisposeScope();
        var limit = (int)Math.Min(map.shape[2], map.shape[3]) - 1;
        var radius = Math.Min((int)Math.Floor(4 * sigma + 0.5), limit);
        if (radius < 1) return map.alias().MoveToOuterDisposeScope();
        var weights = Enumerable.Range(-radius, 2 * radius + 1).Select(k => Math.Exp(-0.5 * k * k / (sigma * sigma))).ToArray();
        var total = weights.Sum();
        var kernel = tensor(weights.Select(w => (float)(w / total)).ToArray(), device: map.device);
        var padded = pad(map, [radius, radius, radius, radius], PaddingModes.Reflect);
        var rows = conv2d(padded, kernel.reshape(1, 1, 1, -1));  // blur along x
        var both = conv2d(rows, kernel.reshape(1, 1, -1, 1));    // then along y
        return both.MoveToOuterDisposeScope();
    }
}
