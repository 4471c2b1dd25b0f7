using SkiaSharp;

namespace Pipeline.Shared.Imaging;

/// <summary>Encodes <see cref="RgbImage"/>s as image files, and makes small previews of them.</summary>
public static class ImageEncoding
{
    /// <summary>A lossless 8-bit RGB PNG.</summary>
    public static byte[] ToPng(RgbImage image) => Encode(image, SKEncodedImageFormat.Png, quality: 100);

    /// <param name="quality">1 (smallest) to 100 (best).</param>
    public static byte[] ToJpeg(RgbImage image, int quality = 90)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        return Encode(image, SKEncodedImageFormat.Jpeg, quality);
    }

    /// <summary>
    /// Shrinks <paramref name="image"/>, keeping its aspect ratio, so that its longer side is
    /// <paramref name="maxSide"/>; returns it unchanged when it is no larger than that already.
    /// </summary>
    public static RgbImage Thumbnail(RgbImage image, int maxSide)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);
        int longer = Math.Max(image.Width, image.Height);
        if (longer <= maxSide)
            return image;
        double scale = (double)maxSide / longer;
        return ImageResampling.Resize(image,
            Math.Max(1, (int)Math.Round(image.Width * scale)),
            Math.Max(1, (int)Math.Round(image.Height * scale)));
    }

    private static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality)
    {
        // Skia has no 3-byte pixel format, and its JPEG encoder refuses Rgb888x; opaque RGBA encodes
        // as RGB in both formats.
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = bitmap.GetPixelSpan();
        var rgb = image.Pixels;
        for (int from = 0, to = 0; from < rgb.Length; from += 3, to += 4)
        {
            rgba[to] = rgb[from];
            rgba[to + 1] = rgb[from + 1];
            rgba[to + 2] = rgb[from + 2];
            rgba[to + 3] = 255;
        }
        using var encoded = bitmap.Encode(format, quality)
            ?? throw new InvalidOperationException($"Skia could not encode a {image.Width}x{image.Height} RGB image as {format}.");
        return encoded.ToArray();
    }
}
