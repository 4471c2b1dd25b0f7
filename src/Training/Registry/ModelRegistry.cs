using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Shared;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;

namespace Pipeline.Training.Registry;

/// <summary>A version in the registry, as <c>pipeline models list</c> shows it (read from its small sidecar, not the weights).</summary>
public sealed record RegisteredModel(
    string Version,
    string Sha256,
    long SizeBytes,
    DateTimeOffset CreatedAt,
    int ImageSize,
    int TestViews,
    double Threshold,
    string Origin);

/// <summary>
/// The model registry: every published model as a versioned, checksummed artifact in one directory (a volume that
/// survives restarts), and which version is current. Versions are assigned here, in order: <c>v1</c>, <c>v2</c>, …;
/// the artifact's manifest carries its version, so every result names it.
/// <code>
/// registry.json            current version and the history of versions made current (for rollback)
/// models/v3.dnfm           the artifact (ModelArtifact format, SHA-256 sealed)
/// models/v3.json           its summary, so that listing does not read hundreds of MB of weights
/// </code>
/// Writers (the training node, <c>pipeline models promote</c>) take an exclusive lock file for each change, and every
/// file is written to a temporary name and renamed, so a crash never leaves a half-written model or pointer.
/// </summary>
public sealed partial class ModelRegistry
{
    private const string StateFile = "registry.json";
    private const string LockFile = ".lock";
    private const string ProductsFolder = "products";
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    private ModelRegistry(string root)
    {
        Root = root;
        ModelsFolder = Path.Combine(root, "models");
    }

    public string Root { get; }

    private string ModelsFolder { get; }

