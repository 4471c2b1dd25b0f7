using Onnx;
using Pipeline.Shared.Model;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

[Collection(PretrainedBackboneCollection.Name)]
public sealed class ResNet18BackboneTests(PretrainedBackboneFixture fixture, ITestOutputHelper output)
{
    private const float Tolerance = 1e-4f;

    private static string ResNet18Path => PretrainedBackboneFiles.ResNet18OnnxPath();

    [Fact]
    public void Pooled_output_equals_onnx_runtime_on_the_original_file()
    {
        const int batch = 2;
        long[] sampleShape = [1, 3, 224, 224];
        var sampleLength = 3 * 224 * 224;
        var images = RandomImages.Uniform(seed: 18, batch * sampleLength, -120f, 135f); // the range of preprocessed pixels

        using var scope = NewDisposeScope();
        var pooled = fixture.Backbone.call(tensor(images, [batch, 3, 224, 224])); // [2, 512]
        Assert.Equal([batch, ResNet18Backbone.PooledFeatureSize], pooled.shape);

        using var reference = OnnxRuntimeReference.FromFile(ResNet18Path); // its input batch is fixed at 1
        var maxDifference = 0f;
        for (var sample = 0; sample < batch; sample++)
        {
            var expected = reference.Run(images[(sample * sampleLength)..((sample + 1) * sampleLength)], sampleShape, "Pooling395_Output_0")[0];
            maxDifference = Math.Max(maxDifference, RandomImages.MaxAbsDifference(expected, pooled[sample].data<float>().ToArray()));
        }
        output.WriteLine($"max |TorchSharp - ONNX Runtime| of the pooled feature at 224x224: {maxDifference:E2}");
        Assert.True(maxDifference < Tolerance, $"max abs difference {maxDifference} exceeds {Tolerance}");
    }

    [Fact]
    public void Layer3_and_pooled_output_equal_onnx_runtime_at_other_sizes_the_graph_accepts()
    {
        var model = ReadModel(ResNet18Path);
        var layer3Output = Layer3OutputName(model.Graph);
        using var reference = OnnxRuntimeReference.WithAnyInputSize(model, layer3Output);

        // 225: odd input to the stem convolution; 226: odd input to the max pool. Both reach layer 2 at an even size.
        foreach (var size in new[] { 225, 226 })
        {
            var images = RandomImages.Uniform(seed: size, 3L * size * size, -120f, 135f);
            long[] shape = [1, 3, size, size];
            using var scope = NewDisposeScope();
            var input = tensor(images, shape);
            var layer3 = fixture.Backbone.Layer3(input);
            var pooled = fixture.Backbone.call(input);

            var expected = reference.Run(images, shape, "Pooling395_Output_0", layer3Output);
            Assert.Equal([1L, 256, 14, 14], layer3.shape);
            var pooledDifference = RandomImages.MaxAbsDifference(expected[0], pooled.data<float>().ToArray());
            var layer3Difference = RandomImages.MaxAbsDifference(expected[1], layer3.data<float>().ToArray());
            output.WriteLine($"{size}x{size}: max |TorchSharp - ONNX Runtime| layer 3 {layer3Difference:E2}, pooled {pooledDifference:E2}");
            Assert.True(layer3Difference < Tolerance, $"{size}x{size}, layer 3: max abs difference {layer3Difference} exceeds {Tolerance}");
            Assert.True(pooledDifference < Tolerance, $"{size}x{size}, pooled: max abs difference {pooledDifference} exceeds {Tolerance}");
        }
    }

    [Theory]
    [InlineData(224, 14)]
    [InlineData(64, 4)]
    [InlineData(100, 7)] // 100 → 50 → 25 → 25 → 13 → 7: odd sizes at the stride-2 blocks, which the file's graph cannot run
    [InlineData(25, 2)]
    [InlineData(ResNet18Backbone.MinimumInputSize, 1)]
    public void Layer3_gives_256_channels_at_about_a_sixteenth_of_the_size(int size, int expectedSize)
    {
        using var scope = NewDisposeScope();
        var layer3 = fixture.Backbone.Layer3(zeros(2, 3, size, size));
        Assert.Equal([2L, ResNet18Backbone.Layer3Channels, expectedSize, expectedSize], layer3.shape);
    }

    [Fact]
    public void Layer3_runs_channels_last_whatever_the_input_layout()
    {
        using var scope = NewDisposeScope();
        var input = RandomImages.Uniform(seed: 5, 2 * 3 * 64 * 64, -120f, 135f);
        var fromContiguous = fixture.Backbone.Layer3(tensor(input, [2, 3, 64, 64]));
        var fromChannelsLast = fixture.Backbone.Layer3(ChannelsLast.Of(tensor(input, [2, 3, 64, 64])));

        Assert.True(ChannelsLast.Holds(fromContiguous), $"layer 3 came out with strides [{string.Join(", ", fromContiguous.stride())}]");
        Assert.Equal(0f, (fromContiguous - fromChannelsLast).abs().max().item<float>());
    }

    [Fact]
    public void Backbone_is_frozen()
    {
        Assert.All(fixture.Backbone.parameters(), parameter => Assert.False(parameter.requires_grad));
        Assert.False(fixture.Backbone.training);
    }

    [Fact]
    public void Too_small_an_image_is_refused_with_the_size_it_needs()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => fixture.Backbone.Layer3(zeros(1, 3, 3, 3)));
        Assert.Contains("at least 4×4", error.Message);
    }

    [Fact]
    public void The_preprocessing_graph_is_refused_as_the_network()
    {
        var path = PretrainedBackboneFiles.PreprocessingOnnxPath();
        var error = Assert.Throws<InvalidDataException>(() => ResNet18Backbone.LoadFromOnnx(path, CPU));
        Assert.Contains(path, error.Message);
        Assert.Contains("1 Split", error.Message);
        Assert.Contains(PretrainedBackboneFiles.PackageId, error.Message);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_refused()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, [0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]);
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => ResNet18Backbone.LoadFromOnnx(path, CPU));
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_convolution_with_other_geometry_is_refused_naming_the_node()
    {
        var model = ReadModel(ResNet18Path);
        var secondConvolution = model.Graph.Node.Where(node => node.OpType == "Conv").ElementAt(1);
        var strides = secondConvolution.Attribute.Single(attribute => attribute.Name == "strides");
        strides.Ints.Clear();
        strides.Ints.Add([2L, 2L]);
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-strided-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => ResNet18Backbone.LoadFromOnnx(path, CPU));
            Assert.Contains(path, error.Message);
            Assert.Contains($"'{secondConvolution.Name}'", error.Message);
            Assert.Contains("strides [2, 2], expected [1, 1]", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_file_is_reported_with_its_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"absent-{Guid.NewGuid():N}.onnx");
        var error = Assert.Throws<FileNotFoundException>(() => ResNet18Backbone.LoadFromOnnx(path, CPU));
        Assert.Contains(path, error.Message);
    }

    private static ModelProto ReadModel(string path)
    {
        using var stream = File.OpenRead(path);
        return ModelProto.Parser.ParseFrom(stream);
    }

    /// <summary>The value layer 4 starts from: the input of the last 1×1 (shortcut) convolution.</summary>
    private static string Layer3OutputName(GraphProto graph) =>
        graph.Node
            .Last(node => node.OpType == "Conv" && node.Attribute.Single(attribute => attribute.Name == "kernel_shape").Ints.SequenceEqual([1L, 1L]))
            .Input[0];
}
