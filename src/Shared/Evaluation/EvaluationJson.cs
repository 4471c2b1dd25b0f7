using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Shared.Evaluation;

/// <summary>
/// Writes an <see cref="EvaluationResult"/> as JSON: snake_case names (<c>auroc</c>,
/// <c>auroc_per_defect</c>, <c>threshold</c>, <c>n_good</c>, <c>n_defect</c>, <c>images</c>, …)
/// headed by <c>schema_version</c>. Rates and AUROC values are fractions in [0, 1].
/// </summary>
public static class EvaluationJson
{
    /// <summary>Raised whenever a field is renamed, removed or changes meaning.</summary>
    public const int SchemaVersion = 1;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public static void Write(EvaluationResult result, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(result);
        var document = JsonSerializer.SerializeToNode(result, Options)!.AsObject();
        document.Insert(0, "schema_version", SchemaVersion);
        JsonSerializer.Serialize(destination, document, Options);
    }

    /// <summary>Writes to <paramref name="path"/>, replacing any file there.</summary>
    public static void Write(EvaluationResult result, string path)
    {
        using var file = File.Create(path);
        Write(result, file);
    }
}
