using Pipeline.Shared.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Model;

public class CouplingFlowTests
{
    private static CouplingFlow SmallFlow(int features = 6, int blocks = 3, int hidden = 16)
    {
        torch.manual_seed(7);
        var flow = new CouplingFlow(new FlowConfig { FeatureSize = features, CouplingBlocks = blocks, HiddenWidth = hidden, PermutationSeed = 11 });
        flow.eval();
        return flow;
    }

    [Fact]
    public void Inverse_undoes_forward()
    {
        using var scope = NewDisposeScope();
        using var flow = SmallFlow(features: 768 / 16, blocks: 8, hidden: 64);
        var x = randn(32, 48) * 3;
        using var _ = no_grad();
        var (z, _) = flow.call(x);
        var back = flow.Inverse(z);
        var error = (back - x).abs().max().item<float>();
        Assert.True(error < 1e-4, $"max |inverse(forward(x)) - x| = {error}");
    }

    [Fact]
    public void Log_determinant_matches_a_numerically_computed_jacobian()
    {
        using var scope = NewDisposeScope();
        using var flow = SmallFlow(features: 7, blocks: 3, hidden: 12);
        flow.to(ScalarType.Float64);
        using var _ = no_grad();
        var x = randn(1, 7, dtype: ScalarType.Float64);
        var (_, logDet) = flow.call(x);

        const double h = 1e-6;
        var columns = new Tensor[7];
        for (var j = 0; j < 7; j++)
        {
            var step = zeros(1, 7, dtype: ScalarType.Float64);
            step[0, j] = h;
            var (plus, _) = flow.call(x + step);
            var (minus, _) = flow.call(x - step);
            columns[j] = ((plus - minus) / (2 * h))[0];
        }
        var jacobian = stack(columns, 1); // [outputs, inputs]
        var (sign, numericLogAbsDet) = linalg.slogdet(jacobian);
        Assert.True(Math.Abs(logDet[0].item<double>()) > 1e-3, "the test flow should have non-trivial scales");
        Assert.Equal(1.0, Math.Abs(sign.item<double>()), 6);
        Assert.Equal(numericLogAbsDet.item<double>(), logDet[0].item<double>(), 4);
    }

    [Fact]
    public void Soft_clamp_keeps_log_scales_within_alpha()
    {
        using var scope = NewDisposeScope();
        var raw = tensor(new[] { -1e6f, -3f, 0f, 0.01f, 3f, 1e6f });
        var clamped = AffineCouplingBlock.SoftClampedLogScale(raw, 3.0);
        Assert.True(clamped.abs().max().item<float>() <= 0.636f * 3f * (float)(Math.PI / 2) + 1e-5f);
        Assert.Equal(0.636f * 0.01f, clamped[3].item<float>(), 4);
        Assert.Equal(0f, clamped[2].item<float>());
    }

    [Fact]
    public void Permutations_are_fixed_by_their_seed()
    {
        Assert.Equal(AffineCouplingBlock.SeededPermutation(768, 3), AffineCouplingBlock.SeededPermutation(768, 3));
        Assert.NotEqual(AffineCouplingBlock.SeededPermutation(768, 3), AffineCouplingBlock.SeededPermutation(768, 4));
        Assert.Equal(Enumerable.Range(0, 768).Select(i => (long)i), AffineCouplingBlock.SeededPermutation(768, 3).Order());
    }

    [Fact]
    public void Loss_is_the_standard_normal_negative_log_likelihood_per_dimension()
    {
        using var scope = NewDisposeScope();
        var z = tensor(new float[,] { { 1, 2 }, { 0, 0 } });
        var logDet = tensor(new float[] { 0.5f, -0.5f });
        // rows: ½·5 − 0.5 = 2.0 and 0 + 0.5 = 0.5; mean 1.25; per dimension 0.625
        Assert.Equal(0.625f, CouplingFlow.NegativeLogLikelihood(z, logDet).item<float>(), 6);
    }

    [Fact]
    public void Anomaly_score_is_the_mean_of_z_squared_over_the_views_of_each_image()
    {
        using var scope = NewDisposeScope();
        // two images, two views each, two dims
        var z = tensor(new float[,] { { 1, 1 }, { 3, 1 }, { 0, 0 }, { 0, 2 } });
        var scores = CouplingFlow.AnomalyScores(z, viewsPerImage: 2).data<float>().ToArray();
        Assert.Equal(new[] { 3f, 1f }, scores);
    }

    [Fact]
    public void Weights_are_saved_with_the_permutations()
    {
        using var flow = SmallFlow(blocks: 2);
        var keys = flow.state_dict().Keys.ToList();
        Assert.Contains("blocks.0.permutation", keys);
        Assert.Contains("blocks.1.scaleShiftOfFirst.input.weight", keys);
    }
}
