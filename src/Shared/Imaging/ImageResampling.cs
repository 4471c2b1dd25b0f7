namespace Pipeline.Shared.Imaging;

/// <summary>
/// Resizes RGB images with a triangle (bilinear) filter that widens with the reduction factor, so that
/// shrinking averages all source pixels instead of picking a few. This is how PIL's
/// <c>Image.resize(size, BILINEAR)</c> works, which torchvision's <c>Resize((S, S))</c> applies to the PIL
/// images DifferNet's reference implementation trains on; results match PIL's to within 1 level (PIL
/// rounds in fixed point).
/// </summary>
/// <remarks>
/// Not done with Skia: Skia's raster drawing ignores mipmap sampling for the images SkiaSharp can create
/// (it cannot attach mipmaps to them), so linear+mipmap is plain linear, and its cubic (Mitchell) filter
/// reads a fixed 4x4 neighbourhood. Both alias once an image shrinks by more than about 2x: 1-pixel
/// stripes 512 px wide shrunk to 100 px come out between 5 and 250 instead of near 128. Plain C#
/// arithmetic also gives the same bytes on every machine, which Skia's CPU-specific code paths do not
/// promise.
/// </remarks>
public static class ImageResampling
{
    /// <summary>
    /// Resizes to <paramref name="size"/> x <paramref name="size"/> without keeping the aspect ratio,
    /// like torchvision's <c>Resize((size, size))</c>.
    /// </summary>
    public static RgbImage ResizeSquare(RgbImage image, int size) => Resize(image, size, size);

    /// <summary>
    /// Resizes to exactly <paramref name="width"/> x <paramref name="height"/>; returns
    /// <paramref name="image"/> itself when it already has that size.
    /// </summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == image.Width && height == image.Height)
            return image;

        var columnTaps = FilterTaps.Between(image.Width, width);
        var rowTaps = FilterTaps.Between(image.Height, height);
        var source = image.Pixels;

        // Pass 1, along rows: [image.Height, width, 3]
        var resizedRows = new float[image.Height * width * 3];
        for (int y = 0; y < image.Height; y++)
        {
            int sourceRow = y * image.Width * 3;
            int targetRow = y * width * 3;
            for (int x = 0; x < width; x++)
            {
                var weights = columnTaps.WeightsOf(x);
                int tap = sourceRow + columnTaps.First[x] * 3;
                float red = 0, green = 0, blue = 0;
                foreach (var weight in weights)
                {
                    red += weight * source[tap];
                    green += weight * source[tap + 1];
                    blue += weight * source[tap + 2];
                    tap += 3;
                }
                resizedRows[targetRow + x * 3] = red;
                resizedRows[targetRow + x * 3 + 1] = green;
                resizedRows[targetRow + x * 3 + 2] = blue;
            }
        }

        // Pass 2, along columns, one target row at a time: [height, width, 3]
        int rowLength = width * 3;
        var pixels = new byte[height * rowLength];
        var sums = new float[rowLength];
        for (int y = 0; y < height; y++)
        {
            Array.Clear(sums);
            int sourceRow = rowTaps.First[y] * rowLength;
            foreach (var weight in rowTaps.WeightsOf(y))
            {
                for (int i = 0; i < rowLength; i++)
                    sums[i] += weight * resizedRows[sourceRow + i];
                sourceRow += rowLength;
            }
            int targetRow = y * rowLength;
            for (int i = 0; i < rowLength; i++)
                pixels[targetRow + i] = (byte)Math.Clamp((int)(sums[i] + 0.5f), 0, 255);
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>For each target position along one axis: the first source position it reads and the weights of it and the following ones.</summary>
    private sealed class FilterTaps
    {
        private readonly float[] _weights;
        private readonly int[] _counts;
        private readonly int _stride;

        private FilterTaps(int[] first, int[] counts, float[] weights, int stride)
        {
            First = first;
            _counts = counts;
            _weights = weights;
            _stride = stride;
        }

        public int[] First { get; }

        public ReadOnlySpan<float> WeightsOf(int target) => _weights.AsSpan(target * _stride, _counts[target]);

        public static FilterTaps Between(int sourceLength, int targetLength)
        {
            double scale = (double)sourceLength / targetLength;
            // The triangle reaches one source pixel either side; when shrinking it stretches to one target pixel.
            double radius = Math.Max(scale, 1.0);
            int stride = 2 * (int)Math.Ceiling(radius) + 1;
            var first = new int[targetLength];
            var counts = new int[targetLength];
            var weights = new float[targetLength * stride];
            for (int target = 0; target < targetLength; target++)
            {
                double center = (target + 0.5) * scale;
                int from = Math.Max(0, (int)Math.Floor(center - radius));
                int to = Math.Min(sourceLength, (int)Math.Ceiling(center + radius));
                double total = 0;
                for (int s = from; s < to; s++)
                    total += Triangle((s + 0.5 - center) / radius);
                for (int s = from; s < to; s++)
                    weights[target * stride + s - from] = (float)(Triangle((s + 0.5 - center) / radius) / total);
                first[target] = from;
                counts[target] = to - from;
            }
            return new FilterTaps(first, counts, weights, stride);
        }

        private static double Triangle(double distance) => Math.Max(0.0, 1.0 - Math.Abs(distance));
    }
}
