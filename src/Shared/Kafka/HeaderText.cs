using System.Text;
using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>Reading a message header as text, for the readers of the pipeline's topics (the frames' own headers are checked strictly by <see cref="FrameHeaders.Parse"/>).</summary>
public static class HeaderText
{
    /// <summary>The last value of header <paramref name="name"/> as UTF-8 text; null when the message has no such header.</summary>
    public static string? Of(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;
}
