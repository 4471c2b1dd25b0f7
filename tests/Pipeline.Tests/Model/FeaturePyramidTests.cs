using Pipeline.Shared.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

[Collection(PretrainedBackboneCollection.Name)]
public sealed class FeaturePyramidTests(PretrainedBackboneFixture fixture)
{
    [Theory]
    [InlineData(64)]
    [InlineData(100)] // scales 100, 50, 25
    [InlineData(FeaturePyramid.MinimumImageSize)]
    public void An_image_batch_gives_768_features_per_image(int size)
    {
        var pyramid = fixture.Pyramid;
        using var scope = NewDisposeScope();
        var rgb = tensor(RandomImages.Uniform(seed: size, 2L * 3 * size * size, 0f, 255f), [2, 3, size, size]);

        var features = pyramid.call(rgb);

        Assert.Equal([2L, FeaturePyramid.FeatureSize], features.shape);
        Assert.Equal(768, FeaturePyramid.FeatureSize);
        Assert.True(features.isfinite().all().item<bool>());
        Assert.False(features.requires_grad);
    }

    [Fact]
    public void The_training_contract_carries_as_many_values_per_view_as_the_pyramid_gives() =>
        Assert.Equal(FeaturePyramid.FeatureSize, Pipeline.Shared.Training.FeatureSample.FeatureSize);

    [Fact]
    public void The_first_256_features_are_the_full_size_layer3_channel_means()
    {
        var pyramid = fixture.Pyramid;
        using var scope = NewDisposeScope();
        var rgb = tensor(RandomImages.Uniform(seed: 3, 3L * 64 * 64, 0f, 255f), [1, 3, 64, 64]);

        var features = pyramid.call(rgb);
        var fullSize = fixture.Backbone.Layer3(fixture.Preprocessing.call(rgb)).mean([2L, 3L]); // [1, 256]

        Assert.True(features[.., ..256].allclose(fullSize, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void An_image_too_small_for_the_quarter_scale_is_refused()
    {
        var pyramid = fixture.Pyramid;
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => pyramid.call(zeros(1, 3, 15, 15)));
        Assert.Contains("at least 16×16", error.Message);
    }
}