    /// <summary>Opens (creating when needed) the registry in <paramref name="root"/>.</summary>
    public static ModelRegistry Open(string root)
    {
        if (string.IsNullOrWhiteSpace(root)) throw new PipelineInputException("The model registry needs a directory (Pipeline:Training:RegistryPath or --registry).");
        var full = Path.GetFullPath(root);
        if (File.Exists(full)) throw new PipelineInputException($"The model registry '{full}' is a file; give a directory.");
        try
        {
            Directory.CreateDirectory(Path.Combine(full, "models"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineInputException($"The model registry '{full}' cannot be created ({e.Message}).", e);
        }
        return new ModelRegistry(full);
    }

    /// <summary>
    /// The folder of <paramref name="product"/>'s registry under the registry root <paramref name="root"/>: the root
    /// itself for <see cref="ProductName.Default"/> (a deployment without products keeps its layout), else
    /// <c>products/&lt;name&gt;/</c>, with the same layout inside.
    /// </summary>
    public static string FolderOf(string root, string product) =>
        ProductName.Require(product, "product") == ProductName.Default ? root : Path.Combine(root, ProductsFolder, product);

    /// <summary>Opens (creating when needed) <paramref name="product"/>'s registry under the registry root <paramref name="root"/> (<see cref="FolderOf"/>).</summary>
    public static ModelRegistry Open(string root, string product) => Open(FolderOf(root, product));

    /// <summary>The products with a registry folder under <paramref name="root"/>: the default one, and every <c>products/&lt;name&gt;/</c>; in name order.</summary>
    public static IReadOnlyList<string> ProductsIn(string root)
    {
        var folder = Path.Combine(root, ProductsFolder);
        var named = Directory.Exists(folder)
            ? Directory.EnumerateDirectories(folder).Select(Path.GetFileName).Where(ProductName.IsValid).Cast<string>()
            : [];
        return named.Append(ProductName.Default).Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The current version, or null when nothing was published yet.</summary>
    public RegisteredModel? Current => ReadState().Current is { } version ? Find(version) : null;

    /// <summary>Every version, oldest first.</summary>
    public IReadOnlyList<RegisteredModel> List() =>
        Directory.EnumerateFiles(ModelsFolder, "*.json")
            .Select(file => Path.GetFileNameWithoutExtension(file))
            .Where(version => VersionPattern().IsMatch(version))
            .OrderBy(VersionNumber)
            .Select(version => Find(version)!)
            .Where(model => model is not null)
            .ToArray();

    /// <summary>The version made current before the current one (what <see cref="Rollback"/> returns to), if any.</summary>
    public string? Previous => ReadState().History is { Count: >= 2 } history ? history[^2] : null;

    /// <summary>The artifact file of <paramref name="version"/>.</summary>
    public string PathOf(string version) => Path.Combine(ModelsFolder, RequireVersionName(version) + ModelArtifact.FileExtension);

    /// <summary>Reads and verifies the artifact of <paramref name="version"/> (checksum, format).</summary>
    public ModelArtifact Load(string version)
    {
        if (Find(version) is null) throw UnknownVersion(version);
        return ModelArtifact.Load(PathOf(version));
    }

    /// <summary>
    /// Stores <paramref name="artifact"/> as the next version (its manifest rewritten to name that version) and, when
    /// <paramref name="makeCurrent"/>, makes it current.
    /// </summary>
    /// <param name="origin">Where it came from, for listings ("refit of v2 on 412 samples", "imported from model.dnfm").</param>
    public RegisteredModel Publish(ModelArtifact artifact, string origin, bool makeCurrent)
    {
        using var _ = Lock();
        var version = $"v{List().Select(model => VersionNumber(model.Version)).DefaultIfEmpty(0).Max() + 1}";
        var stamped = artifact.SaveAs(PathOf(version), artifact.Manifest with { ModelVersion = version }); // the weights streamed, never all in memory
        var registered = new RegisteredModel(version, stamped.Sha256, new FileInfo(PathOf(version)).Length, stamped.Manifest.CreatedAt,
            stamped.Manifest.ImageSize, stamped.Manifest.TestViews, stamped.Manifest.Threshold, origin);
        WriteAtomically(Path.Combine(ModelsFolder, version + ".json"), JsonSerializer.SerializeToUtf8Bytes(registered, Json));
        if (makeCurrent) MakeCurrent(version);
        return registered;
    }

    /// <summary>Makes <paramref name="version"/> current after checking that its artifact is whole (a corrupt one is refused).</summary>
    public RegisteredModel Promote(string version)
    {
        using var _ = Lock();
        var model = Find(version) ?? throw UnknownVersion(version);
        var artifact = ModelArtifact.Load(PathOf(version)); // throws ModelArtifactException naming the file and the problem
        if (artifact.Sha256 != model.Sha256)
            throw new ModelArtifactException(PathOf(version), $"has SHA-256 {artifact.Sha256[..12]}…, but the registry recorded {model.Sha256[..12]}… when it was published");
        MakeCurrent(version);
        return model;
    }

    /// <summary>Makes the version that was current before the current one current again.</summary>
    public RegisteredModel Rollback()
    {
        string previous;
        using (Lock())
        {
            var state = ReadState();
            if (state.History is not { Count: >= 2 } history)
                throw new PipelineInputException($"The registry '{Root}' has no earlier version to roll back to (current: {state.Current ?? "none"}).");
            previous = history[^2];
            // Rolling back forgets the current version's turn: a second rollback goes further back.
            WriteState(state with { Current = previous, History = history.Take(history.Count - 1).ToList() });
        }
        return Find(previous)!;
    }

    private void MakeCurrent(string version)
    {
        var state = ReadState();
        if (state.Current == version) return;
        WriteState(state with { Current = version, History = [.. state.History.Where(v => v != version), version] });
    }

    private RegisteredModel? Find(string version)
    {
        var summary = Path.Combine(ModelsFolder, RequireVersionName(version) + ".json");
        if (!File.Exists(summary)) return null;
        try
        {
            return JsonSerializer.Deserialize<RegisteredModel>(File.ReadAllBytes(summary), Json);
        }
        catch (JsonException e)
        {
            throw new PipelineInputException($"The registry's summary '{summary}' is unreadable ({e.Message}); restore it or remove the version.", e);
        }
    }

    private RegistryState ReadState()
    {
        var file = Path.Combine(Root, StateFile);
        if (!File.Exists(file)) return new RegistryState(null, []);
        try
        {
            return JsonSerializer.Deserialize<RegistryState>(File.ReadAllBytes(file), Json) ?? new RegistryState(null, []);
        }
        catch (JsonException e)
        {
            throw new PipelineInputException($"The registry state '{file}' is unreadable ({e.Message}); restore it from a backup or set its \"current\" by hand.", e);
        }
    }

    private void WriteState(RegistryState state) => WriteAtomically(Path.Combine(Root, StateFile), JsonSerializer.SerializeToUtf8Bytes(state, Json));

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>An exclusive lock across processes (the training node and the CLI), held while one change is made.</summary>
    private FileStream Lock()
    {
        var path = Path.Combine(Root, LockFile);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException e)
            {
                throw new PipelineInputException($"The model registry '{Root}' stayed locked for 30 s by another writer ({e.Message}).", e);
            }
        }
    }

    private PipelineInputException UnknownVersion(string version) =>
        new($"The registry '{Root}' has no version '{version}'; it has {string.Join(", ", List().Select(model => model.Version).DefaultIfEmpty("none"))}.");

    private static string RequireVersionName(string version) =>
        VersionPattern().IsMatch(version) ? version : throw new PipelineInputException($"'{version}' is not a registry version; versions are v1, v2, ….");

    private static int VersionNumber(string version) => int.Parse(version.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^v[0-9]{1,9}$")]
    private static partial Regex VersionPattern();

    private sealed record RegistryState(string? Current, List<string> History);
}
