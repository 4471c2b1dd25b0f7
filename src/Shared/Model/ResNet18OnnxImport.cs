using Onnx;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// Builds a <see cref="ResNet18Backbone"/> from the CNTK export <c>ResNet18.onnx</c>: walks its Conv nodes in file
/// order, pairs each with the BatchNormalization that reads its output, checks geometry and weight shapes against the
/// backbone's convolution of the same place, and folds the pair into it.
/// </summary>
internal static class ResNet18OnnxImport
{
    private const string ExpectedContent = "the CNTK-exported ResNet-18 network that ResNet18Backbone reads";

    private static readonly IReadOnlyDictionary<string, int> ExpectedOperatorCounts = new Dictionary<string, int>
    {
        ["Conv"] = 22,
        ["BatchNormalization"] = 22,
        ["Relu"] = 19,
        ["Add"] = 9,
        ["MaxPool"] = 1,
        ["AveragePool"] = 1,
    };

    public static ResNet18Backbone Load(string onnxPath, Device device)
    {
        var file = OnnxFile.Read(onnxPath, ExpectedContent, PretrainedBackboneFiles.ResNet18Remedy);
        file.RequireOperatorCounts(ExpectedOperatorCounts);
        RequireInputAndOutput(file);
        RequirePooling(file);

        var backbone = new ResNet18Backbone(device);
        try
        {
            var convolutionNodes = file.Graph.Node.Where(node => node.OpType == "Conv").ToList();
            var convolutions = backbone.ConvolutionsInGraphOrder().ToList();
            foreach (var (node, (name, convolution)) in convolutionNodes.Zip(convolutions))
            {
                var expectedPads = backbone.IsStem(convolution) ? ResNet18Backbone.StemConvolutionPads : GraphPadsOfBlockConvolution(convolution);
                ImportConvolution(file, node, name, convolution, expectedPads);
            }
            return backbone;
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The pads the file gives a residual block's convolution, which the backbone pads p on every side: the same at
    /// stride 1; at stride 2 the file pads only the top and left (see <see cref="ResidualBlock"/>).
    /// </summary>
    private static long[] GraphPadsOfBlockConvolution(ConvBatchNorm convolution)
    {
        var p = convolution.Padding;
        return convolution.Stride == 1 ? [p, p, p, p] : [p, p, 0, 0];
    }

    private static void RequireInputAndOutput(OnnxFile file)
    {
        var input = file.SingleDataInput();
        var inputShape = OnnxFile.Dimensions(input);
        if (inputShape.Length != 4 || inputShape[1] != 3)
            throw file.Mismatch($"its input '{input.Name}' has shape {OnnxFile.Shape(inputShape)}, expected [N, 3, H, W]");
        var output = file.SingleOutput();
        var outputShape = OnnxFile.Dimensions(output);
        if (outputShape.Length != 4 || outputShape[1] != ResNet18Backbone.PooledFeatureSize || outputShape[2] != 1 || outputShape[3] != 1)
            throw file.Mismatch($"its output '{output.Name}' has shape {OnnxFile.Shape(outputShape)}, expected [N, {ResNet18Backbone.PooledFeatureSize}, 1, 1]");
    }

    /// <summary>The max pool of the stem, and the final average pool that reduces the last 7×7 map (at 224×224) to 1×1.</summary>
    private static void RequirePooling(OnnxFile file)
    {
        var maxPool = file.Graph.Node.Single(node => node.OpType == "MaxPool");
        RequireInts(file, maxPool, "kernel_shape", [], [3, 3]);
        RequireInts(file, maxPool, "strides", [1, 1], [2, 2]);
        RequireInts(file, maxPool, "pads", [0, 0, 0, 0], ResNet18Backbone.MaxPoolPads);
        RequireNoAutoPad(file, maxPool);

        var averagePool = file.Graph.Node.Single(node => node.OpType == "AveragePool");
        RequireInts(file, averagePool, "kernel_shape", [], [7, 7]);
        RequireInts(file, averagePool, "pads", [0, 0, 0, 0], [0, 0, 0, 0]);
        RequireNoAutoPad(file, averagePool);
        if (averagePool.Output[0] != file.SingleOutput().Name)
            throw file.Mismatch($"its {OnnxFile.Describe(averagePool)} does not produce the graph output");
    }

    private static void ImportConvolution(OnnxFile file, NodeProto node, string name, ConvBatchNorm convolution, long[] expectedPads)
    {
        var where = $"{OnnxFile.Describe(node)} (read into {name})";
        var kernel = convolution.KernelSize;
        RequireInts(file, node, "kernel_shape", [], [kernel, kernel], where);
        RequireInts(file, node, "strides", [1, 1], [convolution.Stride, convolution.Stride], where);
        RequireInts(file, node, "pads", [0, 0, 0, 0], expectedPads, where);
        RequireInts(file, node, "dilations", [1, 1], [1, 1], where);
        if (OnnxFile.IntAttribute(node, "group", 1) != 1)
            throw file.Mismatch($"{where} is a grouped convolution, expected group 1");
        RequireNoAutoPad(file, node, where);
        if (node.Input.Count != 2)
            throw file.Mismatch($"{where} has {node.Input.Count} inputs, expected 2 (data and weight; the bias lives in the BatchNormalization after it)");

        using var scope = NewDisposeScope();
        var weight = file.FloatInitializer(node.Input[1], $"weight of {where}");
        RequireShape(file, weight, convolution.WeightShape, $"weight of {where}");

        var normalization = FollowingBatchNormalization(file, node, where);
        var normalizationWhere = $"{OnnxFile.Describe(normalization)} (folded into {name})";
        if (normalization.Input.Count != 5)
            throw file.Mismatch($"{normalizationWhere} has {normalization.Input.Count} inputs, expected 5 (X, scale, B, mean, var)");
        if (OnnxFile.IntAttribute(normalization, "spatial", 1) != 1)
            throw file.Mismatch($"{normalizationWhere} normalizes per activation (spatial = 0), expected per channel");
        long[] channelShape = [convolution.OutChannels];
        var parameters = new Tensor[4];
        string[] roles = ["scale", "B (shift)", "running mean", "running variance"];
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] = file.FloatInitializer(normalization.Input[i + 1], $"{roles[i]} of {normalizationWhere}");
            RequireShape(file, parameters[i], channelShape, $"{roles[i]} of {normalizationWhere}");
        }
        var epsilon = OnnxFile.FloatAttribute(normalization, "epsilon", 1e-5f);
        convolution.LoadFolded(weight, parameters[0], parameters[1], parameters[2], parameters[3], epsilon);
    }

