using Pipeline.Shared.Imaging;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>One augmented copy ("view") of an image: a rotation and colour factors (1 = unchanged).</summary>
public sealed record ViewTransform(double RotationDegrees, double Brightness = 1, double Contrast = 1, double Saturation = 1)
{
    public static readonly ViewTransform Identity = new(0);

    /// <summary>A short stable text, used in feature cache keys.</summary>
    public string Signature => FormattableString.Invariant($"r{RotationDegrees:0.######}b{Brightness:0.######}c{Contrast:0.######}s{Saturation:0.######}");
}

/// <summary>Which random augmentations training views get (DifferNet: random rotations, optional colour jitter).</summary>
/// <param name="Rotations">Random rotations in training and evenly spaced rotations at test time. Turn off where rotation itself is a defect.</param>
/// <param name="Brightness">Colour jitter: brightness factor drawn from [1-b, 1+b]; 0 = off.</param>
/// <param name="Contrast">Contrast factor drawn from [1-c, 1+c]; 0 = off.</param>
/// <param name="Saturation">Saturation factor drawn from [1-s, 1+s]; 0 = off.</param>
public sealed record AugmentationOptions(bool Rotations = true, double Brightness = 0, double Contrast = 0, double Saturation = 0);

/// <summary>
/// The one place that turns a prepared image (<see cref="FramePreparation.Prepare"/>) into the views the model sees, for
/// training, offline evaluation and streaming alike.
/// </summary>
public static class InspectionViews
{
    /// <summary>
    /// Test-time views: <paramref name="count"/> rotations evenly spaced over 360° (0°, 360/n°, ...), or the
    /// image alone when rotations are off.
    /// </summary>
    public static IReadOnlyList<ViewTransform> ForTesting(int count, bool rotations)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"At least one test view is needed, got {count}.");
        if (!rotations) return [ViewTransform.Identity];
        return Enumerable.Range(0, count).Select(k => new ViewTransform(360.0 * k / count)).ToArray();
    }

    /// <summary>Training views: random rotations over the full circle and random colour factors, drawn from <paramref name="rng"/>.</summary>
    public static IReadOnlyList<ViewTransform> ForTraining(int count, AugmentationOptions augmentation, Random rng)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"At least one training view is needed, got {count}.");
        double Factor(double spread) => spread <= 0 ? 1 : 1 + spread * (2 * rng.NextDouble() - 1);
        return Enumerable.Range(0, count).Select(_ => new ViewTransform(
            augmentation.Rotations ? 360.0 * rng.NextDouble() : 0,
            Factor(augmentation.Brightness),
            Factor(augmentation.Contrast),
            Factor(augmentation.Saturation))).ToArray();
    }

    /// <summary>An 8-bit RGB image as a float tensor of pixel values 0..255: <c>[3, H, W]</c>.</summary>
    public static Tensor ToTensor(RgbImage image, Device device)
    {
        using var scope = NewDisposeScope();
        var hwc = tensor(image.Pixels, [image.Height, image.Width, 3], ScalarType.Byte);
        return hwc.to(device).permute(2, 0, 1).to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Renders the views of one image: <c>[3, S, S] → [V, 3, S, S]</c>, pixel values 0..255. Rotation is
    /// bilinear about the centre with black corners (as torchvision's rotation of DifferNet fills them);
    /// colour factors follow torchvision's ColorJitter (brightness, then contrast, then saturation).
    /// </summary>
    public static Tensor Render(Tensor image, IReadOnlyList<ViewTransform> views)
    {
        using var scope = NewDisposeScope();
        var count = views.Count;
        var batch = image.unsqueeze(0).expand(count, -1, -1, -1);
        var rendered = views.All(v => v.RotationDegrees == 0) ? batch.clone() : Rotate(batch, views);
        if (views.Any(v => v.Brightness != 1 || v.Contrast != 1 || v.Saturation != 1))
            rendered = Jitter(rendered, views);
        return rendered.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Turns per-view images back to the orientation of the image the views were rendered from: <c>[V, C, S, S]</c>, view
    /// v rotated by minus its rotation, the same bilinear rotation as <see cref="Render"/>, zeros where a view did not
    /// reach. Colour factors are ignored (they do not move pixels).
    /// </summary>
    public static Tensor RotateBack(Tensor perView, IReadOnlyList<ViewTransform> views)
    {
        if (perView.dim() != 4 || perView.shape[0] != views.Count)
            throw new ArgumentException($"RotateBack expects one image per view [{views.Count}, C, H, W], got shape [{string.Join(", ", perView.shape)}].", nameof(perView));
        if (views.All(v => v.RotationDegrees == 0)) return perView.alias();
        return Rotate(perView, views.Select(v => new ViewTransform(-v.RotationDegrees)).ToArray());
    }

    private static Tensor Rotate(Tensor batch, IReadOnlyList<ViewTransform> views)
    {
        // affine_grid maps output to input coordinates, so each view's matrix is the inverse rotation.
        var theta = new float[views.Count * 6];
        for (var i = 0; i < views.Count; i++)
        {
            var radians = views[i].RotationDegrees * Math.PI / 180;
            var (sin, cos) = ((float)Math.Sin(radians), (float)Math.Cos(radians));
            theta[i * 6 + 0] = cos; theta[i * 6 + 1] = sin; theta[i * 6 + 2] = 0;
            theta[i * 6 + 3] = -sin; theta[i * 6 + 4] = cos; theta[i * 6 + 5] = 0;
        }
        var thetaTensor = tensor(theta, [views.Count, 2, 3]).to(batch.device);
        var grid = nn.functional.affine_grid(thetaTensor, batch.shape, align_corners: false);
        return nn.functional.grid_sample(batch, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
    }

    private static Tensor Jitter(Tensor views, IReadOnlyList<ViewTransform> transforms)
    {
        Tensor Factors(Func<ViewTransform, double> pick) =>
            tensor(transforms.Select(t => (float)pick(t)).ToArray()).to(views.device).reshape(-1, 1, 1, 1);

        var x = (views * Factors(t => t.Brightness)).clamp(0, 255);
        var grayMean = Grayscale(x).mean([1, 2, 3], keepdim: true);
        x = ((x - grayMean) * Factors(t => t.Contrast) + grayMean).clamp(0, 255);
        var gray = Grayscale(x);
        x = ((x - gray) * Factors(t => t.Saturation) + gray).clamp(0, 255);
        return x;
    }

    // ITU-R 601 luma, as torchvision: [V, 3, H, W] → [V, 1, H, W]
    private static Tensor Grayscale(Tensor rgb) =>
        0.299 * rgb.narrow(1, 0, 1) + 0.587 * rgb.narrow(1, 1, 1) + 0.114 * rgb.narrow(1, 2, 1);
}
