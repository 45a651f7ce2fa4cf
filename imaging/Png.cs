using System.Buffers.Binary;

namespace L3.Imaging;

/// <summary>What a PNG's chunks say before it is decoded: the real bit depth (Skia reports an 8-bit
/// colour type for a 16-bit PNG), the declared size, the image data's length and animation.</summary>
internal readonly record struct Png(int Width, int Height, int BitDepth, int ColorType, bool Interlaced, long ImageDataBytes, int AnimationFrames)
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Signature and IHDR: the first 33 bytes of every PNG.</summary>
    public const int HeaderBytes = 33;

    /// <summary>Reads the IHDR; with <paramref name="wholeFile"/>, also walks the chunks to total the
    /// IDAT lengths (as far as the file goes) and find an APNG's acTL.</summary>
    public static Png Read(ReadOnlySpan<byte> bytes, bool wholeFile)
    {
        if (bytes.Length < HeaderBytes || !bytes[12..16].SequenceEqual("IHDR"u8) || BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]) != 13)
            throw new ImageFileException("PNG is truncated or has no IHDR chunk first");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]), height = BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]);
        int depth = bytes[24], colorType = bytes[25];
        bool valid = colorType switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (!valid) throw new ImageFileException($"PNG colour type {colorType} with bit depth {depth} is invalid");
        long idat = 0;
        int frames = 0;
        if (wholeFile)
        {
            // chunk: length (4), type (4), data, CRC (4); a truncated last chunk counts as far as it goes
            for (long at = 8; at + 8 <= bytes.Length;)
            {
                long length = BinaryPrimitives.ReadUInt32BigEndian(bytes[(int)at..]);
                var type = bytes.Slice((int)at + 4, 4);
                long available = Math.Min(length, bytes.Length - (at + 8));
                if (type.SequenceEqual("IDAT"u8)) idat += available;
                else if (type.SequenceEqual("acTL"u8) && available >= 4) frames = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(bytes[((int)at + 8)..]));
                else if (type.SequenceEqual("IEND"u8)) break;
                at += 12 + length;
            }
        }
        return new Png((int)Math.Min(width, int.MaxValue), (int)Math.Min(height, int.MaxValue), depth, colorType, bytes[28] != 0, idat, frames);
    }

    public int Samples => ColorType switch { 0 or 3 => 1, 4 => 2, 2 => 3, _ => 4 };

    public string Describe() => $"{BitDepth}-bit {ColorType switch { 0 => "gray", 2 => "RGB", 3 => "palette", 4 => "gray+alpha", _ => "RGBA" }}";

    /// <summary>The fewest bytes the image data inflates to: the pixels' bits, without the filter
    /// byte of each row (interlacing adds more filter bytes, never fewer pixel bits).</summary>
    public long MinimumRawBytes => ((long)Width * Height * Samples * BitDepth + 7) / 8;
}
