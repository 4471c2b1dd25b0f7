using Pipeline.Shared.Imaging;
using SkiaSharp;

namespace Pipeline.Shared.Maps;

/// <summary>Anomaly maps as pictures: the small grayscale PNG the stream publishes, and a colour overlay on the frame for people.</summary>
public static class AnomalyMapImages
{
    /// <summary>
    /// The map as an 8-bit grayscale PNG in the frame's aspect, its longer side <paramref name="longSide"/> pixels
    /// (bilinear): 0 is a map value of 0, 255 the map's peak (<see cref="AnomalyMap.Peak"/>, which travels beside it).
    /// </summary>
    public static byte[] ToGrayscalePng(AnomalyMap map, int longSide, FrameSize frame)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(longSide);
        var scale = (double)longSide / Math.Max(frame.Width, frame.Height);
        int width = Math.Max(1, (int)Math.Round(frame.Width * scale)), height = Math.Max(1, (int)Math.Round(frame.Height * scale));
        var resized = Resize(map, width, height);
        var peak = map.Peak;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < resized.Length; i++)
            pixels[i] = peak > 0 ? (byte)Math.Clamp((int)Math.Round(255 * resized[i] / peak), 0, 255) : (byte)0;
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"Skia could not encode a {width}x{height} grayscale anomaly map as PNG.");
        return encoded.ToArray();
    }

    /// <summary>
    /// The frame with the map laid over it in colour (transparent where the map is low, through yellow to red at
    /// <paramref name="scale"/>; values above it are red) and, where a mask is given, the mask's outline in cyan.
    /// </summary>
    /// <param name="frame">The frame as decoded, at its own size.</param>
    /// <param name="scale">The map value shown fully red; the map's peak when null.</param>
    /// <param name="mask">Defective pixels of the frame, at the frame's size, or null.</param>
    public static RgbImage Overlay(RgbImage frame, AnomalyMap map, double? scale = null, bool[]? mask = null)
    {
        var values = Resize(map, frame.Width, frame.Height);
        var top = scale ?? map.Peak;
        var pixels = (byte[])frame.Pixels.Clone();
        for (var i = 0; i < values.Length; i++)
        {
            var v = top > 0 ? Math.Clamp(values[i] / top, 0, 1) : 0;
            var (r, g, b) = Heat(v);
            var alpha = 0.65 * v;
            pixels[3 * i] = Blend(pixels[3 * i], r, alpha);
            pixels[3 * i + 1] = Blend(pixels[3 * i + 1], g, alpha);
            pixels[3 * i + 2] = Blend(pixels[3 * i + 2], b, alpha);
        }
        if (mask is not null)
        {
            if (mask.Length != frame.Width * frame.Height)
                throw new ArgumentException($"The mask has {mask.Length} pixels, the frame {frame.Width}x{frame.Height}.", nameof(mask));
            for (var y = 0; y < frame.Height; y++)
            for (var x = 0; x < frame.Width; x++)
            {
                if (!mask[y * frame.Width + x] || !OnEdge(mask, frame.Width, frame.Height, x, y)) continue;
                var at = 3 * (y * frame.Width + x);
                (pixels[at], pixels[at + 1], pixels[at + 2]) = ((byte)0, (byte)255, (byte)255);
            }
        }
        return new RgbImage(frame.Width, frame.Height, pixels);
    }

    /// <summary>The map resized bilinearly (pixel centres aligned) to <paramref name="width"/> × <paramref name="height"/>, row by row.</summary>
    public static float[] Resize(AnomalyMap map, int width, int height)
    {
        var result = new float[width * height];
        double sx = (double)map.Width / width, sy = (double)map.Height / height;
        for (var y = 0; y < height; y++)
        {
            var fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, map.Height - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, map.Height - 1);
            var wy = fy - y0;
            for (var x = 0; x < width; x++)
            {
                var fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, map.Width - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, map.Width - 1);
                var wx = fx - x0;
                var top = map.At(x0, y0) * (1 - wx) + map.At(x1, y0) * wx;
                var bottom = map.At(x0, y1) * (1 - wx) + map.At(x1, y1) * wx;
                result[y * width + x] = (float)(top * (1 - wy) + bottom * wy);
            }
        }
        return result;
    }

    private static bool OnEdge(bool[] mask, int width, int height, int x, int y)
    {
        for (var dy = -1; dy <= 1; dy++)
        for (var dx = -1; dx <= 1; dx++)
        {
            int nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= width || ny >= height || !mask[ny * width + nx]) return true;
        }
        return false;
    }

    /// <summary>0 → yellow, 1 → red.</summary>
    private static (byte R, byte G, byte B) Heat(double v) => (255, (byte)Math.Round(230 * (1 - v)), 0);

    private static byte Blend(byte under, byte over, double alpha) => (byte)Math.Round(under * (1 - alpha) + over * alpha);
}
