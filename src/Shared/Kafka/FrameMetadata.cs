namespace Pipeline.Shared.Kafka;

/// <summary>What an operator or a test rig says a frame shows.</summary>
public enum FrameLabel
{
    Good,
    Defect,
}

/// <summary>The <c>content-type</c> values a frame may carry: the encodings the pipeline decodes.</summary>
public static class FrameContentTypes
{
    public const string Jpeg = "image/jpeg";
    public const string Png = "image/png";
    public const string Bmp = "image/bmp";

    public static IReadOnlyList<string> All { get; } = [Jpeg, Png, Bmp];

    /// <summary>The content type of an image file by its extension (".png", any case), for the extensions cameras write.</summary>
    public static IReadOnlyDictionary<string, string> ByFileExtension { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = Png,
        [".jpg"] = Jpeg,
        [".jpeg"] = Jpeg,
        [".bmp"] = Bmp,
    };
}

/// <summary>
/// What the headers and key of a frame message say about it (the image itself is the message value).
/// </summary>
/// <param name="FrameId">Unique id of the frame, chosen by the camera side; results and labels refer to it.</param>
/// <param name="CameraId">The camera; also the message key, so one camera's frames stay in order.</param>
/// <param name="CapturedAt">When the camera took the picture.</param>
/// <param name="ContentType">One of <see cref="FrameContentTypes"/>.</param>
/// <param name="Label">Known ground truth, when the frame comes from a labelled source.</param>
/// <param name="Product">The frame's <c>product</c> header, when it has one (see <see cref="Pipeline.Shared.Products.ProductCatalog"/>).</param>
public sealed record FrameMetadata(
    string FrameId,
    string CameraId,
    DateTimeOffset CapturedAt,
    string ContentType,
    FrameLabel? Label = null,
    string? Product = null);
