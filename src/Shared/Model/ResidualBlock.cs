using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pipeline.Shared.Model;

/// <summary>
/// ResNet's basic block: relu(second(relu(first(x))) + shortcut(x)), where a block that changes the channel count
/// (always with stride 2 in ResNet-18) takes a 1×1 strided convolution as its shortcut and the others pass x through.
/// </summary>
/// <remarks>
/// The ONNX file pads the stride-2 3×3 convolution [top 1, left 1, bottom 0, right 0]; it was exported for even
/// sizes, where that and padding 1 on every side give the same result (the bottom/right padding row is never
/// read). At an odd height or width the file's graph is not defined: its 3×3 path gives ⌊H/2⌋ rows and its 1×1
/// shortcut ⌈H/2⌉, which the Add cannot join. Padding 1 on every side gives ⌈H/2⌉ rows, the shortcut's size, so
/// every input size works and even sizes reproduce the file exactly.
/// </remarks>
internal sealed class ResidualBlock : Module<Tensor, Tensor>
{
    private readonly ConvBatchNorm first;     // 3×3, stride 1 or 2
    private readonly ConvBatchNorm second;    // 3×3, stride 1
    private readonly ConvBatchNorm? shortcut; // 1×1, the block's stride; null where input and output sizes agree

    public ResidualBlock(string name, long inChannels, long outChannels, long stride, Device device) : base(name)
    {
        first = new ConvBatchNorm(nameof(first), inChannels, outChannels, kernelSize: 3, stride, padding: 1, device);
        second = new ConvBatchNorm(nameof(second), outChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, device);
        if (stride != 1 || inChannels != outChannels)
            shortcut = new ConvBatchNorm(nameof(shortcut), inChannels, outChannels, kernelSize: 1, stride, padding: 0, device);
        RegisterComponents();
    }

    /// <summary>
    /// The block's convolutions in the order the CNTK export lists them: the shortcut (where there is one) first.
    /// </summary>
    public IEnumerable<(string Role, ConvBatchNorm Convolution)> ConvolutionsInGraphOrder()
    {
        if (shortcut is not null)
            yield return (nameof(shortcut), shortcut);
        yield return (nameof(first), first);
        yield return (nameof(second), second);
    }

    /// <summary>[B, in, H, W] → [B, out, ⌈H/stride⌉, ⌈W/stride⌉]</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var residual = second.call(first.call(input).relu_()); // [B, out, H', W']
        var shortcutOutput = shortcut is null ? input : shortcut.call(input); // [B, out, H', W']
        return residual.add_(shortcutOutput).relu_().MoveToOuterDisposeScope();
    }
}
