using Pipeline.Shared.Imaging;
using Xunit;

namespace Pipeline.Tests.Imaging;

/// <summary>Small pictures with known content for imaging tests.</summary>
public static class TestPictures
{
    /// <summary>Red rises to the right, green downwards, blue is constant: smooth, so lossy coding stays close.</summary>
    public static RgbImage ColourGradient(int width, int height) => FromFunction(width, height,
        (x, y) => ((byte)(255 * x / Math.Max(1, width - 1)), (byte)(255 * y / Math.Max(1, height - 1)), 96));

    /// <summary>Every pixel the same colour.</summary>
    public static RgbImage Uniform(int width, int height, (byte R, byte G, byte B) colour) =>
        FromFunction(width, height, (_, _) => colour);

    public static RgbImage FromFunction(int width, int height, Func<int, int, (byte R, byte G, byte B)> colourAt)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colourAt(x, y);
                int at = (y * width + x) * 3;
                (pixels[at], pixels[at + 1], pixels[at + 2]) = (r, g, b);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    public static (byte R, byte G, byte B) PixelAt(RgbImage image, int x, int y)
    {
        int at = (y * image.Width + x) * 3;
        return (image.Pixels[at], image.Pixels[at + 1], image.Pixels[at + 2]);
    }

    /// <summary>The mean absolute difference of two same-sized images, over all channels.</summary>
    public static double MeanAbsoluteDifference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        long total = 0;
        for (int i = 0; i < a.Pixels.Length; i++)
            total += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        return (double)total / a.Pixels.Length;
    }
}
