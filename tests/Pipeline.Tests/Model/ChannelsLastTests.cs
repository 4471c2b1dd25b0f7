using Pipeline.Shared.Model;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

public sealed class ChannelsLastTests
{
    [Fact]
    public void A_copy_keeps_shape_and_values_and_puts_the_channels_innermost()
    {
        using var scope = NewDisposeScope();
        var images = arange(2 * 3 * 4 * 5, dtype: float32).reshape(2, 3, 4, 5);

        var channelsLast = ChannelsLast.Of(images);

        Assert.Equal(images.shape, channelsLast.shape);
        Assert.True(channelsLast.equal(images).all().item<bool>());
        Assert.Equal([60L, 1, 15, 3], channelsLast.stride()); // [B, H, W, C] in memory
        Assert.True(ChannelsLast.Holds(channelsLast));
        Assert.False(ChannelsLast.Holds(images));
    }

    [Fact]
    public void An_empty_tensor_is_laid_out_channels_last_and_takes_values_by_index()
    {
        using var scope = NewDisposeScope();
        var weight = ChannelsLast.Empty([4, 3, 2, 2], CPU);
        var values = arange(4 * 3 * 2 * 2, dtype: float32).reshape(4, 3, 2, 2);

        weight.copy_(values);

        Assert.True(ChannelsLast.Holds(weight));
        Assert.True(weight.equal(values).all().item<bool>());
    }

    [Fact]
    public void Only_image_batches_have_a_channels_last_layout()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => ChannelsLast.Of(zeros(3, 4)));
        Assert.Contains("[B, C, H, W]", error.Message);
        Assert.False(ChannelsLast.Holds(zeros(3, 4)));
    }
}
