using Pipeline.Host.Demo;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Demo;

/// <summary>The demo summary's per-product figures: counted by the product each result names, measured against the cameras' truth.</summary>
public sealed class ProductFiguresTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Results_count_once_per_frame_for_the_product_they_name_and_each_product_gets_its_own_auroc()
    {
        var truth = new Dictionary<string, FrameTruth>
        {
            ["f1"] = Truth("bracket-a", defective: false), ["f2"] = Truth("bracket-a", defective: true), ["f3"] = Truth("bracket-a", defective: true),
            ["f4"] = Truth("gasket-b", defective: false), ["f5"] = Truth("gasket-b", defective: true),
        };
        InspectionResult[] results =
        [
            Result("f1", "bracket-a", score: 1, at: 1), Result("f2", "bracket-a", score: 5, at: 2), Result("f3", "bracket-a", score: 0.5, at: 3),
            Result("f2", "bracket-a", score: 5, at: 4), // delivered twice: counts once
            Result("f4", "gasket-b", score: 9, at: 5), Result("f5", "gasket-b", score: 2, at: 6),
        ];

        var figures = ProductFigures.Of(["bracket-a", "gasket-b"], results, truth);

        Assert.Equal(new Dictionary<string, int> { ["bracket-a"] = 3, ["gasket-b"] = 2 }, figures.ResultsPerProduct);
        // bracket-a: one good (1) against defects 5 and 0.5: one of two pairs ranked right. gasket-b: the defect scores lower.
        Assert.Equal(0.5, figures.AurocPerProduct["bracket-a"]);
        Assert.Equal(0.0, figures.AurocPerProduct["gasket-b"]);
    }

    [Fact]
    public void A_product_without_results_counts_zero_and_results_named_for_another_product_count_for_that_one()
    {
        var truth = new Dictionary<string, FrameTruth> { ["f1"] = Truth("bracket-a", defective: false), ["f2"] = Truth("gasket-b", defective: true) };

        var figures = ProductFigures.Of(["bracket-a", "gasket-b"], [Result("f1", "default", 1, at: 1), Result("f2", "default", 2, at: 2)], truth);

        Assert.Equal(["bracket-a", "gasket-b", "default"], figures.ResultsPerProduct.Keys);
        Assert.Equal([0, 0, 2], figures.ResultsPerProduct.Values);
        Assert.Null(figures.AurocPerProduct["bracket-a"]);
        Assert.Equal(1.0, figures.AurocPerProduct["default"]);
        Assert.Empty(figures.ModelVersionsPerProduct["gasket-b"]);
    }

    [Fact]
    public void Each_product_lists_the_versions_that_scored_it_in_order_of_first_use()
    {
        var truth = Enumerable.Range(1, 6).ToDictionary(i => $"f{i}", i => Truth(i <= 3 ? "bracket-a" : "gasket-b", defective: i % 2 == 0));
        InspectionResult[] results =
        [
            Result("f3", "bracket-a", 1, at: 5, version: "v2"), Result("f1", "bracket-a", 1, at: 1, version: "v1"), Result("f2", "bracket-a", 1, at: 2, version: "v1"),
            Result("f4", "gasket-b", 1, at: 3, version: "v1"), Result("f5", "gasket-b", 1, at: 4, version: "v1"), Result("f6", "gasket-b", 1, at: 6, version: "v1"),
        ];

        var figures = ProductFigures.Of(["bracket-a", "gasket-b"], results, truth);

        Assert.Equal(["v1", "v2"], figures.ModelVersionsPerProduct["bracket-a"]);
        Assert.Equal(["v1"], figures.ModelVersionsPerProduct["gasket-b"]);
    }

    private static FrameTruth Truth(string product, bool defective) => new(defective, defective ? "scratch" : "good", Corrupt: false, product);

    private static InspectionResult Result(string frameId, string product, double score, int at, string version = "v1") => new()
    {
        FrameId = frameId,
        CameraId = "camera-1",
        Product = product,
        Score = score,
        Threshold = 3,
        Verdict = InspectionResult.VerdictFor(score, 3),
        ModelVersion = version,
        CapturedAt = Start,
        IngestedAt = Start,
        ScoredAt = Start.AddSeconds(at),
        PublishedAt = Start.AddSeconds(at),
        SourcePartition = 0,
        SourceOffset = at,
    };
}
