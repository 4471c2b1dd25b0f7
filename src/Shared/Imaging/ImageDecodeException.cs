namespace Pipeline.Shared.Imaging;

/// <summary>Why an encoded image was refused.</summary>
public enum ImageDecodeFailure
{
    /// <summary>The data has no bytes at all.</summary>
    Empty,

    /// <summary>The bytes are not in a format the decoder reads (or not an image at all).</summary>
    UnsupportedFormat,

    /// <summary>The data ends before the whole picture was decoded.</summary>
    Truncated,

    /// <summary>The data is in a known format but its content is invalid.</summary>
    Corrupt,

    /// <summary>The picture has more pixels than the configured maximum.</summary>
    TooLarge,

    /// <summary>The file could not be read (missing, a folder, no permission).</summary>
    Unreadable,
}

/// <summary>An encoded image was refused; <see cref="Reason"/> says why.</summary>
public sealed class ImageDecodeException : PipelineInputException
{
    public ImageDecodeException(string sourceName, ImageDecodeFailure reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        SourceName = sourceName;
        Reason = reason;
    }

    /// <summary>The file path or frame name the data came from, as given to the decoder.</summary>
    public string SourceName { get; }

    public ImageDecodeFailure Reason { get; }

    /// <summary>
    /// <see cref="Reason"/> as a short stable code ("truncated", "unsupported-format", ...), for
    /// machine-read places such as a dead-letter header.
    /// </summary>
    public string ReasonCode => Reason switch
    {
        ImageDecodeFailure.Empty => "empty",
        ImageDecodeFailure.UnsupportedFormat => "unsupported-format",
        ImageDecodeFailure.Truncated => "truncated",
        ImageDecodeFailure.Corrupt => "corrupt",
        ImageDecodeFailure.TooLarge => "too-large",
        ImageDecodeFailure.Unreadable => "unreadable",
        _ => throw new InvalidOperationException($"Image decode failure {Reason} has no reason code; add one here."),
    };
}
