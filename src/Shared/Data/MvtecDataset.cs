namespace Pipeline.Shared.Data;

/// <summary>An image to evaluate and the defect it shows (<see cref="MvtecDataset.GoodLabel"/> for none).</summary>
public sealed record LabelledImage(string Path, string DefectType)
{
    public bool IsDefective => DefectType != MvtecDataset.GoodLabel;
}

/// <summary>
/// One category folder in the MVTec AD layout: <c>train/good/</c> holds defect-free training images,
/// <c>test/good/</c> defect-free test images and every other <c>test/&lt;defect&gt;/</c> folder defective
/// ones of that type; <c>ground_truth/&lt;defect&gt;/&lt;name&gt;_mask.png</c> may hold each defective image's pixel
/// mask (<see cref="MaskPathOf"/>).
/// </summary>
/// <remarks>
/// Image files are those ending in .png, .jpg, .jpeg or .bmp (any case); other files, hidden files
/// and folders, and nested folders are skipped. Lists are sorted by ordinal comparison so that every
/// run sees the same order. <see cref="Open"/> accepts a folder with only the training or only the test
/// half; <see cref="RequireTrainingImages"/> and <see cref="RequireTestImages"/> check for the half a
/// command needs.
/// </remarks>
public sealed class MvtecDataset
{
    /// <summary>The folder name, and <see cref="LabelledImage.DefectType"/>, of defect-free images.</summary>
    public const string GoodLabel = "good";

    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];

    private static readonly string ExpectedLayout =
        "Expected the MVTec AD layout: train/good/ with defect-free training images, test/good/ with defect-free "
        + "and test/<defect>/ (any other name) with defective test images, as "
        + string.Join(", ", ImageExtensions) + " files.";

    private MvtecDataset(string folder, IReadOnlyList<string> trainGoodImages, IReadOnlyList<LabelledImage> testImages)
    {
        Folder = folder;
        TrainGoodImages = trainGoodImages;
        TestImages = testImages;
        DefectTypes = testImages.Where(image => image.IsDefective).Select(image => image.DefectType).Distinct().ToArray();
    }

    /// <summary>The category folder, as a full path.</summary>
    public string Folder { get; }

    /// <summary>Paths of the images in <c>train/good/</c>.</summary>
    public IReadOnlyList<string> TrainGoodImages { get; }

    /// <summary>The images in <c>test/good/</c> and <c>test/&lt;defect&gt;/</c>, ordered by folder name, then file name.</summary>
    public IReadOnlyList<LabelledImage> TestImages { get; }

    /// <summary>The names of the <c>test/&lt;defect&gt;/</c> folders that hold images, in ordinal order.</summary>
    public IReadOnlyList<string> DefectTypes { get; }

    /// <summary>Lists the images of the category folder <paramref name="folder"/>.</summary>
    /// <exception cref="DatasetLayoutException">The folder does not exist, is a file, or cannot be listed.</exception>
    public static MvtecDataset Open(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
            throw new DatasetLayoutException($"No dataset folder was given. Pass the category folder. {ExpectedLayout}");
        var root = Path.GetFullPath(folder);
        if (File.Exists(root))
            throw new DatasetLayoutException(
                $"'{root}' is a file, not a dataset folder. Pass the category folder that contains train/ and test/. {ExpectedLayout}");
        if (!Directory.Exists(root))
            throw new DatasetLayoutException($"Dataset folder '{root}' does not exist. Check the path.");

        var trainGood = ImagesIn(Path.Combine(root, "train", GoodLabel));
        var test = Path.Combine(root, "test");
        var testImages = VisibleEntries(test, Directory.EnumerateDirectories)
            .SelectMany(label => ImagesIn(Path.Combine(test, label)).Select(path => new LabelledImage(path, label)))
            .ToArray();
        return new MvtecDataset(root, trainGood, testImages);
    }

    /// <summary>The folder of pixel masks, <c>ground_truth/</c>.</summary>
    public const string MaskFolder = "ground_truth";

    /// <summary>
    /// The pixel mask of a defective test image, <c>ground_truth/&lt;defect&gt;/&lt;name&gt;_mask.png</c> (MVTec AD's
    /// naming), or null when there is none (and always for good images, which have no defect to mark).
    /// </summary>
    public string? MaskPathOf(LabelledImage image)
    {
        if (!image.IsDefective) return null;
        var path = Path.Combine(Folder, MaskFolder, image.DefectType, Path.GetFileNameWithoutExtension(image.Path) + "_mask.png");
        return File.Exists(path) ? path : null;
    }

    /// <summary>Checks that there is something to train on: at least one image in <c>train/good/</c>.</summary>
    /// <exception cref="DatasetLayoutException">There is none; the message says what was found instead.</exception>
    public MvtecDataset RequireTrainingImages()
    {
        if (TrainGoodImages.Count == 0)
            throw MissingImages(["train", GoodLabel], "the defect-free training images");
        return this;
    }

    /// <summary>
    /// Checks that there is something to evaluate on: at least one image in <c>test/good/</c> and at
    /// least one in a <c>test/&lt;defect&gt;/</c> folder.
    /// </summary>
    /// <exception cref="DatasetLayoutException">Either is missing; the message says what was found instead.</exception>
    public MvtecDataset RequireTestImages()
    {
        if (!TestImages.Any(image => !image.IsDefective))
            throw MissingImages(["test", GoodLabel], "the defect-free test images");
        if (DefectTypes.Count == 0)
            throw MissingImages(["test", "<defect>"], "defective test images, one folder per defect type (e.g. test/scratch/)");
        return this;
    }

    /// <summary>Says which part of <paramref name="expectedFolder"/> is missing or empty, and what the deepest existing part holds.</summary>
    private DatasetLayoutException MissingImages(string[] expectedFolder, string whatBelongsThere)
    {
        var deepest = Folder;
        int found = 0;
        while (found < expectedFolder.Length && Directory.Exists(Path.Combine(deepest, expectedFolder[found])))
            deepest = Path.Combine(deepest, expectedFolder[found++]);
        var problem = found == expectedFolder.Length
            ? $"'{deepest}' contains no images"
            : $"'{deepest}' has no '{string.Join('/', expectedFolder[found..])}' folder with images";
        return new DatasetLayoutException(
            $"{problem} (it holds: {DescribeContents(deepest)}). Put {whatBelongsThere} there. {ExpectedLayout}");
    }

    private static IReadOnlyList<string> ImagesIn(string folder) => VisibleEntries(folder, Directory.EnumerateFiles)
        .Where(name => ImageExtensions.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase))
        .Select(name => Path.Combine(folder, name))
        .ToArray();

    /// <summary>Names of the files or folders in <paramref name="folder"/> that are not hidden, in ordinal order; none when it does not exist.</summary>
    private static IEnumerable<string> VisibleEntries(string folder, Func<string, IEnumerable<string>> enumerate)
    {
        if (!Directory.Exists(folder))
            return [];
        try
        {
            return enumerate(folder)
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(name => !name.StartsWith('.'))
                .Order(StringComparer.Ordinal)
                .ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetLayoutException($"Cannot list dataset folder '{folder}': {e.Message}. Check that this process may read it.", e);
        }
    }

    private static string DescribeContents(string folder)
    {
        const int shown = 8;
        var entries = VisibleEntries(folder, Directory.EnumerateDirectories).Select(name => name + "/")
            .Concat(VisibleEntries(folder, Directory.EnumerateFiles))
            .ToArray();
        if (entries.Length == 0)
            return "nothing";
        var listed = string.Join(", ", entries.Take(shown));
        return entries.Length > shown ? $"{listed} and {entries.Length - shown} more" : listed;
    }
}
