using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Pipeline.Shared.Products;

namespace Pipeline.Shared.Kafka;

/// <summary>Header names of a frame message; values are UTF-8 text.</summary>
public static class FrameHeaderNames
{
    public const string FrameId = "frame-id";
    public const string CameraId = "camera-id";
    public const string CapturedAt = "captured-at";
    public const string ContentType = "content-type";
    public const string Label = "label";

    /// <summary>Optional: the frame's product (<see cref="ProductName"/>); without it the camera's product decides.</summary>
    public const string Product = "product";
}

/// <summary>Why a frame's key or headers cannot be used: a <see cref="DeadLetterReasons"/> code and a sentence.</summary>
public sealed record FrameRejection(string ReasonCode, string Detail)
{
    /// <summary>Headers over their size limit: left out of the dead letter (the detail names them).</summary>
    public IReadOnlyList<string> WithheldHeaders { get; init; } = [];

    /// <summary>The key is over its size limit: the dead letter has no key (the detail says so).</summary>
    public bool KeyWithheld { get; init; }
}

/// <summary>The outcome of <see cref="FrameHeaders.Parse"/>: the frame's metadata, or why it is refused.</summary>
public sealed record FrameParseResult
{
    private FrameParseResult(FrameMetadata? metadata, FrameRejection? rejection)
    {
        Metadata = metadata;
        Rejection = rejection;
    }

    public FrameMetadata? Metadata { get; }

    public FrameRejection? Rejection { get; }

    [MemberNotNullWhen(true, nameof(Metadata))]
    [MemberNotNullWhen(false, nameof(Rejection))]
    public bool IsValid => Metadata is not null;

    public static FrameParseResult Valid(FrameMetadata metadata) => new(metadata, null);

    public static FrameParseResult Rejected(string reasonCode, string detail) => new(null, new FrameRejection(reasonCode, detail));

    public static FrameParseResult Rejected(FrameRejection rejection) => new(null, rejection);
}

/// <summary>
/// The frame input contract's headers (docs/events.md): reads them on the consuming side without
/// throwing (a bad frame is dead-lettered with the reason), writes them on the producing side.
/// </summary>
public static class FrameHeaders
{
    private static readonly string[] RequiredHeaders =
        [FrameHeaderNames.FrameId, FrameHeaderNames.CameraId, FrameHeaderNames.CapturedAt, FrameHeaderNames.ContentType];

    private static readonly string[] KnownHeaders = [.. RequiredHeaders, FrameHeaderNames.Label, FrameHeaderNames.Product];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>ISO 8601 date-times: seconds required, fraction optional, offset or Z (UTC when absent).</summary>
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd' 'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Characters of a refused value quoted in a rejection's detail, at most.</summary>
    public const int ExcerptLength = 48;

    /// <summary><see cref="Parse(Headers?, string?, FrameHeaderLimits)"/> with <see cref="FrameHeaderLimits.Default"/>.</summary>
    public static FrameParseResult Parse(Headers? headers, string? key) => Parse(headers, key, FrameHeaderLimits.Default);

    /// <summary>
    /// The metadata of a frame message with key <paramref name="key"/>, or the reason it cannot be used.
    /// A key or header over <paramref name="limits"/> is refused first (<c>invalid-header</c>, and withheld from the
    /// dead letter). <c>captured-at</c> may be ISO 8601 (<c>2025-03-01T08:15:30.123Z</c>) or epoch milliseconds
    /// (<c>1740816930123</c>); <c>label</c> and <c>product</c> are optional, and a <c>product</c> that is not a product
    /// name is refused (<c>unknown-product</c>; whether the deployment knows the name is ingest's to decide). Values quoted in a rejection are cut to
    /// <see cref="ExcerptLength"/> characters. Never throws for a bad frame.
    /// </summary>
    public static FrameParseResult Parse(Headers? headers, string? key, FrameHeaderLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (limits.Refusal(headers, key) is { } oversized)
        {
            return FrameParseResult.Rejected(oversized);
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in KnownHeaders)
        {
            if (headers is null || !headers.TryGetLastBytes(name, out var bytes) || bytes is null)
            {
                continue;
            }

            try
            {
                values[name] = StrictUtf8.GetString(bytes).Trim();
            }
            catch (DecoderFallbackException)
            {
                return FrameParseResult.Rejected(DeadLetterReasons.InvalidHeader, $"Header '{name}' is not UTF-8 text.");
            }
        }

        foreach (var required in RequiredHeaders)
        {
            if (!values.TryGetValue(required, out var value) || value.Length == 0)
            {
                return FrameParseResult.Rejected(
                    DeadLetterReasons.MissingHeader, $"Required header '{required}' is {(values.ContainsKey(required) ? "empty" : "missing")}.");
            }
        }

        var cameraId = values[FrameHeaderNames.CameraId];
        if (string.IsNullOrWhiteSpace(key))
        {
            return FrameParseResult.Rejected(
                DeadLetterReasons.MissingKey, $"The message has no key; it must be the camera id ({Excerpt(cameraId)}) so that a camera's frames stay in order.");
        }

        if (!string.Equals(key.Trim(), cameraId, StringComparison.Ordinal))
        {
            return FrameParseResult.Rejected(
                DeadLetterReasons.CameraIdMismatch, $"The message key {Excerpt(key)} differs from header '{FrameHeaderNames.CameraId}' {Excerpt(cameraId)}; both must name the camera.");
        }

        var capturedAtText = values[FrameHeaderNames.CapturedAt];
        if (!TryParseCapturedAt(capturedAtText, out var capturedAt))
        {
            return FrameParseResult.Rejected(
                DeadLetterReasons.InvalidCapturedAt,
                $"Header '{FrameHeaderNames.CapturedAt}' {Excerpt(capturedAtText)} is neither an ISO 8601 date-time (2025-03-01T08:15:30.123Z) nor epoch milliseconds.");
        }

        var contentType = FrameContentTypes.All.FirstOrDefault(
            known => string.Equals(known, values[FrameHeaderNames.ContentType], StringComparison.OrdinalIgnoreCase));
        if (contentType is null)
        {
            return FrameParseResult.Rejected(
                DeadLetterReasons.UnsupportedContentType,
                $"Header '{FrameHeaderNames.ContentType}' {Excerpt(values[FrameHeaderNames.ContentType])} is not one of {string.Join(", ", FrameContentTypes.All)}.");
        }

        FrameLabel? label = null;
        if (values.TryGetValue(FrameHeaderNames.Label, out var labelText))
        {
            if (!TryParseLabel(labelText, out var parsed))
            {
                return FrameParseResult.Rejected(
                    DeadLetterReasons.UnknownLabel, $"Header '{FrameHeaderNames.Label}' {Excerpt(labelText)} is not 'good' or 'defect' (or leave the header out).");
            }

            label = parsed;
        }

        string? product = null;
        if (values.TryGetValue(FrameHeaderNames.Product, out var productText))
        {
            if (!ProductName.IsValid(productText))
            {
                return FrameParseResult.Rejected(
                    DeadLetterReasons.UnknownProduct,
                    $"Header '{FrameHeaderNames.Product}' {Excerpt(productText)} is not a product name: 1 to {ProductName.MaxLength} lower-case letters, digits and dashes, not starting or ending with a dash (or leave the header out to use the camera's product).");
            }

            product = productText;
        }

        return FrameParseResult.Valid(new FrameMetadata(values[FrameHeaderNames.FrameId], cameraId, capturedAt, contentType, label, product));
    }

