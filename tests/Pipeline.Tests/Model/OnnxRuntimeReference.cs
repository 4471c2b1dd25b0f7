using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Pipeline.Tests.Model;

/// <summary>ONNX Runtime on an ONNX graph: the independent reference the TorchSharp rebuilds are compared with.</summary>
internal sealed class OnnxRuntimeReference : IDisposable
{
    private readonly InferenceSession session;

    private OnnxRuntimeReference(InferenceSession session) => this.session = session;

    public static OnnxRuntimeReference FromFile(string onnxPath) => new(new InferenceSession(onnxPath));

    public static OnnxRuntimeReference FromModel(ModelProto model) => new(new InferenceSession(model.ToByteArray()));

    /// <summary>
    /// The model with any input size (its input's batch, height and width made symbolic, the recorded intermediate
    /// shapes dropped) and with <paramref name="extraOutputs"/> readable. Changes <paramref name="model"/>.
    /// </summary>
    public static OnnxRuntimeReference WithAnyInputSize(ModelProto model, params string[] extraOutputs)
    {
        var graph = model.Graph;
        var inputDimensions = graph.Input.Single().Type.TensorType.Shape.Dim;
        foreach (var (index, symbol) in new[] { (0, "batch"), (2, "height"), (3, "width") })
            inputDimensions[index] = new TensorShapeProto.Types.Dimension { DimParam = symbol };
        graph.ValueInfo.Clear();
        foreach (var output in graph.Output)
            output.Type.TensorType.Shape = null;
        foreach (var name in extraOutputs)
        {
            graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }
        return FromModel(model);
    }

    public string InputName => session.InputMetadata.Keys.Single();

    /// <summary>Runs the graph on one input and returns the named outputs, flattened.</summary>
    public float[][] Run(float[] input, long[] shape, params string[] outputNames)
    {
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [InputName], [inputValue], outputNames);
        return outputs.Select(output => output.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    public void Dispose() => session.Dispose();
}
