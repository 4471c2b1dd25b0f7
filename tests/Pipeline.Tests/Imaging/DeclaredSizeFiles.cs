using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Pipeline.Tests.Imaging;

/// <summary>
/// Tiny image files whose headers declare a picture of any size: what a hostile or broken camera can send to make a
/// decoder allocate gigabytes. Written byte by byte from the formats' specifications; the pixel data is a token
/// (a few bytes), so decoding them for real would fail or give garbage, but only after allocating the whole picture.
/// </summary>
public static class DeclaredSizeFiles
{
    /// <summary>A PNG: signature, IHDR (8-bit RGB), one IDAT with a few deflated bytes, IEND.</summary>
    public static byte[] Png(int width, int height)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: RGB
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", Deflated(new byte[64]));
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>A baseline JPEG: SOI, one quantization table, SOF0 (3 components), SOS, a few bytes of scan, EOI.</summary>
    public static byte[] Jpeg(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, ushort.MaxValue);
        using var file = new MemoryStream();
        file.Write([0xFF, 0xD8]); // SOI
        var quantization = new byte[65];
        Array.Fill(quantization, (byte)1, 1, 64); // table 0, 8-bit precision, all ones
        Segment(file, 0xDB, quantization);
        var frame = new byte[15];
        frame[0] = 8; // sample precision
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(1), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(3), (ushort)width);
        frame[5] = 3; // components: id, sampling 1×1, quantization table 0
        for (var component = 0; component < 3; component++)
            (frame[6 + component * 3], frame[7 + component * 3], frame[8 + component * 3]) = ((byte)(component + 1), 0x11, 0);
        Segment(file, 0xC0, frame); // SOF0
        Segment(file, 0xDA, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]); // SOS (standard Huffman tables)
        file.Write(new byte[16]);
        file.Write([0xFF, 0xD9]); // EOI
        return file.ToArray();
    }

    /// <summary>A 24-bit BMP (BITMAPINFOHEADER) with its headers and no rows at all.</summary>
    public static byte[] Bmp(int width, int height)
    {
        const int headers = 14 + 40;
        var file = new byte[headers + 16];
        var span = file.AsSpan();
        span[0] = (byte)'B';
        span[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(span[2..], file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[10..], headers);
        BinaryPrimitives.WriteInt32LittleEndian(span[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(span[18..], width);
        BinaryPrimitives.WriteInt32LittleEndian(span[22..], height);
        BinaryPrimitives.WriteInt16LittleEndian(span[26..], 1); // planes
        BinaryPrimitives.WriteInt16LittleEndian(span[28..], 24); // bits per pixel
        return file;
    }

    /// <summary>A GIF89a: logical screen and one image of the size, a two-colour palette, a token of LZW data.</summary>
    public static byte[] Gif(int width, int height)
    {
        using var file = new MemoryStream();
        file.Write(Encoding.ASCII.GetBytes("GIF89a"));
        var screen = new byte[7];
        BinaryPrimitives.WriteUInt16LittleEndian(screen, (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(screen.AsSpan(2), (ushort)height);
        screen[4] = 0x80; // global colour table of 2 entries
        file.Write(screen);
        file.Write([0, 0, 0, 255, 255, 255]);
        var image = new byte[10];
        image[0] = 0x2C; // image descriptor at 0,0
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(5), (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(7), (ushort)height);
        file.Write(image);
        file.Write([2, 2, 0x4C, 0x01, 0]); // minimum code size 2, one sub-block of LZW data, block terminator
        file.WriteByte(0x3B); // trailer
        return file.ToArray();
    }

    /// <summary>
    /// An animated WebP (VP8X, ANIM) whose canvas has the size, with one 1×1 lossless frame (ANMF, VP8L). A still WebP
    /// cannot declare more than 16384 pixels a side (its image's own header has 14 bits), an animation's canvas can.
    /// </summary>
    public static byte[] WebP(int width, int height)
    {
        using var body = new MemoryStream();
        body.Write(Encoding.ASCII.GetBytes("WEBP"));
        var canvas = new byte[10];
        canvas[0] = 0x02; // animation
        WriteUInt24(canvas.AsSpan(4), width - 1);
        WriteUInt24(canvas.AsSpan(7), height - 1);
        RiffChunk(body, "VP8X", canvas);
        RiffChunk(body, "ANIM", new byte[6]); // background colour, loop count
        using var frame = new MemoryStream();
        frame.Write(new byte[16]); // at 0,0, 1×1 (sizes minus one), no duration, no flags
        // VP8L: signature, then 14 bits width - 1, 14 bits height - 1, alpha, 3 bits version: all zero, a 1×1 image.
        RiffChunk(frame, "VP8L", [0x2F, 0, 0, 0, 0, 0, 0, 0]);
        RiffChunk(body, "ANMF", frame.ToArray());
        var riff = body.ToArray();
        var file = new byte[8 + riff.Length];
        Encoding.ASCII.GetBytes("RIFF").CopyTo(file, 0);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(4), riff.Length);
        riff.CopyTo(file, 8);
        return file;
    }

    private static void WriteUInt24(Span<byte> to, int value) => (to[0], to[1], to[2]) = ((byte)value, (byte)(value >> 8), (byte)(value >> 16));

    private static void RiffChunk(Stream file, string type, byte[] data)
    {
        file.Write(Encoding.ASCII.GetBytes(type));
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, data.Length);
        file.Write(length);
        file.Write(data);
        if (data.Length % 2 == 1) file.WriteByte(0);
    }

    private static void Segment(Stream file, byte marker, byte[] data)
    {
        file.Write([0xFF, marker]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)(data.Length + 2));
        file.Write(length);
        file.Write(data);
    }

    private static void Chunk(Stream file, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        file.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        file.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(length, Crc32(typed));
        file.Write(length);
    }

    private static byte[] Deflated(byte[] data)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(data);
        return compressed.ToArray();
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }

        return ~crc;
    }
}
