namespace Pipeline.Shared.Evaluation;

/// <summary>One test image's anomaly map and ground truth at the same resolution: <c>Width · Height</c> values and mask pixels, row by row.</summary>
/// <param name="Mask">True where the image is defective; all false for a good image.</param>
public sealed record PixelSample(string DefectType, int Width, float[] Map, bool[] Mask)
{
    public int Height => Map.Length / Width;
}

/// <summary>
/// Pixel-level localization metrics over a set of test images, as in the MVTec AD papers and anomalib: AUROC over all
/// pixels, and AUPRO, the area under the per-region overlap curve up to a false positive rate of 30 %, divided by 0.3.
/// </summary>
/// <remarks>
/// Both are exact at every distinct map value (ties are one step). The false positive rate counts the defect-free
/// pixels of all images (good images and the defect-free parts of defective ones). A region is an 8-connected
/// component of one image's mask; its overlap at a level is the share of its pixels whose map value is at least that
/// level, and PRO is the mean overlap over all regions of all images. The PRO curve starts at (0, 0), is integrated
/// with the trapezoidal rule and interpolated linearly at the limit.
/// </remarks>
public static class PixelMetrics
{
    /// <summary>MVTec AD's limit on the false positive rate of the PRO curve.</summary>
    public const double DefaultFalsePositiveLimit = 0.3;

    /// <summary>Pixel AUROC: the probability that a defective pixel's map value exceeds a defect-free one's (ties count half).</summary>
    public static double Auroc(IReadOnlyList<PixelSample> samples)
    {
        var (values, labels) = Flatten(samples, (sample, pixel) => samples[sample].Mask[pixel] ? 1 : 0);
        long positives = labels.Count(l => l != 0), negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        // Mann–Whitney: the sum of the defective pixels' ranks, ties given their mean rank.
        double rankSum = 0;
        for (var i = 0; i < values.Length;)
        {
            var end = i;
            long positivesInTie = 0;
            for (; end < values.Length && values[end] == values[i]; end++)
                positivesInTie += labels[end];
            var meanRank = (i + 1 + end) / 2.0; // ranks i+1 .. end
            rankSum += positivesInTie * meanRank;
            i = end;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>Points of the pixel ROC curve, at most about <paramref name="maxPoints"/> of them, from (0, 0) to (1, 1).</summary>
    public static IReadOnlyList<RocPoint> RocCurve(IReadOnlyList<PixelSample> samples, int maxPoints = 400)
    {
        var (values, labels) = Flatten(samples, (sample, pixel) => samples[sample].Mask[pixel] ? 1 : 0);
        long positives = labels.Count(l => l != 0), negatives = labels.Length - positives;
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        if (positives == 0 || negatives == 0) return points;
        var every = Math.Max(1, values.Length / maxPoints);
        long tp = 0, fp = 0;
        for (int i = values.Length - 1, step = 0; i >= 0;)
        {
            var value = values[i];
            for (; i >= 0 && values[i] == value; i--)
            {
                if (labels[i] != 0) tp++; else fp++;
                step++;
            }
            if (step >= every || i < 0)
            {
                points.Add(new RocPoint(value, (double)fp / negatives, (double)tp / positives));
                step = 0;
            }
        }
        return points;
    }

    /// <summary>AUPRO up to <paramref name="falsePositiveLimit"/>, normalized by it to [0, 1]; NaN when no image has a defective pixel.</summary>
    public static double Aupro(IReadOnlyList<PixelSample> samples, double falsePositiveLimit = DefaultFalsePositiveLimit)
    {
        if (!(falsePositiveLimit is > 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(falsePositiveLimit), $"The false positive limit must be in (0, 1], got {falsePositiveLimit}.");
        // Number each image's 8-connected mask regions 1.. over all images; 0 is defect-free.
        var regionSizes = new List<long> { 0 };
        var regionOfPixel = samples.Select(sample => Components(sample, regionSizes)).ToArray();
        var regionCount = regionSizes.Count - 1;
        if (regionCount == 0) return double.NaN;
        var (values, regions) = Flatten(samples, (sample, pixel) => regionOfPixel[sample][pixel]);
        long negatives = regions.Count(r => r == 0);
        if (negatives == 0) return double.NaN;

        double overlapSum = 0; // Σ over regions of hits/size
        long fp = 0;
        double area = 0, previousFpr = 0, previousPro = 0;
        for (var i = values.Length - 1; i >= 0;)
        {
            var value = values[i];
            for (; i >= 0 && values[i] == value; i--)
            {
                var region = regions[i];
                if (region == 0) fp++;
                else overlapSum += 1.0 / regionSizes[region];
            }
            double fpr = (double)fp / negatives, pro = overlapSum / regionCount;
            if (fpr >= falsePositiveLimit)
            {
                var proAtLimit = fpr == previousFpr ? pro : previousPro + (pro - previousPro) * (falsePositiveLimit - previousFpr) / (fpr - previousFpr);
                area += (falsePositiveLimit - previousFpr) * (previousPro + proAtLimit) / 2;
                return area / falsePositiveLimit;
            }
            area += (fpr - previousFpr) * (previousPro + pro) / 2;
            (previousFpr, previousPro) = (fpr, pro);
        }
        return area / falsePositiveLimit; // not reached: the last level has fpr 1
    }

    /// <summary>All pixels' map values, sorted ascending, each with the label <paramref name="labelOf"/> gives it (sample index, pixel index).</summary>
    private static (float[] Values, int[] Labels) Flatten(IReadOnlyList<PixelSample> samples, Func<int, int, int> labelOf)
    {
        var total = samples.Sum(s => (long)s.Map.Length);
        if (total == 0) throw new ArgumentException("Pixel metrics need at least one image with pixels.", nameof(samples));
        var values = new float[total];
        var labels = new int[total];
        var at = 0;
        for (var s = 0; s < samples.Count; s++)
        {
            var sample = samples[s];
            if (sample.Mask.Length != sample.Map.Length)
                throw new ArgumentException($"A {sample.DefectType} image has {sample.Map.Length} map values but {sample.Mask.Length} mask pixels; both must be at the same resolution.", nameof(samples));
            for (var p = 0; p < sample.Map.Length; p++, at++)
            {
                if (!float.IsFinite(sample.Map[p]))
                    throw new ArgumentException($"A {sample.DefectType} image has the map value {sample.Map[p]} at pixel {p}; maps must be finite.", nameof(samples));
                values[at] = sample.Map[p];
                labels[at] = labelOf(s, p);
            }
        }
        Array.Sort(values, labels);
        return (values, labels);
    }

    /// <summary>The 8-connected regions of a sample's mask: each pixel's region number (0 outside), sizes appended to <paramref name="regionSizes"/>.</summary>
    private static int[] Components(PixelSample sample, List<long> regionSizes)
    {
        var (width, height) = (sample.Width, sample.Height);
        var region = new int[sample.Mask.Length];
        var stack = new Stack<int>();
        for (var start = 0; start < region.Length; start++)
        {
            if (!sample.Mask[start] || region[start] != 0) continue;
            var id = regionSizes.Count;
            long size = 0;
            region[start] = id;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var at = stack.Pop();
                size++;
                int x = at % width, y = at / width;
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                    var next = ny * width + nx;
                    if (!sample.Mask[next] || region[next] != 0) continue;
                    region[next] = id;
                    stack.Push(next);
                }
            }
            regionSizes.Add(size);
        }
        return region;
    }
}
