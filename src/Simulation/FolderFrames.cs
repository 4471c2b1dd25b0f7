using System.Collections;
using System.Globalization;
using Pipeline.Shared;
using Pipeline.Shared.Data;
using Pipeline.Shared.Kafka;

namespace Pipeline.Simulation;

/// <summary>Which frames <see cref="FolderFrames"/> makes of a folder's images.</summary>
public sealed record FolderFramesOptions
{
    /// <summary>The camera id of a single camera, the default of <see cref="CameraIds"/>.</summary>
    public const string DefaultCameraId = "camera-1";

    /// <summary>Cameras the frames take turns on (frame i is sent by camera i mod n); one camera by default.</summary>
    public IReadOnlyList<string> CameraIds { get; init; } = [DefaultCameraId];

    /// <summary>Frames in all, going round the folder's images as often as needed; null sends each image once.</summary>
    public long? Count { get; init; }

    /// <summary>
    /// Read labels from the MVTec AD layout (<see cref="FolderFrames"/>), and leave out its <c>ground_truth/</c>
    /// pixel masks, which are not camera pictures. Off: no frame has a label.
    /// </summary>
    public bool LabelFromFolders { get; init; }

    /// <summary>
    /// Put in front of every frame id, with a '-' (<c>run7-camera-1-1</c>), so that frame ids of different runs
    /// differ; none when null or empty.
    /// </summary>
    public string? FrameIdPrefix { get; init; }

    /// <summary><paramref name="count"/> cameras, <c>camera-1</c> to <c>camera-N</c>.</summary>
    public static IReadOnlyList<string> NumberedCameras(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return [.. Enumerable.Range(1, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"camera-{i}"))];
    }
}

/// <summary>An image file <see cref="FolderFrames"/> sends, with what its path says about it.</summary>
/// <param name="Path">Full path of the file.</param>
/// <param name="ContentType">From the extension: one of <see cref="FrameContentTypes"/>.</param>
/// <param name="Label">From the folders when asked for (<see cref="FolderFramesOptions.LabelFromFolders"/>), else null.</param>
public sealed record FolderImage(string Path, string ContentType, FrameLabel? Label);

/// <summary>
/// The frames a camera would send of the images in a folder: every .png, .jpg, .jpeg and .bmp file (any case)
/// in it and its subfolders, in ordinal order of their paths, sent as they are. Files are not decoded: a file
/// that is not really an image goes out too, and the pipeline dead-letters it, as it would a real camera's.
/// </summary>
/// <remarks>
/// <para>
/// Frame <c>i</c> (from 0) is image <c>i mod images</c>, sent by camera <c>i mod cameras</c> with frame id
/// <c>[prefix-]&lt;camera-id&gt;-&lt;n&gt;</c>, <c>n</c> counting that camera's frames from 1. Files are read
/// one at a time as the frames are enumerated, so a large folder is never held in memory; every enumeration
/// reads them again. Hidden files and folders (names starting with '.') are skipped.
/// </para>
/// <para>
/// Labels from folders follow the MVTec AD layout (<see cref="MvtecDataset"/>): an image in a folder named
/// <c>good</c> is good, an image in any other folder inside a folder named <c>test</c> is defective
/// (<c>test/scratch/000.png</c>), and others have no label.
/// </para>
/// </remarks>
public sealed class FolderFrames : IEnumerable<CameraFrame>
{
    /// <summary>Folders of the MVTec AD layout that hold pixel masks rather than camera pictures.</summary>
    public const string MaskFolder = "ground_truth";

    private readonly FolderFramesOptions options;

    private FolderFrames(string folder, IReadOnlyList<FolderImage> images, FolderFramesOptions options)
    {
        Folder = folder;
        Images = images;
        this.options = options;
        Count = options.Count ?? images.Count;
    }

    /// <summary>The folder, as a full path.</summary>
    public string Folder { get; }

    /// <summary>The images, in the order they are sent.</summary>
    public IReadOnlyList<FolderImage> Images { get; }

