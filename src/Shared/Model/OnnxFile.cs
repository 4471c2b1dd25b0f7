using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// A parsed ONNX file with the lookups the importers share. Every failure it reports names the file,
/// says what the importer expected it to be, and how to get the right one.
/// </summary>
internal sealed class OnnxFile
{
    private readonly string expectedContent;
    private readonly string remedy;
    private readonly Dictionary<string, TensorProto> initializers;
    private readonly ILookup<string, NodeProto> consumersByValueName;

    private OnnxFile(string path, GraphProto graph, string expectedContent, string remedy)
    {
        Path = path;
        Graph = graph;
        this.expectedContent = expectedContent;
        this.remedy = remedy;
        initializers = graph.Initializer.ToDictionary(initializer => initializer.Name);
        consumersByValueName = graph.Node
            .SelectMany(node => node.Input.Select(input => (input, node)))
            .ToLookup(edge => edge.input, edge => edge.node);
    }

    public string Path { get; }

    public GraphProto Graph { get; }

    /// <param name="path">The file to read.</param>
    /// <param name="expectedContent">What the file must hold, for messages: "the CNTK ResNet-18 network".</param>
    /// <param name="remedy">What to do when it does not: which file to use instead.</param>
    public static OnnxFile Read(string path, string expectedContent, string remedy)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"ONNX file '{path}' does not exist; expected {expectedContent}. {remedy}", path);
        ModelProto model;
        try
        {
            // Not OnnxSharp's ParseFromFile: that opens the file for writing and unshared, which fails on read-only
            // files and while anyone else reads the file.
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException(
                $"'{path}' is not an ONNX model ({e.Message}); expected {expectedContent}. {remedy}", e);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new InvalidDataException($"'{path}' holds no ONNX graph; expected {expectedContent}. {remedy}");
        return new OnnxFile(path, model.Graph, expectedContent, remedy);
    }

    /// <summary>The exception for a file that is not what the importer reads; <paramref name="what"/> says what differs.</summary>
    public InvalidDataException Mismatch(string what) =>
        new($"'{Path}' is not {expectedContent}: {what}. {remedy}");

    /// <summary>Throws <see cref="Mismatch"/> unless the graph has exactly these operators, with these counts.</summary>
    public void RequireOperatorCounts(IReadOnlyDictionary<string, int> expectedCounts)
    {
        var actualCounts = Graph.Node.GroupBy(node => node.OpType).ToDictionary(group => group.Key, group => group.Count());
        var matches = actualCounts.Count == expectedCounts.Count
            && expectedCounts.All(expected => actualCounts.GetValueOrDefault(expected.Key) == expected.Value);
        if (!matches)
            throw Mismatch($"its operators are {DescribeCounts(actualCounts)}, expected {DescribeCounts(expectedCounts)}");
    }

    /// <summary>The graph's one input that is not an initializer.</summary>
    public ValueInfoProto SingleDataInput()
    {
        var dataInputs = Graph.Input.Where(input => !initializers.ContainsKey(input.Name)).ToList();
        if (dataInputs.Count != 1)
            throw Mismatch($"it has {dataInputs.Count} data inputs, expected 1");
        return dataInputs[0];
    }

    public ValueInfoProto SingleOutput()
    {
        if (Graph.Output.Count != 1)
            throw Mismatch($"it has {Graph.Output.Count} outputs, expected 1");
        return Graph.Output[0];
    }

    /// <summary>The dimensions of a graph input or output; symbolic dimensions read as -1.</summary>
    public static long[] Dimensions(ValueInfoProto value) =>
        value.Type?.TensorType?.Shape?.Dim.Select(dim => dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? dim.DimValue : -1L).ToArray()
        ?? [];

    /// <summary>The nodes that read the value called <paramref name="valueName"/>.</summary>
    public IReadOnlyList<NodeProto> ConsumersOf(string valueName) => consumersByValueName[valueName].ToList();

    /// <summary>An initializer of type float, stored in <c>float_data</c>, as a CPU tensor of its own shape.</summary>
    public Tensor FloatInitializer(string name, string role)
    {
        if (!initializers.TryGetValue(name, out var initializer))
            throw Mismatch($"the {role} '{name}' is not an initializer");
        if (initializer.DataType != (int)TensorProto.Types.DataType.Float)
            throw Mismatch($"the {role} '{name}' has element type {(TensorProto.Types.DataType)initializer.DataType}, expected Float");
        var dimensions = initializer.Dims.ToArray();
        var elementCount = dimensions.Aggregate(1L, (product, dimension) => product * dimension);
        if (initializer.FloatData.Count != elementCount)
            throw Mismatch($"the {role} '{name}' of shape {Shape(dimensions)} holds {initializer.FloatData.Count} values in float_data, expected {elementCount}");
        return tensor(initializer.FloatData.ToArray(), dimensions);
    }

    public static long[] IntsAttribute(NodeProto node, string name, long[] defaultValue) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name)?.Ints.ToArray() ?? defaultValue;

    public static long IntAttribute(NodeProto node, string name, long defaultValue) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name)?.I ?? defaultValue;

    public static float FloatAttribute(NodeProto node, string name, float defaultValue) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name)?.F ?? defaultValue;

    public static string StringAttribute(NodeProto node, string name, string defaultValue) =>
        node.Attribute.FirstOrDefault(attribute => attribute.Name == name)?.S.ToStringUtf8() ?? defaultValue;

    /// <summary>"Conv node 'Convolution257'", or the node's first output where the node has no name.</summary>
    public static string Describe(NodeProto node) =>
        node.Name.Length > 0 ? $"{node.OpType} node '{node.Name}'" : $"{node.OpType} node with output '{node.Output.FirstOrDefault()}'";

    public static string Shape(IEnumerable<long> dimensions) => $"[{string.Join(", ", dimensions)}]";

    private static string DescribeCounts(IEnumerable<KeyValuePair<string, int>> counts) =>
        string.Join(", ", counts.OrderBy(count => count.Key, StringComparer.Ordinal).Select(count => $"{count.Value} {count.Key}"));
}
