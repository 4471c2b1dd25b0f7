using Pipeline.Shared.Imaging;
using Xunit;
using static Pipeline.Tests.Imaging.TestPictures;

namespace Pipeline.Tests.Imaging;

public sealed class ImageResamplingTests
{
    [Fact]
    public void Resizing_to_a_square_ignores_the_aspect_ratio()
    {
        var resized = ImageResampling.ResizeSquare(ColourGradient(90, 30), 16);

        Assert.Equal((16, 16), (resized.Width, resized.Height));
    }

    [Theory]
    [InlineData(50, 20, 7)]
    [InlineData(7, 9, 64)]
    [InlineData(100, 100, 33)]
    public void A_uniform_picture_stays_exactly_uniform(int width, int height, int size)
    {
        var resized = ImageResampling.ResizeSquare(Uniform(width, height, (37, 150, 201)), size);

        Assert.Equal(Uniform(size, size, (37, 150, 201)).Pixels, resized.Pixels);
    }

    [Fact]
    public void Halving_mixes_each_pixel_from_four_neighbours_weighted_1_3_3_1()
    {
        // PIL's bilinear reduction by 2: a triangle two source pixels wide on each side of the target centre.
        var impulse = FromFunction(16, 2, (x, _) => x == 5 ? ((byte)240, (byte)240, (byte)240) : ((byte)0, (byte)0, (byte)0));

        var halved = ImageResampling.Resize(impulse, 8, 1);

        Assert.Equal(new byte[] { 0, 0, 90, 30, 0, 0, 0, 0 }, Enumerable.Range(0, 8).Select(x => PixelAt(halved, x, 0).R));
    }

    [Fact]
    public void Shrinking_averages_fine_stripes_instead_of_aliasing_them()
    {
        var stripes = FromFunction(512, 512, (x, _) => x % 2 == 0 ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));

        var shrunk = ImageResampling.ResizeSquare(stripes, 100);

        Assert.All(shrunk.Pixels, value => Assert.InRange(value, 112, 143));
    }

    [Fact]
    public void Enlarging_keeps_an_edge_in_place_and_blends_it_smoothly()
    {
        var edge = FromFunction(8, 8, (x, _) => x < 4 ? ((byte)0, (byte)0, (byte)0) : ((byte)255, (byte)255, (byte)255));

        var enlarged = ImageResampling.ResizeSquare(edge, 32);

        var row = Enumerable.Range(0, 32).Select(x => PixelAt(enlarged, x, 10).R).ToArray();
        Assert.All(row[..13], value => Assert.Equal(0, value));
        Assert.All(row[19..], value => Assert.Equal(255, value));
        Assert.Equal(row.Order(), row);
    }

    [Fact]
    public void A_picture_already_at_the_size_comes_back_as_it_is()
    {
        var picture = ColourGradient(24, 24);

        Assert.Same(picture, ImageResampling.ResizeSquare(picture, 24));
    }

    [Fact]
    public void A_size_of_zero_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageResampling.ResizeSquare(ColourGradient(8, 8), 0));
    }
}
