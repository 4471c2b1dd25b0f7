using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Products;

namespace Pipeline.Shared.Scoring;

// The messages between the roles that send frames (ingest), run models (scoring) and watch them (health,
// model registry). Replies go to the sender of the request.

/// <summary>
/// Asks a scorer to score one frame. The answer is exactly one of <see cref="FrameScored"/>,
/// <see cref="ScoringFailed"/> or <see cref="ScoringBusy"/>.
/// </summary>
/// <param name="FrameId">The frame's identity, echoed in the answer.</param>
/// <param name="CameraId">The camera that took it.</param>
/// <param name="CapturedAt">When the camera took it.</param>
/// <param name="IngestedAt">When ingest read it.</param>
/// <param name="Image">The frame prepared with <see cref="FramePreparation.Prepare"/> at the model's image size.</param>
/// <param name="Correlation">Opaque to the scorer and echoed in the answer: what the requester needs to finish the frame (its source partition and offset, say).</param>
/// <param name="Label">What the camera side already knows the frame shows (its <c>label</c> header): the scoring node hands the features of labelled frames to training.</param>
/// <param name="OriginalSize">The frame's size as the camera sent it, before preparation: anomaly regions are given in its pixels (the prepared image's when null).</param>
/// <param name="Product">The frame's product (<see cref="ProductCatalog.ProductOf"/>): its model scores it; <paramref name="Image"/> is prepared at that model's size.</param>
public sealed record ScoreFrame(
    string FrameId,
    string CameraId,
    DateTimeOffset CapturedAt,
    DateTimeOffset IngestedAt,
    RgbImage Image,
    object? Correlation = null,
    FrameLabel? Label = null,
    FrameSize? OriginalSize = null,
    string Product = ProductName.Default);

/// <summary>A frame's score and verdict, with the version of the model that gave them.</summary>
/// <param name="BatchSize">How many frames the model scored together with this one (itself included).</param>
/// <param name="Map">The frame's anomaly map and regions, when the scorer made one (<c>Pipeline:Scoring:AnomalyMaps</c>).</param>
/// <param name="Product">The frame's product; <paramref name="ModelVersion"/> is a version of that product's model.</param>
public sealed record FrameScored(
    string FrameId,
    string CameraId,
    double Score,
    double Threshold,
    string ModelVersion,
    DateTimeOffset CapturedAt,
    DateTimeOffset IngestedAt,
    DateTimeOffset ScoredAt,
    int BatchSize,
    object? Correlation,
    FrameAnomalyMap? Map = null,
    string Product = ProductName.Default)
{
    /// <summary>The verdict: the part is flagged when its score is above the model's threshold.</summary>
    public bool IsAnomalous => Score > Threshold;
}

/// <summary>
/// Where a frame looks anomalous: its regions in the frame's pixels, and the map as a small 8-bit grayscale PNG in the
/// frame's aspect (0 = a map value of 0, 255 = <paramref name="Peak"/>).
/// </summary>
/// <param name="RegionLevel">The level the regions are above (the model's calibrated one, or the configured override).</param>
public sealed record FrameAnomalyMap(IReadOnlyList<AnomalyRegion> Regions, byte[] Png, double Peak, double RegionLevel);

/// <summary>Why a frame has no score; the requester still owns the frame and decides what becomes of it.</summary>
public enum ScoringFailureKind
{
    /// <summary>The frame itself cannot be scored (wrong size for the model): retrying will not help; dead-letter it.</summary>
    InvalidFrame,

    /// <summary>The model failed on the batch the frame was in (device error, out of memory): retry it.</summary>
    ModelFailed,

    /// <summary>The scorer stopped or restarted before the frame was scored: retry it, on another scorer if need be.</summary>
    Interrupted,

    /// <summary>
    /// The scorer serves no model of the frame's product. The requester asks the node's status: when the node is in step
    /// with the training side (<see cref="ScoringNodeStatus.ModelsInStep"/>) the product has no model and the frame is
    /// dead-lettered (<c>no-model-for-product</c>); before, it is sent again later.
    /// </summary>
    NoModelForProduct,
}

/// <summary>A frame that was accepted but not scored, and why.</summary>
public sealed record ScoringFailed(
    string FrameId,
    string CameraId,
    ScoringFailureKind Kind,
    string Reason,
    object? Correlation);

/// <summary>
/// Backpressure: the scorer's queue is full and the frame was not taken. The requester keeps the frame, pauses
/// consuming and sends it again after <see cref="ScoringAvailable"/>.
/// </summary>
public sealed record ScoringBusy(
    string FrameId,
    string CameraId,
    int QueuedFrames,
    int QueueCapacity,
    object? Correlation);

