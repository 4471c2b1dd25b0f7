using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// PyTorch's channels-last memory format for 4-d image tensors: the shape stays [B, C, H, W], but the values lie in
/// memory in [B, H, W, C] order. libtorch's CPU convolutions (oneDNN) and max pooling run their fast kernels on it,
/// and an operation on a channels-last input gives a channels-last output, so converting a network's input and its
/// convolution weights once keeps the whole network in that format. TorchSharp has no <c>memory_format</c> argument,
/// so the layout is made the way PyTorch defines it: a contiguous [B, H, W, C] tensor seen through a permutation.
/// </summary>
public static class ChannelsLast
{
    /// <summary><paramref name="images"/> [B, C, H, W] copied into channels-last order (the same values and shape).</summary>
    public static Tensor Of(Tensor images)
    {
        RequireFourDimensions(images.shape);
        return images.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>An uninitialized [B, C, H, W] tensor stored channels-last, for weights that are written later.</summary>
    public static Tensor Empty(long[] shape, Device device)
    {
        RequireFourDimensions(shape);
        return empty([shape[0], shape[2], shape[3], shape[1]], device: device).permute(0, 3, 1, 2);
    }

    /// <summary>Whether <paramref name="images"/> lies in memory in [B, H, W, C] order.</summary>
    public static bool Holds(Tensor images)
    {
        if (images.dim() != 4) return false;
        var (shape, strides) = (images.shape, images.stride());
        return strides[1] == 1 && strides[3] == shape[1] && strides[2] == shape[1] * shape[3] && strides[0] == shape[1] * shape[2] * shape[3];
    }

    private static void RequireFourDimensions(long[] shape)
    {
        if (shape.Length != 4) throw new ArgumentException($"Channels-last applies to [B, C, H, W] tensors, not to one of shape [{string.Join(", ", shape)}].");
    }
}
