using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;

namespace Pipeline.Ingest;

/// <summary>What ingest can do with a frame of a product, given what scoring said it serves (<see cref="Of"/>).</summary>
public abstract record ProductReadiness
{
    /// <summary>
    /// <list type="bullet">
    /// <item>Every scorer serves the product at one frame size: <see cref="Served"/> at that size.</item>
    /// <item>No scorer serves it, and the node is in step with the training side (<see cref="ScoringNodeStatus.ModelsInStep"/>)
    /// with a model on every scorer (<see cref="ScoringNodeStatus.Ready"/>): <see cref="NotServed"/>, with
    /// <c>unknown-product</c> when the product is not in <paramref name="catalog"/> (<see cref="ProductCatalog.Known"/>),
    /// else <c>no-model-for-product</c>.</item>
    /// <item>Otherwise (no status yet, a node still loading or catching up, scorers that disagree mid-swap): <see cref="Waiting"/>.</item>
    /// </list>
    /// </summary>
    /// <param name="source">Where the product came from, for the dead letter's sentence.</param>
    public static ProductReadiness Of(ScoringNodeStatus? status, ProductCatalog catalog, string product, string source)
    {
        if (status is null) return Waiting.Instance;
        if (status.ImageSizeOf(product) is { } size) return new Served(size);
        var servedAnywhere = status.Scorers.Any(scorer => scorer.ServedModels.Any(model => model.Product == product));
        if (servedAnywhere || !status.Ready || !status.ModelsInStep) return Waiting.Instance;

        var served = status.Products is { Count: > 0 } products ? string.Join(", ", products) : "none";
        return catalog.Known.Contains(product)
            ? new NotServed(new FrameRejection(DeadLetterReasons.NoModelForProduct,
                $"Product '{product}' ({source}) has no model yet; scoring serves {served}. Import its first version (pipeline models import --product {product})."))
            : new NotServed(new FrameRejection(DeadLetterReasons.UnknownProduct,
                $"Product '{product}' ({source}) is not configured in {ProductCatalog.Section} and no scoring node serves a model of it (serving: {served}); configure the product or correct the frame's product header."));
    }

    /// <summary>Frames of the product are prepared at <paramref name="ImageSize"/> and sent to scoring.</summary>
    public sealed record Served(int ImageSize) : ProductReadiness;

    /// <summary>Frames of the product wait; scoring is asked again.</summary>
    public sealed record Waiting : ProductReadiness
    {
        public static readonly Waiting Instance = new();
    }

    /// <summary>Frames of the product go to the dead-letter topic, with <paramref name="Rejection"/>.</summary>
    public sealed record NotServed(FrameRejection Rejection) : ProductReadiness;
}