    /// <summary>
    /// The BatchNormalization that reads the convolution's output. Folding is exact only where it is the sole reader.
    /// </summary>
    private static NodeProto FollowingBatchNormalization(OnnxFile file, NodeProto convolutionNode, string where)
    {
        var readers = file.ConsumersOf(convolutionNode.Output[0]);
        if (readers.Count != 1 || readers[0].OpType != "BatchNormalization" || readers[0].Input[0] != convolutionNode.Output[0])
            throw file.Mismatch(
                $"the output of {where} is read by {(readers.Count == 0 ? "no node" : string.Join(", ", readers.Select(OnnxFile.Describe)))}, expected exactly one BatchNormalization");
        return readers[0];
    }

    private static void RequireInts(OnnxFile file, NodeProto node, string attribute, long[] defaultValue, long[] expected, string? where = null)
    {
        var actual = OnnxFile.IntsAttribute(node, attribute, defaultValue);
        if (!actual.SequenceEqual(expected))
            throw file.Mismatch($"{where ?? OnnxFile.Describe(node)} has {attribute} {OnnxFile.Shape(actual)}, expected {OnnxFile.Shape(expected)}");
    }

    private static void RequireNoAutoPad(OnnxFile file, NodeProto node, string? where = null)
    {
        var autoPad = OnnxFile.StringAttribute(node, "auto_pad", "NOTSET");
        if (autoPad != "NOTSET")
            throw file.Mismatch($"{where ?? OnnxFile.Describe(node)} has auto_pad {autoPad}, expected explicit pads (NOTSET)");
    }

    private static void RequireShape(OnnxFile file, Tensor tensor, long[] expected, string role)
    {
        if (!tensor.shape.SequenceEqual(expected))
            throw file.Mismatch($"the {role} has shape {OnnxFile.Shape(tensor.shape)}, expected {OnnxFile.Shape(expected)}");
    }
}
