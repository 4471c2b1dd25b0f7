using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace Pipeline.Shared.Model;

/// <summary>
/// A square convolution (no bias of its own) and the inference-mode batch normalization after it, folded into one
/// convolution with bias: BN(conv(x, W)) = conv(x, W·s) + (β − μ·s), where s = γ / √(σ² + ε) per output channel.
/// Frozen: its parameters do not require gradients; they are written once, by <see cref="LoadFolded"/>.
/// </summary>
internal sealed class ConvBatchNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight; // [out, in, k, k], stored channels-last (see ChannelsLast)
    private readonly Parameter bias;   // [out]

    /// <param name="padding">Zero padding on every side.</param>
    public ConvBatchNorm(string name, long inChannels, long outChannels, long kernelSize, long stride, long padding, Device device)
        : base(name)
    {
        Stride = stride;
        Padding = padding;
        weight = new Parameter(ChannelsLast.Empty([outChannels, inChannels, kernelSize, kernelSize], device).DetachFromDisposeScope(), requires_grad: false);
        bias = new Parameter(zeros(outChannels, device: device).DetachFromDisposeScope(), requires_grad: false);
        RegisterComponents();
    }

    public long Stride { get; }

    public long Padding { get; }

    /// <summary>[out, in, k, k]</summary>
    public long[] WeightShape => weight.shape;

    public long OutChannels => weight.shape[0];

    public long KernelSize => weight.shape[2];

    /// <summary>Writes the convolution's weight with the batch normalization folded in; the fold is computed in float64.</summary>
    /// <param name="convolutionWeight">[out, in, k, k]</param>
    /// <param name="scale">γ, [out]</param>
    /// <param name="shift">β, [out]</param>
    /// <param name="mean">μ, the running mean, [out]</param>
    /// <param name="variance">σ², the running variance, [out]</param>
    /// <param name="epsilon">ε</param>
    public void LoadFolded(Tensor convolutionWeight, Tensor scale, Tensor shift, Tensor mean, Tensor variance, double epsilon)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var channelScale = scale.to(float64) / (variance.to(float64) + epsilon).sqrt(); // [out]
        var foldedWeight = convolutionWeight.to(float64) * channelScale.view(-1, 1, 1, 1); // [out, in, k, k]
        var foldedBias = shift.to(float64) - mean.to(float64) * channelScale; // [out]
        weight.copy_(foldedWeight.to(float32));
        bias.copy_(foldedBias.to(float32));
    }

    /// <summary>[B, in, H, W] → [B, out, H', W']</summary>
    public override Tensor forward(Tensor input) =>
        conv2d(input, weight, bias, strides: [Stride, Stride], padding: [Padding, Padding]);
}
