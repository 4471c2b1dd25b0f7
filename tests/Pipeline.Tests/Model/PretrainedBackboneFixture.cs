using Pipeline.Shared.Model;
using TorchSharp;
using Xunit;

namespace Pipeline.Tests.Model;

/// <summary>The pretrained feature pyramid, read once (on the CPU) for all the tests that use it or its parts.</summary>
public sealed class PretrainedBackboneFixture : IDisposable
{
    public FeaturePyramid Pyramid { get; } = FeaturePyramid.LoadPretrained(torch.CPU);

    public ResNet18Backbone Backbone => Pyramid.named_children().Select(child => child.module).OfType<ResNet18Backbone>().Single();

    public BackbonePreprocessing Preprocessing => Pyramid.named_children().Select(child => child.module).OfType<BackbonePreprocessing>().Single();

    /// <summary>Disposes the pyramid and with it its parts.</summary>
    public void Dispose() => Pyramid.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PretrainedBackboneCollection : ICollectionFixture<PretrainedBackboneFixture>
{
    public const string Name = "Pretrained backbone";
}

internal static class RandomImages
{
    /// <summary>Values drawn uniformly from [low, high), reproducible from the seed.</summary>
    public static float[] Uniform(int seed, long count, float low, float high)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
            values[i] = low + (high - low) * random.NextSingle();
        return values;
    }

    public static float MaxAbsDifference(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = 0f;
        for (var i = 0; i < expected.Length; i++)
            max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        return max;
    }
}
