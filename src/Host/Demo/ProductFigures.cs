using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.Demo;

/// <summary>
/// The demo summary's figures per product, from the results as the pipeline published them: each result counts for
/// the product its <c>product</c> field names, and is measured against the camera simulator's truth of its frame.
/// A frame delivered twice counts once (its first result).
/// </summary>
/// <param name="ResultsPerProduct">Frames with a result, per product the results name: every streamed product (0 when none came) and any other product a result names.</param>
/// <param name="AurocPerProduct">Image-level AUROC (0..1) of each product's results; null for a product without both good and defective frames among them.</param>
/// <param name="ModelVersionsPerProduct">The versions of each product's model that scored its frames, in order of first use (by publication time).</param>
public sealed record ProductFigures(
    IReadOnlyDictionary<string, int> ResultsPerProduct,
    IReadOnlyDictionary<string, double?> AurocPerProduct,
    IReadOnlyDictionary<string, IReadOnlyList<string>> ModelVersionsPerProduct)
{
    /// <param name="products">The products streamed, in the order they are reported.</param>
    /// <param name="results">Every result read (a frame may appear more than once).</param>
    /// <param name="truth">The truth of every frame sent, by frame id.</param>
    public static ProductFigures Of(IReadOnlyList<string> products, IReadOnlyList<InspectionResult> results, IReadOnlyDictionary<string, FrameTruth> truth)
    {
        var firstOfEach = results.OrderBy(r => r.PublishedAt ?? r.ScoredAt).GroupBy(r => r.FrameId, StringComparer.Ordinal).Select(group => group.First()).ToArray();
        var named = products.Concat(firstOfEach.Select(r => r.Product).Where(product => !products.Contains(product)).Distinct().Order(StringComparer.Ordinal)).ToArray();
        var byProduct = named.ToDictionary(product => product, product => firstOfEach.Where(r => r.Product == product).ToArray(), StringComparer.Ordinal);
        return new ProductFigures(
            named.ToDictionary(product => product, product => byProduct[product].Length),
            named.ToDictionary(product => product, product => Auroc(byProduct[product], truth)),
            named.ToDictionary(product => product, product => (IReadOnlyList<string>)byProduct[product].Select(r => r.ModelVersion).Distinct().ToArray()));
    }

    private static double? Auroc(IReadOnlyList<InspectionResult> results, IReadOnlyDictionary<string, FrameTruth> truth)
    {
        var known = results.Where(r => truth.ContainsKey(r.FrameId)).ToArray();
        var good = known.Where(r => !truth[r.FrameId].Defective).Select(r => r.Score).ToArray();
        var defective = known.Where(r => truth[r.FrameId].Defective).Select(r => r.Score).ToArray();
        return good.Length > 0 && defective.Length > 0 ? RocAnalysis.Auroc(good, defective) : null;
    }
}
