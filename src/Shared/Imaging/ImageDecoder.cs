using SkiaSharp;

namespace Pipeline.Shared.Imaging;

/// <summary>
/// Turns encoded image files (JPEG, PNG, BMP, GIF, WebP: whatever Skia decodes) into
/// <see cref="RgbImage"/>s, and refuses with an <see cref="ImageDecodeException"/> anything that would
/// not give the complete picture.
/// </summary>
/// <remarks>
/// Every source becomes 8-bit RGB: grayscale is copied into the three channels, palette images are
/// expanded, 16-bit samples are reduced to 8 bits, and alpha is dropped after decoding unpremultiplied
/// (a half-transparent red pixel stays red, not dark red). Pixel values are taken as stored: no colour
/// profile is applied and the EXIF orientation is not applied, as in PIL's <c>Image.open</c>, which
/// DifferNet's reference training reads with.
/// <para>
/// Data that ends early is refused (Skia reports it as incomplete input). A JPEG whose data is
/// complete but damaged in the middle is not: libjpeg-turbo decodes it to the end, filling what it
/// cannot read with grey, and Skia reports success.
/// </para>
/// </remarks>
public static class ImageDecoder
{
    /// <summary>The largest picture decoded unless the caller says otherwise: 50 megapixels.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <param name="encoded">The bytes of an image file.</param>
    /// <param name="sourceName">Where the bytes came from (a path, a camera and frame), named in errors.</param>
    /// <param name="maxPixels">Pictures with more pixels than this are refused before they are decoded.</param>
    /// <exception cref="ImageDecodeException">The data is empty, not an image, truncated, corrupt or too large.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string sourceName, long maxPixels = DefaultMaxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        if (encoded.IsEmpty)
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.Empty,
                $"'{sourceName}' is empty (0 bytes); expected an encoded image such as a JPEG, PNG or BMP file.");

        // Skia refuses a WebP canvas of more than 2^29 pixels as invalid input, before reading its size out.
        if (ExtendedWebPCanvas(encoded) is var (canvasWidth, canvasHeight) && (long)canvasWidth * canvasHeight > maxPixels)
            throw TooLarge(sourceName, "WEBP", canvasWidth, canvasHeight, maxPixels);

        using var data = SKData.CreateCopy(encoded);
        // The codec takes ownership of the stream (and frees it itself when it cannot be created).
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var opened);
        if (codec is null)
            throw OpenFailure(sourceName, opened, encoded);

        var format = codec.EncodedFormat.ToString().ToUpperInvariant();
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if ((long)width * height > maxPixels)
            throw TooLarge(sourceName, format, width, height, maxPixels);

        // No colour space on the target: Skia then copies the stored values without colour management.
        var rgbaInfo = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = GC.AllocateUninitializedArray<byte>(rgbaInfo.BytesSize);
        var decoded = codec.GetPixels(rgbaInfo, rgba);
        if (decoded != SKCodecResult.Success)
            throw PixelFailure(sourceName, decoded, format, width, height);

        return new RgbImage(width, height, DropAlpha(rgba, width * height));
    }

    /// <summary>Reads and decodes an image file; see <see cref="Decode"/>.</summary>
    /// <exception cref="ImageDecodeException">The file cannot be read, or its content is refused by <see cref="Decode"/>.</exception>
    public static RgbImage DecodeFile(string path, long maxPixels = DefaultMaxPixels)
    {
        byte[] encoded;
        try
        {
            encoded = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var problem = Directory.Exists(path) ? "it is a folder, not an image file" : e.Message.TrimEnd('.');
            throw new ImageDecodeException(path, ImageDecodeFailure.Unreadable,
                $"Cannot read image file '{path}': {problem}. Check the path and that this process may read the file.", e);
        }
        return Decode(encoded, path, maxPixels);
    }

    private static ImageDecodeException TooLarge(string sourceName, string format, int width, int height, long maxPixels) =>
        new(sourceName, ImageDecodeFailure.TooLarge,
            $"'{sourceName}' is a {width}x{height} {format} image ({(long)width * height:N0} pixels), over the limit of "
            + $"{maxPixels:N0} pixels. Send a smaller image or raise the limit.");

    /// <summary>
    /// The canvas size an extended WebP (RIFF, WEBP, then a VP8X chunk) declares, or null for any other data. Its
    /// fields are 24 bits each (the size minus one), so it may declare up to 16,777,216 pixels a side.
    /// </summary>
    private static (int Width, int Height)? ExtendedWebPCanvas(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length < 30 || !encoded[..4].SequenceEqual("RIFF"u8) || !encoded[8..12].SequenceEqual("WEBP"u8) || !encoded[12..16].SequenceEqual("VP8X"u8))
            return null;
        static int Field(ReadOnlySpan<byte> bytes) => 1 + (bytes[0] | bytes[1] << 8 | bytes[2] << 16);
        return (Field(encoded[24..27]), Field(encoded[27..30]));
    }

    private static ImageDecodeException OpenFailure(string sourceName, SKCodecResult result, ReadOnlySpan<byte> encoded) => result switch
    {
        // Skia answers "unimplemented" when no codec recognises the first bytes.
        SKCodecResult.Unimplemented => new ImageDecodeException(sourceName, ImageDecodeFailure.UnsupportedFormat,
            $"'{sourceName}' is not in an image format this decoder reads (it starts with bytes "
            + $"{Convert.ToHexString(encoded[..Math.Min(8, encoded.Length)])}); expected JPEG, PNG, BMP, GIF or WebP."),
        SKCodecResult.IncompleteInput => new ImageDecodeException(sourceName, ImageDecodeFailure.Truncated,
            $"'{sourceName}' is truncated: its {encoded.Length} bytes end inside the image header. Send the complete file."),
        _ => new ImageDecodeException(sourceName, ImageDecodeFailure.Corrupt,
            $"'{sourceName}' has an unreadable image header (Skia reports {result}). Re-export or re-send the file."),
    };

    private static ImageDecodeException PixelFailure(string sourceName, SKCodecResult result, string format, int width, int height) => result switch
    {
        SKCodecResult.IncompleteInput => new ImageDecodeException(sourceName, ImageDecodeFailure.Truncated,
            $"'{sourceName}' is a truncated {width}x{height} {format} image: the data ends before the whole picture. "
            + "Send the complete file."),
        _ => new ImageDecodeException(sourceName, ImageDecodeFailure.Corrupt,
            $"'{sourceName}' is a corrupt {width}x{height} {format} image (Skia reports {result} while decoding its pixels). "
            + "Re-export or re-send the file."),
    };

    private static byte[] DropAlpha(byte[] rgba, int pixelCount)
    {
        var rgb = GC.AllocateUninitializedArray<byte>(pixelCount * 3);
        for (int pixel = 0, from = 0, to = 0; pixel < pixelCount; pixel++, from += 4, to += 3)
        {
            rgb[to] = rgba[from];
            rgb[to + 1] = rgba[from + 1];
            rgb[to + 2] = rgba[from + 2];
        }
        return rgb;
    }
}
