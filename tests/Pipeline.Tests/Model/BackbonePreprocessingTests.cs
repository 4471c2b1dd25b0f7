using Pipeline.Shared.Model;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

[Collection(PretrainedBackboneCollection.Name)]
public sealed class BackbonePreprocessingTests(PretrainedBackboneFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void Output_equals_onnx_runtime_on_the_original_file()
    {
        const int batch = 2;
        long[] sampleShape = [1, 3, 224, 224];
        var sampleLength = 3 * 224 * 224;
        var rgb = RandomImages.Uniform(seed: 7, batch * sampleLength, 0f, 255f);

        using var scope = NewDisposeScope();
        var preprocessed = fixture.Preprocessing.call(tensor(rgb, [batch, 3, 224, 224]));

        using var reference = OnnxRuntimeReference.FromFile(PretrainedBackboneFiles.PreprocessingOnnxPath());
        var maxDifference = 0f;
        for (var sample = 0; sample < batch; sample++)
        {
            var expected = reference.Run(rgb[(sample * sampleLength)..((sample + 1) * sampleLength)], sampleShape, "PreprocessedInput")[0];
            maxDifference = Math.Max(maxDifference, RandomImages.MaxAbsDifference(expected, preprocessed[sample].data<float>().ToArray()));
        }
        output.WriteLine($"max |TorchSharp - ONNX Runtime| of the preprocessing: {maxDifference:E2}");
        Assert.True(maxDifference < 1e-4f, $"max abs difference {maxDifference} exceeds 1e-4");
    }

    [Theory]
    [InlineData(224)]
    [InlineData(100)]
    [InlineData(448)]
    public void A_red_image_comes_out_blue_green_red_less_the_channel_means(int size)
    {
        using var scope = NewDisposeScope();
        var red = zeros(1, 3, size, size);
        red[0, 0] = tensor(255f);

        var preprocessed = fixture.Preprocessing.call(red); // [1, 3, size, size]

        Assert.Equal([1L, 3, size, size], preprocessed.shape);
        var channelMeans = preprocessed.mean([0L, 2L, 3L]).data<float>().ToArray();
        Assert.Equal(0f - 103.1f, channelMeans[0], 0.5f);   // blue
        Assert.Equal(0f - 115.9f, channelMeans[1], 0.5f);   // green
        Assert.Equal(255f - 123.2f, channelMeans[2], 0.5f); // red
    }

    [Fact]
    public void The_file_is_read_while_another_reader_has_it_open()
    {
        var path = PretrainedBackboneFiles.PreprocessingOnnxPath();
        using var otherReader = File.OpenRead(path);

        using var preprocessing = BackbonePreprocessing.LoadFromOnnx(path, CPU);
    }

    [Fact]
    public void The_network_is_refused_as_the_preprocessing_graph()
    {
        var path = PretrainedBackboneFiles.ResNet18OnnxPath();
        var error = Assert.Throws<InvalidDataException>(() => BackbonePreprocessing.LoadFromOnnx(path, CPU));
        Assert.Contains(path, error.Message);
        Assert.Contains("22 Conv", error.Message);
    }
}
