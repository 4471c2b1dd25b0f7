using Pipeline.Shared.Evaluation;
using Xunit;

namespace Pipeline.Tests.Evaluation;

/// <summary>
/// Pixel AUROC and AUPRO on examples small enough to work out by hand; each expected value is derived in the comment
/// above it (pairs counted for AUROC, the PRO curve's points and trapezoids for AUPRO).
/// </summary>
public sealed class PixelMetricsTests
{
    private static PixelSample Sample(int width, float[] map, params int[] defective) =>
        new("type", width, map, Enumerable.Range(0, map.Length).Select(defective.Contains).ToArray());

    [Fact]
    public void Pixel_auroc_counts_the_defective_defect_free_pairs_in_order_ties_as_half()
    {
        // Defective pixels 0.9, 0.8, 0.3; defect-free 0.1, 0.3, 0.2, 0.5, 0.6: 3 × 5 = 15 pairs.
        // 0.9 and 0.8 are above all five (10); 0.3 is above 0.1 and 0.2 and ties 0.3 (2.5). AUROC = 12.5 / 15.
        var samples = new[]
        {
            Sample(2, [0.9f, 0.1f, 0.3f, 0.2f], 0),
            Sample(2, [0.8f, 0.3f, 0.5f, 0.6f], 0, 1),
        };
        Assert.Equal(12.5 / 15, PixelMetrics.Auroc(samples), 12);
    }

    [Fact]
    public void Aupro_integrates_the_mean_region_overlap_up_to_thirty_percent_false_positives()
    {
        // Image A (1×4): map 4, 1.5, 1, 0; pixels 0–1 are one region (size 2). Image B (1×4): map 2, 0.5, 5, 0.2;
        // pixel 2 is one region (size 1). Two regions; five defect-free pixels (A: 1, 0; B: 2, 0.5, 0.2).
        // Descending levels give (FPR, PRO): start (0, 0); 5 → B's region whole (0, 0.5); 4 → half of A's (0, 0.75);
        // 2 → a false positive (0.2, 0.75); 1.5 → A's region whole (0.2, 1); 1 → (0.4, 1).
        // Area up to 0.3: 0 wide up to FPR 0, then 0.2 × 0.75 = 0.15, then 0.1 × 1 = 0.1 (1 at the limit): 0.25.
        // Normalized: 0.25 / 0.3.
        var samples = new[]
        {
            Sample(4, [4f, 1.5f, 1f, 0f], 0, 1),
            Sample(4, [2f, 0.5f, 5f, 0.2f], 2),
        };
        Assert.Equal(0.25 / 0.3, PixelMetrics.Aupro(samples), 12);
    }

    [Fact]
    public void Aupro_takes_tied_levels_as_one_step()
    {
        // As above but A's second pixel ties B's false positive at 2: after 4 (0, 0.75), the level 2 brings both:
        // (0.2, 1). Trapezoid 0.2 × (0.75 + 1) / 2 = 0.175, then 0.1 × 1 to the limit: 0.275; / 0.3.
        var samples = new[]
        {
            Sample(4, [4f, 2f, 1f, 0f], 0, 1),
            Sample(4, [2f, 0.5f, 5f, 0.2f], 2),
        };
        Assert.Equal(0.275 / 0.3, PixelMetrics.Aupro(samples), 12);
    }

    [Fact]
    public void Diagonal_neighbours_are_one_region()
    {
        // 3×3 image, defective pixels 0 and 1 (top row, side by side) and 5 (middle right, diagonal to 1): one region of 3.
        // Map: pixel 5 0.9; defect-free 2 and 3 at 0.8 and 0.7; pixels 0 and 1 at 0.6; the other four defect-free at 0.1.
        // Six defect-free pixels. Levels: 0.9 → (0, 1/3); 0.8 → (1/6, 1/3); 0.7 → (2/6, 1/3), past the limit.
        // PRO is 1/3 from FPR 0 to 0.3: area 0.1, AUPRO 1/3. (As two regions {0, 1} and {5} PRO would be 1/2.)
        var samples = new[] { Sample(3, [0.6f, 0.6f, 0.8f, 0.7f, 0.1f, 0.9f, 0.1f, 0.1f, 0.1f], 0, 1, 5) };
        Assert.Equal(1.0 / 3, PixelMetrics.Aupro(samples), 12);
    }

    [Fact]
    public void Without_defective_pixels_there_is_no_pixel_auroc_or_aupro()
    {
        var samples = new[] { Sample(2, [0.9f, 0.1f, 0.3f, 0.2f]) };
        Assert.True(double.IsNaN(PixelMetrics.Auroc(samples)));
        Assert.True(double.IsNaN(PixelMetrics.Aupro(samples)));
    }
}
