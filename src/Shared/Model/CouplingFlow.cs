using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// DifferNet's normalizing flow: features of defect-free parts → (approximately) standard normal z.
/// <c>[B, D] → ([B, D] z, [B] log|det J|)</c>.
/// </summary>
public sealed class CouplingFlow : nn.Module<Tensor, (Tensor Z, Tensor LogDeterminant)>
{
    private readonly TorchSharp.Modules.ModuleList<AffineCouplingBlock> blocks;

    public CouplingFlow(FlowConfig config) : base("differnet_flow")
    {
        Config = config.Validated();
        blocks = nn.ModuleList(Enumerable.Range(0, config.CouplingBlocks)
            .Select(k => new AffineCouplingBlock($"block{k}", config.FeatureSize, config.HiddenWidth, config.Dropout, config.ClampAlpha, config.PermutationSeed + k))
            .ToArray());
        RegisterComponents();
    }

    public FlowConfig Config { get; }

    public override (Tensor Z, Tensor LogDeterminant) forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var z = features;
        var logDeterminant = zeros(features.shape[0], dtype: features.dtype, device: features.device);
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
        return x.MoveToOuterDisposeScope();
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
