using System.Text;

namespace Pipeline.Shared.Serialization;

/// <summary>
/// The field encodings the pipeline's binary Akka serializers share: a <see cref="DateTimeOffset"/> is its UTC
/// ticks and its offset in minutes (it round-trips exactly), an optional value a presence flag and the value,
/// strings length-prefixed UTF-8 (<see cref="BinaryWriter"/>), numbers little-endian.
/// </summary>
internal static class BinaryWire
{
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void Write(this BinaryWriter writer, DateTimeOffset time)
    {
        writer.Write(time.UtcTicks);
        writer.Write(checked((short)time.TotalOffsetMinutes));
    }

    public static DateTimeOffset ReadDateTimeOffset(this BinaryReader reader)
    {
        var utcTicks = reader.ReadInt64();
        var offset = TimeSpan.FromMinutes(reader.ReadInt16());
        return new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(offset);
    }

    public static void WriteNullable(this BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null) writer.Write(value);
    }

    public static string? ReadNullableString(this BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    /// <summary>Bytes left to read: checked before allocating for a count or length read from the payload.</summary>
    public static long Left(this BinaryReader reader) => reader.BaseStream.Length - reader.BaseStream.Position;

    /// <summary>A count read from the payload, refused when even <paramref name="minimumBytesEach"/> per item would not fit what is left.</summary>
    public static int ReadCount(this BinaryReader reader, int minimumBytesEach, string what)
    {
        var count = reader.ReadInt32();
        if (count < 0 || (long)count * Math.Max(1, minimumBytesEach) > reader.Left())
            throw new InvalidDataException($"A count of {count} {what} does not fit the {reader.Left()} bytes left.");
        return count;
    }
}
