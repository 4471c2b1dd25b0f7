using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;

namespace Pipeline.Shared.Training;

// The messages between scoring nodes and the training singleton (the cluster singleton on the training role):
// known-good features going in, model versions coming out. Replies go to the sender of the request.

/// <summary>The distributed pub-sub topics of continuous learning.</summary>
public static class TrainingTopics
{
    /// <summary><see cref="ModelAnnouncement"/>s: the version every scoring node should serve now.</summary>
    public const string ModelVersions = "model-versions";

    /// <summary><see cref="FrameLabelled"/>: labels that came after the frame (the labels topic), for the scoring node that kept its features.</summary>
    public const string FrameLabels = "frame-labels";
}

/// <summary>Features of labelled frames for the sample store; sent by a scoring node in small batches.</summary>
public sealed record CollectSamples(IReadOnlyList<FeatureSample> Samples);

/// <summary>
/// The version scoring nodes should serve: published on <see cref="TrainingTopics.ModelVersions"/> when it changes, and
/// the answer to <see cref="GetCurrentModel"/>. Its bytes are fetched with <see cref="FetchModelChunk"/>.
/// </summary>
/// <param name="Sha256">The artifact's SHA-256 (lower-case hex): what the fetched bytes must hash to.</param>
/// <param name="SizeBytes">Length of the artifact file.</param>
/// <param name="Product">Whose model it is: versions are numbered per product, and scoring nodes follow each product's apart.</param>
public sealed record ModelAnnouncement(string Version, string Sha256, long SizeBytes, string Product = ProductName.Default);

/// <summary>Asks the training singleton which version is current; the answer is <see cref="CurrentModelIs"/>.</summary>
public sealed record GetCurrentModel
{
    public static readonly GetCurrentModel Instance = new();
}

/// <summary>The current version, or null when the registry has none yet.</summary>
public sealed record CurrentModelIs(ModelAnnouncement? Current);

/// <summary>Asks the training singleton for every product's current version; the answer is <see cref="CurrentModelsAre"/>.</summary>
public sealed record GetCurrentModels
{
    public static readonly GetCurrentModels Instance = new();
}

/// <summary>The current version of every product that has one, in product name order.</summary>
public sealed record CurrentModelsAre(IReadOnlyList<ModelAnnouncement> Current);

/// <summary>
/// Asks for <paramref name="Length"/> bytes of a version's artifact from <paramref name="Offset"/>; the answer is
/// <see cref="ModelChunk"/> or <see cref="ModelChunkUnavailable"/>. Chunks keep every message far below Akka's
/// maximum frame size, whatever the model's size.
/// </summary>
public sealed record FetchModelChunk(string Version, long Offset, int Length, string Product = ProductName.Default);

public sealed record ModelChunk(string Version, long Offset, long TotalBytes, byte[] Bytes, string Product = ProductName.Default);

public sealed record ModelChunkUnavailable(string Version, string Reason, string Product = ProductName.Default);

/// <summary>A scoring node's outcome of putting a version to work, for the training side's log and model events.</summary>
/// <param name="Node">The node's address.</param>
/// <param name="Reason">Why it was refused (null when adopted).</param>
public sealed record ModelAdoptionReport(string Node, string Version, bool Adopted, string? Reason, string Product = ProductName.Default);

/// <summary>A label that came after its frame was scored (from the labels topic), published to every scoring node.</summary>
/// <param name="Product">The product the label names (<c>LabelFeedback.Product</c>): the sample goes to that product's store;
/// null when the label names none (then the product of the frame's features decides).</param>
public sealed record FrameLabelled(string FrameId, FrameLabel Label, string? Product = null);

/// <summary>Asks for a refit now (<c>pipeline refit</c>); the answer is <see cref="RefitFinished"/> once it has run.</summary>
/// <param name="Requester">Who asked, for the log ("cli", "schedule", …).</param>
/// <param name="Product">The product whose flow is refitted on its own samples.</param>
public sealed record RequestRefit(string Requester, string Product = ProductName.Default);

/// <summary>How a refit ended: a new version published and current, or rejected with the reason.</summary>
/// <param name="Summary">One sentence with the validation figures (or why no refit ran).</param>
public sealed record RefitFinished(bool Published, string? Version, string Summary, string Product = ProductName.Default);

/// <summary>Asks the training singleton for one product's state; the answer is <see cref="TrainingStatus"/>.</summary>
public sealed record GetTrainingStatus(string Product = ProductName.Default)
{
    /// <summary>The default product's state.</summary>
    public static readonly GetTrainingStatus Instance = new();
}

/// <param name="CurrentVersion">The registry's current version (null when empty).</param>
/// <param name="GoodSamples">Known-good samples stored (all cameras).</param>
/// <param name="DefectSamples">Labelled defects stored (for the validation gate).</param>
/// <param name="NewGoodSamples">Good samples collected since the last refit.</param>
/// <param name="Refitting">Whether a refit is running.</param>
/// <param name="LastRefit">The last refit's outcome, if one ran since the node started.</param>
public sealed record TrainingStatus(
    string? CurrentVersion,
    int GoodSamples,
    int DefectSamples,
    int NewGoodSamples,
    bool Refitting,
    RefitFinished? LastRefit,
    string Product = ProductName.Default);