    /// <summary>How many frames an enumeration yields.</summary>
    public long Count { get; }

    /// <summary>Lists the images of <paramref name="folder"/>; nothing is read yet.</summary>
    /// <exception cref="PipelineInputException">The folder does not exist, cannot be listed, or holds no images.</exception>
    /// <exception cref="ArgumentException">The options are unusable (no cameras, a blank camera id, a count below 1).</exception>
    public static FolderFrames Open(string folder, FolderFramesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CameraIds.Count == 0 || options.CameraIds.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Give at least one camera id, none of them blank.", nameof(options));
        }

        if (options.Count is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Count, "The frame count must be at least 1 (or null: each image once).");
        }

        if (string.IsNullOrWhiteSpace(folder))
        {
            throw new PipelineInputException("No image folder was given; pass the folder whose images the camera sends.");
        }

        var root = Path.GetFullPath(folder);
        if (File.Exists(root))
        {
            throw new PipelineInputException($"'{root}' is a file, not a folder; pass the folder that holds the images.");
        }

        if (!Directory.Exists(root))
        {
            throw new PipelineInputException($"Image folder '{root}' does not exist; check the path.");
        }

        var images = List(root, options.LabelFromFolders);
        if (images.Count == 0)
        {
            var skipped = options.LabelFromFolders ? $" outside {MaskFolder}/" : "";
            throw new PipelineInputException(
                $"Image folder '{root}' holds no {string.Join(", ", FrameContentTypes.ByFileExtension.Keys)} files{skipped} (subfolders included); " +
                "pass a folder with images.");
        }

        return new FolderFrames(root, images, options);
    }

    /// <summary>The frames; each image file is read when its frame comes.</summary>
    /// <exception cref="PipelineInputException">An image file cannot be read (gone, no permission); the message names it.</exception>
    public IEnumerator<CameraFrame> GetEnumerator()
    {
        var cameras = options.CameraIds;
        var prefix = string.IsNullOrEmpty(options.FrameIdPrefix) ? "" : options.FrameIdPrefix + "-";
        for (long i = 0; i < Count; i++)
        {
            var image = Images[(int)(i % Images.Count)];
            var camera = cameras[(int)(i % cameras.Count)];
            var number = i / cameras.Count + 1;
            var frameId = string.Create(CultureInfo.InvariantCulture, $"{prefix}{camera}-{number}");
            // CapturedAt is a placeholder: the camera stamps the moment it sends the frame.
            var metadata = new FrameMetadata(frameId, camera, DateTimeOffset.UnixEpoch, image.ContentType, image.Label);
            yield return new CameraFrame(metadata, Read(image.Path));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static byte[] Read(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineInputException(
                $"Image file '{path}' cannot be read ({e.Message}); check that it is still there and readable, or remove it from the folder.", e);
        }
    }

    private static List<FolderImage> List(string root, bool labelFromFolders)
    {
        var enumeration = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = false,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            MatchType = MatchType.Simple,
        };
        try
        {
            return Directory.EnumerateFiles(root, "*", enumeration)
                .Where(path => FrameContentTypes.ByFileExtension.ContainsKey(Path.GetExtension(path)))
                .Where(path => !labelFromFolders || !IsMask(root, path))
                .Order(StringComparer.Ordinal)
                .Select(path => new FolderImage(path, FrameContentTypes.ByFileExtension[Path.GetExtension(path)], labelFromFolders ? LabelOf(path) : null))
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineInputException($"The images under '{root}' cannot be listed ({e.Message}); check the folder's permissions.", e);
        }
    }

    private static bool IsMask(string root, string path) =>
        Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar).SkipLast(1).Contains(MaskFolder, StringComparer.Ordinal);

    private static FrameLabel? LabelOf(string path)
    {
        var folder = Path.GetDirectoryName(path);
        if (Path.GetFileName(folder) == MvtecDataset.GoodLabel)
        {
            return FrameLabel.Good;
        }

        return Path.GetFileName(Path.GetDirectoryName(folder)) == "test" ? FrameLabel.Defect : null;
    }
}
