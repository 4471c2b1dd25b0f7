using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// Dead-letter messages: a frame that cannot be inspected goes to the dead-letter topic exactly as it
/// came (same key, same value bytes, its headers), plus headers that say why, from where and when,
/// so it can be examined and replayed. The one exception: a key or header over its size limit is left
/// out, so that an oversized value is never copied (the detail names it and quotes its start).
/// </summary>
public static class DeadLetters
{
    /// <summary>A <see cref="DeadLetterReasons"/> code.</summary>
    public const string ReasonHeader = "dead-letter-reason";

    /// <summary>A sentence for people: what was wrong with the frame.</summary>
    public const string DetailHeader = "dead-letter-detail";

    /// <summary>Where the frame was read: <c>topic/partition/offset</c>.</summary>
    public const string SourceHeader = "dead-letter-source";

    /// <summary>When it was dead-lettered, ISO 8601 UTC.</summary>
    public const string AtHeader = "dead-letter-at";

    private const string HeaderPrefix = "dead-letter-";

    /// <summary>
    /// The dead-letter message for <paramref name="original"/>. Dead-letter headers an earlier pass left
    /// on it (a replayed frame that failed again) are replaced, not repeated.
    /// </summary>
    /// <param name="reasonCode">A <see cref="DeadLetterReasons"/> code.</param>
    /// <param name="detail">What was wrong, for people.</param>
    /// <param name="at">When; now when not given.</param>
    /// <param name="withheldHeaders">Headers left out (values over their size limit; the detail names them).</param>
    /// <param name="withholdKey">Leave the key out (over its size limit): the dead letter has none.</param>
    public static Message<string, byte[]> Create(
        ConsumeResult<string, byte[]> original,
        string reasonCode,
        string detail,
        DateTimeOffset? at = null,
        IReadOnlyCollection<string>? withheldHeaders = null,
        bool withholdKey = false)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentException.ThrowIfNullOrWhiteSpace(reasonCode);
        var source = original.Message ?? throw new ArgumentException(
            $"The consume result at {Source(original)} holds no message (end of partition?); only messages can be dead-lettered.",
            nameof(original));

        var headers = new Headers();
        foreach (var header in source.Headers ?? [])
        {
            if (!header.Key.StartsWith(HeaderPrefix, StringComparison.Ordinal) && withheldHeaders?.Contains(header.Key) != true)
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        headers.Add(ReasonHeader, Encoding.UTF8.GetBytes(reasonCode));
        headers.Add(DetailHeader, Encoding.UTF8.GetBytes(detail));
        headers.Add(SourceHeader, Encoding.UTF8.GetBytes(Source(original)));
        headers.Add(AtHeader, Encoding.UTF8.GetBytes((at ?? DateTimeOffset.UtcNow).ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)));
        return new Message<string, byte[]> { Key = withholdKey ? null! : source.Key, Value = source.Value, Headers = headers };
    }

    /// <summary>
    /// The dead-letter message for a frame whose key or headers were refused by <see cref="FrameHeaders.Parse(Headers?, string?, FrameHeaderLimits)"/>;
    /// what was over its size limit is left out (<see cref="FrameRejection.WithheldHeaders"/>, <see cref="FrameRejection.KeyWithheld"/>).
    /// </summary>
    public static Message<string, byte[]> Create(ConsumeResult<string, byte[]> original, FrameRejection rejection, DateTimeOffset? at = null) =>
        Create(original, rejection.ReasonCode, rejection.Detail, at, rejection.WithheldHeaders, rejection.KeyWithheld);

    private static string Source(ConsumeResult<string, byte[]> original) =>
        $"{original.Topic}/{original.Partition.Value}/{original.Offset.Value}";
}
