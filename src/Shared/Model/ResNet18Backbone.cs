using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace Pipeline.Shared.Model;

/// <summary>
/// The ImageNet-pretrained ResNet-18 of the ONNX file <c>ResNet18.onnx</c> (exported by CNTK), rebuilt in TorchSharp
/// with the batch normalizations folded into the convolutions. Frozen: no parameter requires gradients, and the
/// module has no layer whose behaviour depends on training mode. Gradients still flow to the input.
/// </summary>
/// <remarks>
/// The file's network differs from torchvision's resnet18 in two ways: its last stage has three residual blocks, not
/// two (9 blocks, 22 convolutions in all), and its stride-2 layers pad asymmetrically, as CNTK does.
/// <para>
/// Input is what <see cref="BackbonePreprocessing"/> produces: BGR, 0..255 minus the mean image, [B, 3, H, W],
/// float32, on the device the backbone was loaded to. At 224×224 <see cref="forward"/> equals the file's output.
/// The convolutions' weights and activations are kept channels-last (<see cref="ChannelsLast"/>): measured on the
/// 2-core CPU, the scoring step of a batch of 8 frames × 8 views at 128 px took 74–84 ms per frame against 114 ms in
/// PyTorch's default layout (docs/benchmarks.md). Outputs have the usual [B, C, H, W] shape either way.
/// Other sizes follow the file's padding (see <see cref="StemConvolutionPads"/> and <see cref="ResidualBlock"/>).
/// </para>
/// </remarks>
public sealed class ResNet18Backbone : Module<Tensor, Tensor>
{
    /// <summary>Channels of <see cref="Layer3"/>'s output.</summary>
    public const int Layer3Channels = 256;

    /// <summary>Length of the pooled feature <see cref="forward"/> returns.</summary>
    public const int PooledFeatureSize = 512;

    /// <summary>The smallest height and width the stem accepts.</summary>
    public const int MinimumInputSize = 4;

    /// <summary>
    /// The file's padding of the 7×7 stride-2 stem convolution, ONNX order [top, left, bottom, right]; applied as
    /// written, so the stem gives ⌊H/2⌋ rows for every H.
    /// </summary>
    internal static readonly long[] StemConvolutionPads = [3, 3, 2, 2];

    /// <summary>
    /// The file's padding of the 3×3 stride-2 max pool, [top, left, bottom, right]. Zero padding equals the max
    /// pool's own (−∞) because its input comes out of a ReLU (≥ 0) and every window holds at least one input value.
    /// </summary>
    internal static readonly long[] MaxPoolPads = [1, 1, 0, 0];

    private readonly ConvBatchNorm stem;                // 7×7 stride 2, 3 → 64
    private readonly ModuleList<ResidualBlock> layer1;  // 2 blocks, 64 → 64, stride 1
    private readonly ModuleList<ResidualBlock> layer2;  // 2 blocks, 64 → 128, stride 2
    private readonly ModuleList<ResidualBlock> layer3;  // 2 blocks, 128 → 256, stride 2
    private readonly ModuleList<ResidualBlock> layer4;  // 3 blocks, 256 → 512, stride 2

    /// <summary>An unloaded backbone (weights uninitialized); <see cref="LoadFromOnnx"/> is the way to get one.</summary>
    internal ResNet18Backbone(Device device) : base(nameof(ResNet18Backbone))
    {
        stem = new ConvBatchNorm(nameof(stem), 3, 64, kernelSize: 7, stride: 2, padding: 0, device);
        layer1 = Layer(blockCount: 2, 64, 64, stride: 1, device);
        layer2 = Layer(blockCount: 2, 64, 128, stride: 2, device);
        layer3 = Layer(blockCount: 2, 128, Layer3Channels, stride: 2, device);
        layer4 = Layer(blockCount: 3, Layer3Channels, PooledFeatureSize, stride: 2, device);
        RegisterComponents();
        eval();
    }

    /// <summary>
    /// Reads the network from the CNTK-exported <c>ResNet18.onnx</c> (see <see cref="PretrainedBackboneFiles"/>).
    /// Refuses, with an <see cref="InvalidDataException"/> naming the file and what differs, any file whose graph is
    /// not that ResNet-18: other operators, other convolution geometry, other weight shapes.
    /// </summary>
    public static ResNet18Backbone LoadFromOnnx(string onnxPath, Device device) => ResNet18OnnxImport.Load(onnxPath, device);

