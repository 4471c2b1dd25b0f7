namespace Pipeline.Shared.Imaging;

/// <summary>
/// A decoded 8-bit RGB image, pixels interleaved row by row (R, G, B, R, G, B, ...).
/// This is the compact form in which frames travel between decoding, scoring and training.
/// </summary>
public sealed record RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be positive, got {width}x{height}.");
        if (pixels.Length != checked(width * height * 3))
            throw new ArgumentException($"Expected {width * height * 3} bytes for a {width}x{height} RGB image, got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>Interleaved RGB bytes, <c>Width * Height * 3</c> long.</summary>
    public byte[] Pixels { get; }
}
