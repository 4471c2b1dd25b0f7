using Onnx;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace Pipeline.Shared.Model;

/// <summary>
/// The input transform of the pretrained backbone, read from <c>ResNetPreprocess.onnx</c>: reorders the colour
/// channels as the file's Split/Concat does (RGB → BGR) and subtracts the file's per-pixel mean image.
/// </summary>
/// <remarks>
/// The mean image is 224×224. For other sizes it is resized bilinearly (align_corners = false); each size is
/// resized once and kept. Input is RGB float32 with values 0..255, [B, 3, H, W], on the device this was loaded to.
/// </remarks>
public sealed class BackbonePreprocessing : Module<Tensor, Tensor>
{
    private const string ExpectedContent = "the ResNet preprocessing graph (Split, Concat, Sub) that BackbonePreprocessing reads";

    private readonly Tensor channelOrder; // [3] int64: output channel c is input channel channelOrder[c]
    private readonly Tensor meanImage;    // [1, 3, 224, 224], in output channel order
    private readonly Dictionary<(long Height, long Width), Tensor> resizedMeanImages = [];

    private BackbonePreprocessing(long[] channelOrder, Tensor meanImage, Device device) : base(nameof(BackbonePreprocessing))
    {
        this.channelOrder = tensor(channelOrder, device: device).DetachFromDisposeScope();
        this.meanImage = meanImage.to(device).DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>
    /// Reads the preprocessing graph. Refuses, with an <see cref="InvalidDataException"/> naming the file and what
    /// differs, anything but Split(input, channels) → Concat(a reordering of the three) → Sub(mean image).
    /// </summary>
    public static BackbonePreprocessing LoadFromOnnx(string onnxPath, Device device)
    {
        var file = OnnxFile.Read(onnxPath, ExpectedContent, PretrainedBackboneFiles.PreprocessingRemedy);
        file.RequireOperatorCounts(new Dictionary<string, int> { ["Split"] = 1, ["Concat"] = 1, ["Sub"] = 1 });
        var input = file.SingleDataInput();
        var output = file.SingleOutput();

        var split = SoleReader(file, input.Name, "Split", "the graph input");
        if (OnnxFile.IntAttribute(split, "axis", 0) != 1 || split.Output.Count != 3
            || !OnnxFile.IntsAttribute(split, "split", [1, 1, 1]).SequenceEqual([1L, 1L, 1L]))
            throw file.Mismatch($"its {OnnxFile.Describe(split)} does not split the input into its three channels");

        var concat = SoleReader(file, split.Output[0], "Concat", "the first channel");
        var channelOrder = concat.Input.Select(name => (long)split.Output.IndexOf(name)).ToArray();
        if (OnnxFile.IntAttribute(concat, "axis", 0) != 1 || !channelOrder.Order().SequenceEqual([0L, 1L, 2L]))
            throw file.Mismatch($"its {OnnxFile.Describe(concat)} does not join the three channels along axis 1");

        var subtract = SoleReader(file, concat.Output[0], "Sub", "the reordered image");
        if (subtract.Input[0] != concat.Output[0] || subtract.Output[0] != output.Name)
            throw file.Mismatch($"its {OnnxFile.Describe(subtract)} does not subtract from the reordered image to give the output");
        using var scope = NewDisposeScope();
        var meanImage = file.FloatInitializer(subtract.Input[1], "mean image");
        if (meanImage.dim() != 4 || meanImage.shape[0] != 1 || meanImage.shape[1] != 3)
            throw file.Mismatch($"its mean image has shape {OnnxFile.Shape(meanImage.shape)}, expected [1, 3, H, W]");
        return new BackbonePreprocessing(channelOrder, meanImage, device);
    }

    /// <summary>RGB 0..255 [B, 3, H, W] → the file's channel order minus the mean image, [B, 3, H, W].</summary>
    public override Tensor forward(Tensor rgb)
    {
        if (rgb.dim() != 4 || rgb.shape[1] != 3)
            throw new ArgumentException($"BackbonePreprocessing expects an RGB image batch [B, 3, H, W], got shape {OnnxFile.Shape(rgb.shape)}.", nameof(rgb));
        using var scope = NewDisposeScope();
        var reordered = rgb.index_select(1, channelOrder); // [B, 3, H, W]
        return reordered.sub_(MeanImage(rgb.shape[2], rgb.shape[3])).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (resizedMeanImages)
            {
                foreach (var resized in resizedMeanImages.Values)
                    resized.Dispose();
                resizedMeanImages.Clear();
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>The mean image at the given size, [1, 3, height, width], on the mean image's device.</summary>
    private Tensor MeanImage(long height, long width)
    {
        if (height == meanImage.shape[2] && width == meanImage.shape[3])
            return meanImage;
        lock (resizedMeanImages)
        {
            var onMeanImageDevice = resizedMeanImages.TryGetValue((height, width), out var cached)
                && cached.device_type == meanImage.device_type && cached.device_index == meanImage.device_index;
            if (onMeanImageDevice)
                return cached!;
            cached?.Dispose(); // made before the module moved to another device
            var resized = interpolate(meanImage, [height, width], mode: InterpolationMode.Bilinear, align_corners: false).DetachFromDisposeScope();
            resizedMeanImages[(height, width)] = resized;
            return resized;
        }
    }

    /// <summary>The one node that reads <paramref name="valueName"/>, which must be of type <paramref name="opType"/>.</summary>
    private static NodeProto SoleReader(OnnxFile file, string valueName, string opType, string valueDescription)
    {
        var readers = file.ConsumersOf(valueName);
        if (readers.Count != 1 || readers[0].OpType != opType)
            throw file.Mismatch($"{valueDescription} ('{valueName}') is read by {(readers.Count == 0 ? "no node" : string.Join(", ", readers.Select(OnnxFile.Describe)))}, expected one {opType}");
        return readers[0];
    }
}
