namespace Pipeline.Shared.Model;

/// <summary>
/// Shape of DifferNet's normalizing flow: a chain of <see cref="CouplingBlocks"/> blocks, each a fixed
/// random permutation followed by an affine coupling whose scale and shift come from fully connected
/// subnets of <see cref="HiddenWidth"/> units. Everything needed to rebuild the flow before loading weights.
/// </summary>
public sealed record FlowConfig
{
    /// <summary>DifferNet's defaults: 8 blocks, 2048 hidden units, no dropout, clamp α = 3.</summary>
    public static FlowConfig DifferNet(int featureSize) => new() { FeatureSize = featureSize };

    /// <summary>Length of the feature vector the flow maps to a standard normal (768 for ResNet-18 layer3 at 3 scales).</summary>
    public int FeatureSize { get; init; } = 768;
    public int CouplingBlocks { get; init; } = 8;
    public int HiddenWidth { get; init; } = 2048;
    public double Dropout { get; init; }
    /// <summary>α of DifferNet's soft clamp of the log-scales: log s = 0.636·α·atan(s/α).</summary>
    public double ClampAlpha { get; init; } = 3.0;
    /// <summary>Block k permutes its input with a permutation drawn from seed <c>PermutationSeed + k</c>.</summary>
    public int PermutationSeed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value that cannot build a flow.</summary>
    public FlowConfig Validated()
    {
        if (FeatureSize < 2) throw new ArgumentException($"Flow feature size must be at least 2, got {FeatureSize}.");
        if (CouplingBlocks < 1) throw new ArgumentException($"Flow needs at least 1 coupling block, got {CouplingBlocks}.");
        if (HiddenWidth < 1) throw new ArgumentException($"Flow hidden width must be at least 1, got {HiddenWidth}.");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"Flow dropout must be in [0, 1), got {Dropout}.");
        if (!(ClampAlpha > 0)) throw new ArgumentException($"Flow clamp α must be positive, got {ClampAlpha}.");
        return this;
    }
}
