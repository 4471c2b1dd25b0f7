using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Pipeline.Shared.Imaging;

namespace Pipeline.Tests.Imaging;

/// <summary>
/// Image files Skia cannot encode (16-bit and palette PNGs, BMPs), written byte by byte from their
/// specifications so that the decoder is tested against files it did not make itself.
/// </summary>
public static class HandMadeImageFiles
{
    /// <summary>A 16-bit grayscale PNG (colour type 0, bit depth 16).</summary>
    public static byte[] Gray16Png(int width, int height, Func<int, int, ushort> sample)
    {
        var rows = new byte[height * (1 + width * 2)];
        for (int y = 0, at = 0; y < height; y++)
        {
            rows[at++] = 0; // filter: none
            for (int x = 0; x < width; x++, at += 2)
                BinaryPrimitives.WriteUInt16BigEndian(rows.AsSpan(at), sample(x, y));
        }
        return Png(width, height, bitDepth: 16, colourType: 0, rows, palette: null);
    }

    /// <summary>An 8-bit palette PNG (colour type 3).</summary>
    public static byte[] PalettePng(int width, int height, (byte R, byte G, byte B)[] palette, Func<int, int, byte> index)
    {
        var rows = new byte[height * (1 + width)];
        for (int y = 0, at = 0; y < height; y++)
        {
            rows[at++] = 0;
            for (int x = 0; x < width; x++)
                rows[at++] = index(x, y);
        }
        var plte = palette.SelectMany(colour => new[] { colour.R, colour.G, colour.B }).ToArray();
        return Png(width, height, bitDepth: 8, colourType: 3, rows, plte);
    }

    /// <summary>An uncompressed 24-bit BMP (BITMAPINFOHEADER, rows bottom-up, each padded to 4 bytes).</summary>
    public static byte[] Bmp24(RgbImage image)
    {
        int rowBytes = (image.Width * 3 + 3) / 4 * 4;
        const int headers = 14 + 40;
        var file = new byte[headers + rowBytes * image.Height];
        var span = file.AsSpan();
        span[0] = (byte)'B';
        span[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(span[2..], file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[10..], headers);
        BinaryPrimitives.WriteInt32LittleEndian(span[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(span[18..], image.Width);
        BinaryPrimitives.WriteInt32LittleEndian(span[22..], image.Height);
        BinaryPrimitives.WriteInt16LittleEndian(span[26..], 1); // planes
        BinaryPrimitives.WriteInt16LittleEndian(span[28..], 24); // bits per pixel
        BinaryPrimitives.WriteInt32LittleEndian(span[34..], rowBytes * image.Height);
        for (int y = 0; y < image.Height; y++)
        {
            int row = headers + (image.Height - 1 - y) * rowBytes;
            for (int x = 0; x < image.Width; x++)
            {
                int from = (y * image.Width + x) * 3;
                file[row + x * 3] = image.Pixels[from + 2];
                file[row + x * 3 + 1] = image.Pixels[from + 1];
                file[row + x * 3 + 2] = image.Pixels[from];
            }
        }
        return file;
    }

    private static byte[] Png(int width, int height, byte bitDepth, byte colourType, byte[] filteredRows, byte[]? palette)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colourType; // compression, filter and interlace methods stay 0
        WriteChunk(file, "IHDR", header);
        if (palette is not null)
            WriteChunk(file, "PLTE", palette);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
                zlib.Write(filteredRows);
            WriteChunk(file, "IDAT", compressed.ToArray());
        }
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void WriteChunk(Stream file, string type, byte[] data)
    {
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        file.Write(number);
        file.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typeAndData));
        file.Write(number);
    }

    /// <summary>The CRC-32 PNG chunks carry (polynomial 0xEDB88320, reflected), bit by bit.</summary>
    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
