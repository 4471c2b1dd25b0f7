using Pipeline.Shared;
using Pipeline.Shared.Imaging;
using SkiaSharp;
using Xunit;
using static Pipeline.Tests.Imaging.TestPictures;

namespace Pipeline.Tests.Imaging;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_grayscale_png_becomes_rgb_with_three_equal_channels()
    {
        var path = _folder.Write("gray.png", GrayPicture(40, 30, SKEncodedImageFormat.Png));

        var image = ImageDecoder.DecodeFile(path);

        Assert.Equal((40, 30), (image.Width, image.Height));
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 40; x++)
                Assert.Equal((GrayAt(x, y), GrayAt(x, y), GrayAt(x, y)), PixelAt(image, x, y));
    }

    [Fact]
    public void A_grayscale_jpeg_becomes_rgb_with_three_equal_channels()
    {
        var path = _folder.Write("gray.jpg", GrayPicture(40, 30, SKEncodedImageFormat.Jpeg));

        var image = ImageDecoder.DecodeFile(path);

        for (int y = 0; y < 30; y++)
        {
            for (int x = 0; x < 40; x++)
            {
                var (r, g, b) = PixelAt(image, x, y);
                Assert.True(r == g && g == b, $"Pixel ({x}, {y}) is ({r}, {g}, {b}), not gray.");
                Assert.InRange(r, GrayAt(x, y) - 4, GrayAt(x, y) + 4);
            }
        }
    }

    [Fact]
    public void An_rgba_png_loses_its_alpha_but_keeps_its_unpremultiplied_colours()
    {
        // Premultiplying (200, 100, 50) by an alpha of 1/255 and back would give (255, 0, 0).
        byte[] alphas = [255, 128, 1, 0];
        using var bitmap = new SKBitmap(new SKImageInfo(alphas.Length, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgba = bitmap.GetPixelSpan();
        for (int x = 0; x < alphas.Length; x++)
            (rgba[x * 4], rgba[x * 4 + 1], rgba[x * 4 + 2], rgba[x * 4 + 3]) = ((byte)200, (byte)100, (byte)50, alphas[x]);
        var path = _folder.Write("rgba.png", bitmap.Encode(SKEncodedImageFormat.Png, 100).ToArray());

        var image = ImageDecoder.DecodeFile(path);

        for (int x = 0; x < alphas.Length; x++)
            Assert.Equal(((byte)200, (byte)100, (byte)50), PixelAt(image, x, 0));
    }

    [Fact]
    public void A_16_bit_png_is_scaled_to_8_bits()
    {
        // 257 * v is the 16-bit sample that means the same brightness as the 8-bit v.
        var path = _folder.Write("deep.png", HandMadeImageFiles.Gray16Png(16, 16, (x, y) => (ushort)(257 * (y * 16 + x))));

        var image = ImageDecoder.DecodeFile(path);

        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
                Assert.Equal(((byte)(y * 16 + x), (byte)(y * 16 + x), (byte)(y * 16 + x)), PixelAt(image, x, y));
    }

    [Fact]
    public void A_palette_png_is_expanded_to_its_colours()
    {
        (byte R, byte G, byte B)[] palette = [(255, 0, 0), (0, 128, 0), (10, 20, 250)];
        var path = _folder.Write("palette.png", HandMadeImageFiles.PalettePng(6, 2, palette, (x, y) => (byte)((x + y) % 3)));

        var image = ImageDecoder.DecodeFile(path);

        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 6; x++)
                Assert.Equal(palette[(x + y) % 3], PixelAt(image, x, y));
    }

    [Fact]
    public void A_bmp_decodes_to_exactly_its_pixels()
    {
        // 13 px wide, so every row carries padding.
        var picture = ColourGradient(13, 7);
        var path = _folder.Write("picture.bmp", HandMadeImageFiles.Bmp24(picture));

        var image = ImageDecoder.DecodeFile(path);

        Assert.Equal(picture.Pixels, image.Pixels);
    }

    [Fact]
    public void A_jpeg_decodes_close_to_the_picture_it_was_made_from()
    {
        var picture = ColourGradient(64, 48);
        var path = _folder.Write("picture.jpg", ImageEncoding.ToJpeg(picture, quality: 95));

        var image = ImageDecoder.DecodeFile(path);

        Assert.InRange(MeanAbsoluteDifference(picture, image), 0, 2);
    }

    [Fact]
    public void Bytes_from_memory_are_decoded_like_a_file()
    {
        var picture = ColourGradient(20, 10);

        var image = ImageDecoder.Decode(ImageEncoding.ToPng(picture), "camera-3 frame 17");

        Assert.Equal(picture.Pixels, image.Pixels);
    }

    [Fact]
    public void A_truncated_jpeg_is_refused_as_truncated_naming_the_file()
    {
        var jpeg = ImageEncoding.ToJpeg(ColourGradient(64, 64));
        var path = _folder.Write("cut.jpg", jpeg[..(jpeg.Length * 6 / 10)]);

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));

        Assert.Equal(ImageDecodeFailure.Truncated, refusal.Reason);
        Assert.Equal("truncated", refusal.ReasonCode);
        Assert.Contains(path, refusal.Message);
        Assert.Equal(path, refusal.SourceName);
    }

    [Fact]
    public void A_jpeg_missing_only_its_end_marker_is_refused_as_truncated()
    {
        var jpeg = ImageEncoding.ToJpeg(ColourGradient(64, 64));
        Assert.Equal([0xFF, 0xD9], jpeg[^2..]);

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(jpeg[..^2], "no-end-marker.jpg"));

        Assert.Equal(ImageDecodeFailure.Truncated, refusal.Reason);
    }

    [Fact]
    public void A_jpeg_cut_inside_its_header_is_refused_as_truncated()
    {
        var jpeg = ImageEncoding.ToJpeg(ColourGradient(64, 64));

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(jpeg[..20], "header-only.jpg"));

        Assert.Equal(ImageDecodeFailure.Truncated, refusal.Reason);
        Assert.Contains("header-only.jpg", refusal.Message);
    }

    [Fact]
    public void A_truncated_png_is_refused_as_truncated()
    {
        var png = ImageEncoding.ToPng(ColourGradient(64, 64));

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png[..(png.Length / 2)], "cut.png"));

        Assert.Equal(ImageDecodeFailure.Truncated, refusal.Reason);
    }

    [Fact]
    public void A_png_with_damaged_pixel_data_is_refused_as_corrupt()
    {
        var png = ImageEncoding.ToPng(NoisePicture(64, 64));
        var damaged = (byte[])png.Clone();
        for (int i = png.Length / 2; i < png.Length / 2 + 64; i++)
            damaged[i] ^= 0x5A;
        var path = _folder.Write("damaged.png", damaged);

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));

        Assert.Equal("corrupt", refusal.ReasonCode);
        Assert.Contains(path, refusal.Message);
    }

    [Fact]
    public void Random_bytes_are_refused_as_an_unsupported_format_naming_the_file()
    {
        var garbage = new byte[1000];
        new Random(5).NextBytes(garbage);
        var path = _folder.Write("garbage.png", garbage);

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));

        Assert.Equal("unsupported-format", refusal.ReasonCode);
        Assert.Contains(path, refusal.Message);
    }

    [Fact]
    public void An_empty_file_is_refused_as_empty_naming_the_file()
    {
        var path = _folder.Write("empty.jpg", []);

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));

        Assert.Equal("empty", refusal.ReasonCode);
        Assert.Contains(path, refusal.Message);
    }

    [Fact]
    public void A_missing_file_is_refused_as_unreadable_naming_the_file()
    {
        var path = Path.Combine(_folder.Path, "not-there.png");

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));

        Assert.Equal("unreadable", refusal.ReasonCode);
        Assert.Contains(path, refusal.Message);
    }

    [Fact]
    public void A_folder_given_as_an_image_file_is_refused_as_unreadable()
    {
        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(_folder.Path));

        Assert.Equal("unreadable", refusal.ReasonCode);
        Assert.Contains("is a folder", refusal.Message);
    }

    [Fact]
    public void An_image_over_the_pixel_limit_is_refused_as_too_large()
    {
        var png = ImageEncoding.ToPng(ColourGradient(40, 30));

        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "big.png", maxPixels: 1000));

        Assert.Equal("too-large", refusal.ReasonCode);
        Assert.Contains("40x30", refusal.Message);
        Assert.Contains("big.png", refusal.Message);
    }

    public static TheoryData<string, Func<int, int, byte[]>> DeclaredSizeFormats => new()
    {
        { "PNG", DeclaredSizeFiles.Png },
        { "JPEG", DeclaredSizeFiles.Jpeg },
        { "BMP", DeclaredSizeFiles.Bmp },
        { "GIF", DeclaredSizeFiles.Gif },
        { "WEBP", DeclaredSizeFiles.WebP },
    };

    [Theory]
    [MemberData(nameof(DeclaredSizeFormats))]
    public void A_tiny_file_whose_header_declares_30000_by_30000_pixels_is_refused_before_any_pixel_is_decoded(string format, Func<int, int, byte[]> file)
    {
        var encoded = file(30_000, 30_000);
        Assert.True(encoded.Length < 200, $"the {format} file is {encoded.Length} bytes");

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(encoded, "camera-1/frame-7", maxPixels: 50_000_000));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Equal("too-large", refusal.ReasonCode);
        Assert.Contains($"is a 30000x30000 {format} image (900,000,000 pixels), over the limit of 50,000,000 pixels", refusal.Message);
        // Decoding would have needed a buffer of 3.6 GB for the picture; the refusal allocates next to nothing.
        Assert.True(allocated < 1024 * 1024, $"{allocated:N0} bytes were allocated to refuse the {format} file");
    }

    [Theory]
    [MemberData(nameof(DeclaredSizeFormats))]
    public void The_declared_size_files_are_read_as_their_format_with_the_size_they_declare(string format, Func<int, int, byte[]> file)
    {
        // The same files declaring 5x4 pixels, over a limit of 19: the decoder takes them for what they claim to be.
        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(file(5, 4), "small", maxPixels: 19));

        Assert.Equal("too-large", refusal.ReasonCode);
        Assert.Contains($"is a 5x4 {format} image (20 pixels)", refusal.Message);
    }

    [Fact]
    public void A_refused_image_is_an_input_error_not_a_bug()
    {
        var refusal = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([], "frame"));

        Assert.IsAssignableFrom<PipelineInputException>(refusal);
    }

    private static byte GrayAt(int x, int y) => (byte)(x * 4 + y * 2);

    private static byte[] GrayPicture(int width, int height, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var gray = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                gray[y * width + x] = GrayAt(x, y);
        return bitmap.Encode(format, 95).ToArray();
    }

    private static RgbImage NoisePicture(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        new Random(11).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }
}
