using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// The largest key and header values a frame may carry (<see cref="FrameHeaders.Parse(Confluent.Kafka.Headers?, string?, FrameHeaderLimits)"/>);
/// larger ones are refused as <c>invalid-header</c> before anything is read from them, so that no oversized value is
/// copied into results or dead letters. Set from <c>Pipeline:Ingest:MaxIdBytes</c> and <c>Pipeline:Ingest:MaxHeaderBytes</c>.
/// </summary>
/// <param name="MaxIdBytes">The key, <c>frame-id</c> and <c>camera-id</c>: the values every result and dead letter repeats.</param>
/// <param name="MaxHeaderBytes">Every other header's value and every header's name.</param>
public sealed record FrameHeaderLimits(int MaxIdBytes = FrameHeaderLimits.DefaultMaxIdBytes, int MaxHeaderBytes = FrameHeaderLimits.DefaultMaxHeaderBytes)
{
    /// <summary>Room for a UUID, a path-like camera name or a long run prefix several times over.</summary>
    public const int DefaultMaxIdBytes = 256;

    /// <summary>The W3C's limit for <c>baggage</c>, the largest header a tracing gateway is likely to add.</summary>
    public const int DefaultMaxHeaderBytes = 8192;

    /// <summary>Oversized values named in one detail, at most (the rest are counted).</summary>
    private const int MaxOversizedNamed = 4;

    public static FrameHeaderLimits Default { get; } = new();

    /// <summary>
    /// Why <paramref name="key"/> or <paramref name="headers"/> are refused for their size (<c>invalid-header</c>,
    /// naming each oversized value, its size, the limit and the setting, and quoting its start), or null when all fit.
    /// Reads only sizes, never the oversized values beyond their first characters.
    /// </summary>
    public FrameRejection? Refusal(Headers? headers, string? key)
    {
        var problems = new List<string>();
        var withheld = new List<string>();
        var keyBytes = key is null ? 0 : Encoding.UTF8.GetByteCount(key);
        if (keyBytes > MaxIdBytes)
        {
            problems.Add($"the message key is {Number(keyBytes)} bytes, over the limit of {Number(MaxIdBytes)} for ids (Pipeline:Ingest:MaxIdBytes); it begins {FrameHeaders.Excerpt(key!)}");
        }

        foreach (var header in headers ?? [])
        {
            var nameBytes = Encoding.UTF8.GetByteCount(header.Key);
            var valueBytes = header.GetValueBytes()?.Length ?? 0;
            var isId = header.Key is FrameHeaderNames.FrameId or FrameHeaderNames.CameraId;
            var (limit, setting) = isId ? (MaxIdBytes, "for ids (Pipeline:Ingest:MaxIdBytes)") : (MaxHeaderBytes, "for headers (Pipeline:Ingest:MaxHeaderBytes)");
            string? problem = null;
            if (nameBytes > MaxHeaderBytes)
            {
                problem = $"a header name is {Number(nameBytes)} bytes, over the limit of {Number(MaxHeaderBytes)} for headers (Pipeline:Ingest:MaxHeaderBytes); it begins {FrameHeaders.Excerpt(header.Key)}";
            }
            else if (valueBytes > limit)
            {
                problem = $"header {FrameHeaders.Excerpt(header.Key)} is {Number(valueBytes)} bytes, over the limit of {Number(limit)} {setting}; it begins {FrameHeaders.Excerpt(Lenient(header.GetValueBytes()))}";
            }

            if (problem is null) continue;
            problems.Add(problem);
            if (!withheld.Contains(header.Key, StringComparer.Ordinal)) withheld.Add(header.Key);
        }

        if (problems.Count == 0) return null;
        var named = problems.Take(MaxOversizedNamed).ToList();
        if (problems.Count > named.Count) named.Add($"{problems.Count - named.Count} more values are over their limits too");
        var sentence = string.Join("; ", named);
        var detail = char.ToUpperInvariant(sentence[0]) + sentence[1..] + ". Values over their limit are left out of this dead letter.";
        return new FrameRejection(DeadLetterReasons.InvalidHeader, detail) { WithheldHeaders = withheld, KeyWithheld = keyBytes > MaxIdBytes };
    }

    private static string Number(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>The start of <paramref name="bytes"/> as text, invalid UTF-8 replaced, for an excerpt.</summary>
    private static string Lenient(byte[]? bytes) =>
        bytes is null ? "" : Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 4 * FrameHeaders.ExcerptLength));
}
