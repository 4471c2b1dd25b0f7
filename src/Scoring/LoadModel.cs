using Pipeline.Shared.Model;
using Pipeline.Shared.Scoring;

namespace Pipeline.Scoring;

/// <summary>
/// Puts a model to work on this node's scorers (never crosses nodes: the model follower fetches the artifact and
/// tells its own node). The scorer loads it on its device beside the current one and swaps between two batches;
/// the answer is <see cref="ModelSwapped"/> or <see cref="ModelLoadFailed"/>.
/// </summary>
/// <param name="Product">Whose model it is: it replaces that product's model only.</param>
public sealed record LoadModel(ModelArtifact Artifact, string Product = Pipeline.Shared.Products.ProductName.Default);
