using Pipeline.Shared.Imaging;
using Xunit;
using static Pipeline.Tests.Imaging.TestPictures;

namespace Pipeline.Tests.Imaging;

public sealed class ImageEncodingTests
{
    [Fact]
    public void A_png_gives_back_exactly_the_pixels_it_was_made_from()
    {
        var picture = ColourGradient(33, 17);

        Assert.Equal(picture.Pixels, ImageDecoder.Decode(ImageEncoding.ToPng(picture), "picture.png").Pixels);
    }

    [Fact]
    public void A_jpeg_comes_back_close_and_lower_quality_makes_it_smaller()
    {
        var picture = ColourGradient(64, 64);

        var good = ImageEncoding.ToJpeg(picture, quality: 95);
        var poor = ImageEncoding.ToJpeg(picture, quality: 20);

        Assert.InRange(MeanAbsoluteDifference(picture, ImageDecoder.Decode(good, "good.jpg")), 0, 2);
        Assert.True(poor.Length < good.Length, $"Quality 20 gave {poor.Length} bytes, quality 95 {good.Length}.");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void A_jpeg_quality_outside_1_to_100_is_rejected(int quality)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageEncoding.ToJpeg(ColourGradient(8, 8), quality));
    }

    [Fact]
    public void A_thumbnail_keeps_the_aspect_ratio_with_the_longer_side_at_the_limit()
    {
        var thumbnail = ImageEncoding.Thumbnail(ColourGradient(200, 100), maxSide: 50);

        Assert.Equal((50, 25), (thumbnail.Width, thumbnail.Height));
    }

    [Fact]
    public void A_picture_within_the_limit_is_its_own_thumbnail()
    {
        var picture = ColourGradient(40, 30);

        Assert.Same(picture, ImageEncoding.Thumbnail(picture, maxSide: 50));
    }
}