    /// <summary>
    /// <paramref name="text"/> quoted for a rejection's detail: at most <see cref="ExcerptLength"/> characters (then
    /// "…"), control characters as '?', so that neither a huge value nor a line break reaches the dead letter or a log.
    /// </summary>
    public static string Excerpt(string text)
    {
        var cut = text.Length > ExcerptLength;
        var shown = cut ? text[..(char.IsHighSurrogate(text[ExcerptLength - 1]) ? ExcerptLength - 1 : ExcerptLength)] : text;
        var printable = string.Create(shown.Length, shown, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) ? '?' : source[i];
        });
        return $"'{printable}{(cut ? "…" : "")}'";
    }

    /// <summary>
    /// The headers of a frame message for producers (the camera simulator); <c>captured-at</c> is
    /// written as ISO 8601. The key to send with them is <see cref="FrameMetadata.CameraId"/>.
    /// </summary>
    public static Headers Create(FrameMetadata metadata)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metadata.FrameId);
        ArgumentException.ThrowIfNullOrWhiteSpace(metadata.CameraId);
        ArgumentException.ThrowIfNullOrWhiteSpace(metadata.ContentType);
        var headers = new Headers
        {
            { FrameHeaderNames.FrameId, Encoding.UTF8.GetBytes(metadata.FrameId) },
            { FrameHeaderNames.CameraId, Encoding.UTF8.GetBytes(metadata.CameraId) },
            { FrameHeaderNames.CapturedAt, Encoding.UTF8.GetBytes(metadata.CapturedAt.ToString("O", CultureInfo.InvariantCulture)) },
            { FrameHeaderNames.ContentType, Encoding.UTF8.GetBytes(metadata.ContentType) },
        };
        if (metadata.Label is { } label)
        {
            headers.Add(FrameHeaderNames.Label, Encoding.UTF8.GetBytes(LabelText(label)));
        }

        if (metadata.Product is { } product)
        {
            headers.Add(FrameHeaderNames.Product, Encoding.UTF8.GetBytes(ProductName.Require(product, $"the '{FrameHeaderNames.Product}' header of frame {metadata.FrameId}")));
        }

        return headers;
    }

    /// <summary>A frame message for producers: key camera id, value the encoded image, headers from <see cref="Create"/>.</summary>
    public static Message<string, byte[]> CreateMessage(FrameMetadata metadata, byte[] encodedImage) =>
        new() { Key = metadata.CameraId, Value = encodedImage, Headers = Create(metadata) };

    /// <summary>The contract's text for a label: "good" or "defect".</summary>
    public static string LabelText(FrameLabel label) => label switch
    {
        FrameLabel.Good => "good",
        FrameLabel.Defect => "defect",
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, "Only good and defect are labels."),
    };

    /// <summary>Reads "good" or "defect" (any case).</summary>
    public static bool TryParseLabel(string text, out FrameLabel label)
    {
        foreach (var candidate in Enum.GetValues<FrameLabel>())
        {
            if (string.Equals(text.Trim(), LabelText(candidate), StringComparison.OrdinalIgnoreCase))
            {
                label = candidate;
                return true;
            }
        }

        label = default;
        return false;
    }

    /// <summary>Reads ISO 8601 (offset or Z; UTC when none) or epoch milliseconds (digits only).</summary>
    public static bool TryParseCapturedAt(string text, out DateTimeOffset capturedAt)
    {
        text = text.Trim();
        if (text.Length > 0 && text.All(char.IsAsciiDigit))
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
                && milliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                capturedAt = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
                return true;
            }

            capturedAt = default;
            return false;
        }

        return DateTimeOffset.TryParseExact(
            text, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out capturedAt);
    }
}
