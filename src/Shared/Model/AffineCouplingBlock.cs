using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// One block of DifferNet's flow: a fixed random permutation of the features, then an affine coupling
/// in both halves (x1 is scaled and shifted by a function of x2, then x2 by a function of the new y1).
/// Scales are soft-clamped: <c>log s = 0.636·α·atan(s/α)</c>.
/// </summary>
public sealed class AffineCouplingBlock : nn.Module<Tensor, (Tensor Output, Tensor LogDeterminant)>
{
    private const string PermutationBuffer = "permutation";
    private const string InversePermutationBuffer = "inverse_permutation";

    private readonly long firstHalf;
    private readonly long secondHalf;
    private readonly double clampAlpha;
    private readonly FullyConnectedSubnet scaleShiftOfSecond; // x2 → (s, t) for x1: [B, n2] → [B, 2·n1]
    private readonly FullyConnectedSubnet scaleShiftOfFirst;  // y1 → (s, t) for x2: [B, n1] → [B, 2·n2]

    public AffineCouplingBlock(string name, int features, int hiddenWidth, double dropout, double clampAlpha, int permutationSeed)
        : base(name)
    {
        firstHalf = features / 2;
        secondHalf = features - firstHalf;
        this.clampAlpha = clampAlpha;
        scaleShiftOfSecond = new FullyConnectedSubnet("s2", secondHalf, 2 * firstHalf, hiddenWidth, dropout);
        scaleShiftOfFirst = new FullyConnectedSubnet("s1", firstHalf, 2 * secondHalf, hiddenWidth, dropout);
        RegisterComponents();

        var permutation = SeededPermutation(features, permutationSeed);
        var inverse = new long[features];
        for (var i = 0; i < features; i++) inverse[permutation[i]] = i;
        register_buffer(PermutationBuffer, tensor(permutation));
        register_buffer(InversePermutationBuffer, tensor(inverse));
    }

    /// <summary>A permutation of 0..n-1 that depends only on the seed (Fisher–Yates over <see cref="Random"/>).</summary>
    public static long[] SeededPermutation(int n, int seed)
    {
        var rng = new Random(seed);
        var p = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        for (var i = n - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>DifferNet's soft clamp of a raw log-scale: 0.636·α·atan(s/α), bounded by ±α·0.999.</summary>
    public static Tensor SoftClampedLogScale(Tensor rawScale, double alpha) => 0.636 * alpha * atan(rawScale / alpha);

    /// <summary><c>[B, D] → ([B, D], [B])</c>: the transformed features and log|det ∂y/∂x| per row.</summary>
    public override (Tensor Output, Tensor LogDeterminant) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var permuted = x.index_select(1, get_buffer(PermutationBuffer)!);
        var x1 = permuted.narrow(1, 0, firstHalf);
        var x2 = permuted.narrow(1, firstHalf, secondHalf);

        var r2 = scaleShiftOfSecond.call(x2);
        var logScale1 = SoftClampedLogScale(r2.narrow(1, 0, firstHalf), clampAlpha);
        var y1 = logScale1.exp() * x1 + r2.narrow(1, firstHalf, firstHalf);

        var r1 = scaleShiftOfFirst.call(y1);
        var logScale2 = SoftClampedLogScale(r1.narrow(1, 0, secondHalf), clampAlpha);
        var y2 = logScale2.exp() * x2 + r1.narrow(1, secondHalf, secondHalf);

        var logDeterminant = logScale1.sum(1) + logScale2.sum(1);
        var y = cat([y1, y2], 1);
        return (y.MoveToOuterDisposeScope(), logDeterminant.MoveToOuterDisposeScope());
    }

    /// <summary>Undoes <see cref="forward"/>: <c>[B, D] → [B, D]</c>.</summary>
    public Tensor Inverse(Tensor y)
    {
        using var scope = NewDisposeScope();
        var y1 = y.narrow(1, 0, firstHalf);
        var y2 = y.narrow(1, firstHalf, secondHalf);

        var r1 = scaleShiftOfFirst.call(y1);
        var x2 = (y2 - r1.narrow(1, secondHalf, secondHalf)) * (-SoftClampedLogScale(r1.narrow(1, 0, secondHalf), clampAlpha)).exp();

        var r2 = scaleShiftOfSecond.call(x2);
        var x1 = (y1 - r2.narrow(1, firstHalf, firstHalf)) * (-SoftClampedLogScale(r2.narrow(1, 0, firstHalf), clampAlpha)).exp();

        var permuted = cat([x1, x2], 1);
        return permuted.index_select(1, get_buffer(InversePermutationBuffer)!).MoveToOuterDisposeScope();
    }
}
