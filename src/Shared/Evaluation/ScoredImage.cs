using System.Text.Json.Serialization;

namespace Pipeline.Shared.Evaluation;

/// <summary>
/// One labelled test image and the anomaly score the model gave it.
/// <see cref="DefectType"/> is <see cref="Good"/> for a defect-free image, otherwise the kind of defect
/// (in MVTec AD layout, the name of the test sub-folder).
/// </summary>
public sealed record ScoredImage(string Path, string DefectType, double Score)
{
    /// <summary>The defect type of defect-free images.</summary>
    public const string Good = "good";

    [JsonIgnore]
    public bool IsDefective => DefectType != Good;
}
