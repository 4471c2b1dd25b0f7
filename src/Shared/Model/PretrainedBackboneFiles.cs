using System.Security.Cryptography;

namespace Pipeline.Shared.Model;

/// <summary>
/// Finds the ONNX files of the pretrained backbone, which come with the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1: first next to the executable (every project that references
/// Pipeline.Shared copies them to <c>DnnImageModels/</c> in its output), then in the NuGet package folder
/// (<c>NUGET_PACKAGES</c>, or <c>~/.nuget/packages</c>).
/// </summary>
public static class PretrainedBackboneFiles
{
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string PackageVersion = "0.23.1";

    private const string ResNet18RelativePath = "DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    private const string PreprocessingRelativePath = "DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";

    private static readonly Lazy<string> resNet18Sha256 = new(
        () => Sha256Hex(ResNet18OnnxPath()), LazyThreadSafetyMode.PublicationOnly);

    internal static string ResNet18Remedy { get; } = $"Use {ResNet18RelativePath} from the NuGet package {PackageId} {PackageVersion}.";

    internal static string PreprocessingRemedy { get; } = $"Use {PreprocessingRelativePath} from the NuGet package {PackageId} {PackageVersion}.";

    /// <summary>The path of <c>ResNet18.onnx</c>, the network; throws <see cref="FileNotFoundException"/> where it is in neither place.</summary>
    public static string ResNet18OnnxPath() => Find(ResNet18RelativePath, AppContext.BaseDirectory, NuGetPackagesFolder());

    /// <summary>The path of <c>ResNetPreprocess.onnx</c>, its input transform; throws <see cref="FileNotFoundException"/> where it is in neither place.</summary>
    public static string PreprocessingOnnxPath() => Find(PreprocessingRelativePath, AppContext.BaseDirectory, NuGetPackagesFolder());

    /// <summary>
    /// SHA-256 of <c>ResNet18.onnx</c>, 64 lowercase hex digits, computed once per process: what a model trained on
    /// the backbone's features records to say which backbone it needs.
    /// </summary>
    public static string ResNet18Sha256() => resNet18Sha256.Value;

    /// <summary>
    /// <paramref name="relativePath"/> under <paramref name="baseDirectory"/>, else under the package's <c>tools/</c>
    /// folder in <paramref name="nuGetPackagesFolder"/>.
    /// </summary>
    internal static string Find(string relativePath, string baseDirectory, string nuGetPackagesFolder)
    {
        string[] candidates =
        [
            Path.Combine(baseDirectory, relativePath),
            Path.Combine(nuGetPackagesFolder, PackageId.ToLowerInvariant(), PackageVersion, "tools", relativePath),
        ];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"The pretrained backbone file {Path.GetFileName(relativePath)} is in neither {string.Join(" nor ", candidates.Select(candidate => $"'{candidate}'"))}. "
                + $"It comes with the NuGet package {PackageId} {PackageVersion}: restore and build a project that references Pipeline.Shared "
                + "(the build copies it next to the executable), or set NUGET_PACKAGES to the package folder that holds it.",
                Path.GetFileName(relativePath));
    }

    private static string NuGetPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string Sha256Hex(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
