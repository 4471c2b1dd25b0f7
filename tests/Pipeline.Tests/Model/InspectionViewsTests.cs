using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

public class InspectionViewsTests
{
    private static RgbImage Gradient(int size)
    {
        var pixels = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var at = (y * size + x) * 3;
                (pixels[at], pixels[at + 1], pixels[at + 2]) = ((byte)(x * 7), (byte)(y * 5), (byte)((x + y) * 3));
            }
        return new RgbImage(size, size, pixels);
    }

    [Fact]
    public void Test_views_are_rotations_evenly_spaced_over_the_circle()
    {
        var views = InspectionViews.ForTesting(8, rotations: true);
        Assert.Equal([0, 45, 90, 135, 180, 225, 270, 315], views.Select(v => v.RotationDegrees));
        Assert.All(views, v => Assert.Equal((1.0, 1.0, 1.0), (v.Brightness, v.Contrast, v.Saturation)));
    }

    [Fact]
    public void Without_rotations_an_image_has_one_view_of_itself()
    {
        Assert.Equal([ViewTransform.Identity], InspectionViews.ForTesting(64, rotations: false));
    }

    [Fact]
    public void Training_views_are_random_but_reproducible_from_the_seed()
    {
        var augmentation = new AugmentationOptions(Rotations: true, Brightness: 0.2);
        var first = InspectionViews.ForTraining(4, augmentation, new Random(3));
        Assert.Equal(first, InspectionViews.ForTraining(4, augmentation, new Random(3)));
        Assert.Equal(4, first.Select(v => v.RotationDegrees).Distinct().Count());
        Assert.All(first, v => Assert.InRange(v.Brightness, 0.8, 1.2));
        Assert.All(first, v => Assert.Equal(1.0, v.Contrast));
    }

    [Fact]
    public void The_unrotated_view_is_the_image_itself()
    {
        using var scope = NewDisposeScope();
        var image = InspectionViews.ToTensor(Gradient(16), CPU);
        var views = InspectionViews.Render(image, [ViewTransform.Identity]);
        Assert.Equal([1L, 3, 16, 16], views.shape);
        Assert.Equal(0f, (views[0] - image).abs().max().item<float>());
        Assert.Equal(7f * 3, image[0, 5, 3].item<float>()); // red = 7·x at row 5, column 3
    }

    [Fact]
    public void A_quarter_turn_moves_every_pixel_exactly()
    {
        using var scope = NewDisposeScope();
        var image = InspectionViews.ToTensor(Gradient(16), CPU);
        var turned = InspectionViews.Render(image, [new ViewTransform(90)])[0];
        // A quarter turn of a square image is a transpose and a flip; which direction does not matter for the score.
        var clockwise = image.transpose(1, 2).flip(2);
        var counterClockwise = image.transpose(1, 2).flip(1);
        var error = Math.Min((turned - clockwise).abs().max().item<float>(), (turned - counterClockwise).abs().max().item<float>());
        Assert.True(error < 1e-3, $"max difference to an exact quarter turn: {error}");
    }

    [Fact]
    public void Colour_factors_of_one_leave_the_image_unchanged_and_brightness_scales_it()
    {
        using var scope = NewDisposeScope();
        var image = InspectionViews.ToTensor(Gradient(8), CPU);
        var views = InspectionViews.Render(image, [new ViewTransform(0, 1, 1, 1), new ViewTransform(0, Brightness: 0.5)]);
        Assert.Equal(0f, (views[0] - image).abs().max().item<float>());
        Assert.True((views[1] - image * 0.5).abs().max().item<float>() < 1e-4);
    }
}