/// <summary>
/// Sent once, to every requester that got a <see cref="ScoringBusy"/>, when the queue has drained to half its
/// capacity or less: consuming can resume.
/// </summary>
public sealed record ScoringAvailable(string Device, int FreeSlots);

/// <summary>From the next batch on, frames are scored by <paramref name="ModelVersion"/>.</summary>
/// <remarks>Per product: a swap of one product's model leaves every other product's as it is.</remarks>
public sealed record ModelSwapped(string Device, string ModelVersion, string? PreviousVersion, string Product = ProductName.Default);

/// <summary>The model could not be loaded; the scorer keeps the model it had.</summary>
public sealed record ModelLoadFailed(string Device, string ModelVersion, string Reason, string Product = ProductName.Default);

/// <summary>
/// Asks for readiness, for health endpoints: a device's scorer answers <see cref="ScoringStatus"/>, a node's
/// scoring router <see cref="ScoringNodeStatus"/>.
/// </summary>
public sealed record GetScoringStatus
{
    public static readonly GetScoringStatus Instance = new();
}

/// <summary>One product's model a scorer serves: the version and the side of the square frames it scores.</summary>
public sealed record ServedModel(string Product, string Version, int ImageSize);

/// <summary>A scorer's state: ready when a model is loaded.</summary>
/// <param name="ImageSize">Side of the square frames the loaded model scores (what ingest prepares frames to); null without a model.</param>
/// <param name="Queued">Frames waiting for a batch.</param>
/// <param name="InFlight">Frames in the batch the device is scoring now.</param>
/// <param name="Served">Every product's model the scorer serves; null: only <paramref name="ModelVersion"/>, as the default product's.</param>
/// <remarks><paramref name="ModelLoaded"/>, <paramref name="ModelVersion"/> and <paramref name="ImageSize"/> describe the default product's model, or the first served one when the default has none.</remarks>
public sealed record ScoringStatus(bool ModelLoaded, string? ModelVersion, int? ImageSize, int Queued, int InFlight, string Device, IReadOnlyList<ServedModel>? Served = null)
{
    /// <summary>The models served, one per product.</summary>
    public IReadOnlyList<ServedModel> ServedModels =>
        Served ?? (ModelLoaded && ModelVersion is { } version && ImageSize is { } size ? [new ServedModel(ProductName.Default, version, size)] : []);

    /// <summary>Equal when every field is, the served models compared one by one (a status without <see cref="Served"/> serves what <see cref="ServedModels"/> says).</summary>
    public bool Equals(ScoringStatus? other) =>
        other is not null && ModelLoaded == other.ModelLoaded && ModelVersion == other.ModelVersion && ImageSize == other.ImageSize
        && Queued == other.Queued && InFlight == other.InFlight && Device == other.Device && ServedModels.SequenceEqual(other.ServedModels);

    public override int GetHashCode() => HashCode.Combine(ModelLoaded, ModelVersion, ImageSize, Queued, InFlight, Device, ServedModels.Count);
}

/// <summary>The states of all scorers of a node; it is ready when it has scorers and each has a model.</summary>
/// <param name="ModelsInStep">
/// Whether the node serves every product the training side says has a current version (each loaded, or refused for a
/// reason): then a product it does not serve has no model (<see cref="Kafka.DeadLetterReasons.NoModelForProduct"/>);
/// before, its frames wait. True for a node without a model follower (its models are configured).
/// </param>
public sealed record ScoringNodeStatus(IReadOnlyList<ScoringStatus> Scorers, bool ModelsInStep = true)
{
    public bool Ready => Scorers.Count > 0 && Scorers.All(scorer => scorer.ServedModels.Count > 0);

    /// <summary>The default product's frame size, once every scorer has its model at the same size; else null.</summary>
    public int? ImageSize => ImageSizeOf(ProductName.Default);

    /// <summary>The frame size <paramref name="product"/>'s model scores, once every scorer serves it at the same size; else null.</summary>
    public int? ImageSizeOf(string product)
    {
        if (Scorers.Count == 0) return null;
        var sizes = Scorers.Select(scorer => scorer.ServedModels.FirstOrDefault(model => model.Product == product)?.ImageSize).Distinct().ToArray();
        return sizes is [{ } size] ? size : null;
    }

    /// <summary>The products every scorer of the node serves.</summary>
    public IReadOnlyList<string> Products =>
        Scorers.Count == 0 ? [] : Scorers.Select(scorer => scorer.ServedModels.Select(model => model.Product))
            .Aggregate((all, next) => all.Intersect(next)).Order(StringComparer.Ordinal).ToArray();
}