    /// <summary>Preprocessed [B, 3, H, W] → the global average of the last layer, [B, 512].</summary>
    public override Tensor forward(Tensor preprocessed)
    {
        using var scope = NewDisposeScope();
        var features = Layer3(preprocessed);           // [B, 256, H/16, W/16]
        foreach (var block in layer4)
            features = block.call(features);           // [B, 512, H/32, W/32]
        return features.mean([2L, 3L]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Preprocessed [B, 3, H, W] → the output of the stem and layers 1 to 3, [B, 256, H', W'], where H' is about H/16:
    /// H' = ⌈⌈⌊⌊H/2⌋/2⌋/2⌉/2⌉.
    /// </summary>
    public Tensor Layer3(Tensor preprocessed)
    {
        RequireImageBatch(preprocessed);
        using var scope = NewDisposeScope();
        var features = Stem(ChannelsLast.Of(preprocessed)); // [B, 64, H/4, W/4], channels-last from here on
        foreach (var block in layer1.Concat(layer2).Concat(layer3))
            features = block.call(features);
        return features.MoveToOuterDisposeScope();
    }

    /// <summary>The convolutions in the order the ONNX file lists them, with names for messages.</summary>
    internal IEnumerable<(string Name, ConvBatchNorm Convolution)> ConvolutionsInGraphOrder()
    {
        yield return (nameof(stem), stem);
        var layers = new[] { (nameof(layer1), layer1), (nameof(layer2), layer2), (nameof(layer3), layer3), (nameof(layer4), layer4) };
        foreach (var (layerName, layer) in layers)
            for (var blockIndex = 0; blockIndex < layer.Count; blockIndex++)
                foreach (var (role, convolution) in layer[blockIndex].ConvolutionsInGraphOrder())
                    yield return ($"{layerName}.{blockIndex}.{role}", convolution);
    }

    internal bool IsStem(ConvBatchNorm convolution) => ReferenceEquals(convolution, stem);

    /// <summary>[B, 3, H, W] → [B, 64, ⌊⌊H/2⌋/2⌋, ⌊⌊W/2⌋/2⌋]</summary>
    private Tensor Stem(Tensor preprocessed)
    {
        using var scope = NewDisposeScope();
        var convolved = stem.call(PadAsOnnx(preprocessed, StemConvolutionPads)).relu_(); // [B, 64, H/2, W/2]
        var pooled = max_pool2d(PadAsOnnx(convolved, MaxPoolPads), kernel_size: [3, 3], strides: [2, 2]);
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>Zero padding given in ONNX order [top, left, bottom, right].</summary>
    private static Tensor PadAsOnnx(Tensor input, long[] onnxPads) =>
        pad(input, (onnxPads[1], onnxPads[3], onnxPads[0], onnxPads[2])); // torch order: left, right, top, bottom

    /// <summary>A stage of residual blocks; the first changes channels and stride, the others keep them.</summary>
    private static ModuleList<ResidualBlock> Layer(int blockCount, long inChannels, long outChannels, long stride, Device device) =>
        new(Enumerable.Range(0, blockCount)
            .Select(index => index == 0
                ? new ResidualBlock($"{index}", inChannels, outChannels, stride, device)
                : new ResidualBlock($"{index}", outChannels, outChannels, stride: 1, device))
            .ToArray());

    private static void RequireImageBatch(Tensor preprocessed)
    {
        if (preprocessed.dim() != 4 || preprocessed.shape[1] != 3)
            throw new ArgumentException(
                $"ResNet18Backbone expects a preprocessed image batch [B, 3, H, W], got shape {OnnxFile.Shape(preprocessed.shape)}.",
                nameof(preprocessed));
        if (preprocessed.shape[2] < MinimumInputSize || preprocessed.shape[3] < MinimumInputSize)
            throw new ArgumentException(
                $"ResNet18Backbone needs images of at least {MinimumInputSize}×{MinimumInputSize} pixels, got {preprocessed.shape[2]}×{preprocessed.shape[3]}.",
                nameof(preprocessed));
    }
}
