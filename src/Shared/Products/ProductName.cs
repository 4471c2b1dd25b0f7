using System.Text.RegularExpressions;

namespace Pipeline.Shared.Products;

/// <summary>
/// A product: a kind of part on the lines, with its own model lineage, threshold, sample store, refits and metrics
/// label; the frozen backbone is shared by all of them. A product is named by lower-case letters, digits and dashes
/// (<c>bracket-a</c>). A deployment that configures nothing about products has one, <see cref="Default"/>, and behaves
/// as a single-model deployment: the same topics, registry layout and commands.
/// </summary>
public static partial class ProductName
{
    /// <summary>The product of frames that name none and whose camera is mapped to none; what commands act on without <c>--product</c>.</summary>
    public const string Default = "default";

    /// <summary>The longest name accepted (a Kafka header, a metrics label, a folder name).</summary>
    public const int MaxLength = 63;

    /// <summary>Whether <paramref name="name"/> is a product name: 1 to <see cref="MaxLength"/> of <c>[a-z0-9-]</c>, not starting or ending with a dash.</summary>
    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    /// <summary>
    /// <paramref name="name"/> when it is a product name, else a <see cref="PipelineInputException"/> that says where it
    /// came from (<paramref name="source"/>: "--product", "Pipeline:Products", …) and what a name may hold.
    /// </summary>
    public static string Require(string? name, string source) =>
        IsValid(name) ? name!
            : throw new PipelineInputException($"'{name}' ({source}) is not a product name: use 1 to {MaxLength} lower-case letters, digits and dashes, not starting or ending with a dash (for example bracket-a).");

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex Pattern();
}
