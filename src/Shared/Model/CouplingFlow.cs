using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// DifferNet's normalizing flow: features of defect-free parts → (approximately) standard normal z.
/// <c>[B, D] → ([B, D] z, [B] log|det J|)</c>.
/// </summary>
/// <remarks>
/// Before the coupling blocks, features are standardized with a fixed per-dimension mean and scale taken
/// from the training features (<see cref="SetInputStandardization"/>; identity until set). It is part of
/// the flow (saved with its weights, counted in the log-determinant), so the density stays exact; it makes
/// the blocks start from well-scaled inputs, which shortens training several-fold on ResNet features.
/// </remarks>
public sealed class CouplingFlow : nn.Module<Tensor, (Tensor Z, Tensor LogDeterminant)>
{
    private const string InputMeanBuffer = "input_mean";
    private const string InputScaleBuffer = "input_scale";

    private readonly TorchSharp.Modules.ModuleList<AffineCouplingBlock> blocks;

    public CouplingFlow(FlowConfig config) : base("differnet_flow")
    {
        Config = config.Validated();
        blocks = nn.ModuleList(Enumerable.Range(0, config.CouplingBlocks)
            .Select(k => new AffineCouplingBlock($"block{k}", config.FeatureSize, config.HiddenWidth, config.Dropout, config.ClampAlpha, config.PermutationSeed + k))
            .ToArray());
        RegisterComponents();
        register_buffer(InputMeanBuffer, zeros(config.FeatureSize));
        register_buffer(InputScaleBuffer, ones(config.FeatureSize));
    }

    public FlowConfig Config { get; }

    /// <summary>
    /// Fixes the input standardization to the mean and standard deviation of <paramref name="trainingFeatures"/>
    /// <c>[N, D]</c> (a floor keeps constant dimensions finite).
    /// </summary>
    public void SetInputStandardization(Tensor trainingFeatures)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var mean = trainingFeatures.mean([0L]);
        var scale = trainingFeatures.std(0).clamp_min(1e-6);
        get_buffer(InputMeanBuffer)!.copy_(mean);
        get_buffer(InputScaleBuffer)!.copy_(scale);
    }

    public override (Tensor Z, Tensor LogDeterminant) forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var scale = get_buffer(InputScaleBuffer)!;
        var z = (features - get_buffer(InputMeanBuffer)!) / scale;
        var logDeterminant = zeros(features.shape[0], dtype: features.dtype, device: features.device) - scale.log().sum();
        foreach (var block in blocks)
        {
            var (next, blockLogDeterminant) = block.call(z);
            z = next;
            logDeterminant = logDeterminant + blockLogDeterminant;
        }
        return (z.MoveToOuterDisposeScope(), logDeterminant.MoveToOuterDisposeScope());
    }

    /// <summary>Maps z back to features: <c>[B, D] → [B, D]</c>.</summary>
    public Tensor Inverse(Tensor z)
    {
        using var scope = NewDisposeScope();
        var x = z;
        foreach (var block in blocks.Reverse()) x = block.Inverse(x);
        return (x * get_buffer(InputScaleBuffer)! + get_buffer(InputMeanBuffer)!).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DifferNet's training loss: the mean negative log-likelihood under a standard normal,
    /// <c>mean(½‖z‖² − log|det J|) / D</c> (the constant ½·log 2π is left out).
    /// </summary>
    public static Tensor NegativeLogLikelihood(Tensor z, Tensor logDeterminant)
    {
        using var scope = NewDisposeScope();
        var perRow = 0.5 * z.pow(2).sum(1) - logDeterminant;
        return (perRow.mean() / z.shape[1]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DifferNet's anomaly score of each image: the mean of z² over its views and the feature dimensions.
    /// <c>z: [images·views, D] → [images]</c>, the views of one image being consecutive rows.
    /// </summary>
    public static Tensor AnomalyScores(Tensor z, int viewsPerImage)
    {
        using var scope = NewDisposeScope();
        return z.pow(2).reshape(-1, viewsPerImage * z.shape[1]).mean([1]).MoveToOuterDisposeScope();
    }
}
