using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace L3.Qoi;

/// <summary>
/// QOI encoder and decoder written from the QOI specification (qoiformat.org, "The Quite OK Image
/// Format, Specification Version 1.0"): a 14-byte header, chunks QOI_OP_RGB, QOI_OP_RGBA,
/// QOI_OP_INDEX, QOI_OP_DIFF, QOI_OP_LUMA, QOI_OP_RUN, and the 8-byte end marker. It is a
/// from-spec C# port used only as a speed reference; it is not derived from qoi.h's code.
/// </summary>
public static unsafe class QoiCodec
{
    private const byte OpRgb = 0xFE, OpRgba = 0xFF;
    private const int OpIndex = 0x00, OpDiff = 0x40, OpLuma = 0x80, OpRun = 0xC0;
    private const int HeaderSize = 14;
    private static ReadOnlySpan<byte> EndMarker => [0, 0, 0, 0, 0, 0, 0, 1];

    /// <summary>A decoded QOI image: interleaved RGB or RGBA bytes.</summary>
    public sealed record Image(int Width, int Height, int Channels, byte[] Pixels);

    /// <summary>The largest file an image can take: every pixel an RGBA chunk, plus header and end.</summary>
    public static int MaxEncodedLength(int width, int height, int channels) =>
        checked(HeaderSize + width * height * (channels + 1) + EndMarker.Length);

    // the spec's hash: (r * 3 + g * 5 + b * 7 + a * 11) % 64, on a pixel packed as r | g<<8 | b<<16 | a<<24
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(uint px) =>
        (int)(((px & 0xFF) * 3 + ((px >> 8) & 0xFF) * 5 + ((px >> 16) & 0xFF) * 7 + (px >> 24) * 11) & 63);

    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        var buffer = new byte[MaxEncodedLength(width, height, channels)];
        int length = Encode(pixels, width, height, channels, buffer);
        return buffer.AsSpan(0, length).ToArray();
    }

    /// <summary>Encodes RGB (3) or RGBA (4) pixels into <paramref name="output"/> (at least
    /// <see cref="MaxEncodedLength"/> bytes); returns the file's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels, Span<byte> output)
    {
        if (channels is not (3 or 4)) throw new ArgumentException("QOI holds 3 or 4 channels", nameof(channels));
        if (width <= 0 || height <= 0) throw new ArgumentException("empty image");
        long count = (long)width * height;
        if (pixels.Length < count * channels) throw new ArgumentException("too few pixels", nameof(pixels));
        if (output.Length < MaxEncodedLength(width, height, channels)) throw new ArgumentException("output too small", nameof(output));

        "qoif"u8.CopyTo(output);
        BinaryPrimitives.WriteUInt32BigEndian(output[4..], (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(output[8..], (uint)height);
        output[12] = (byte)channels;
        output[13] = 0; // sRGB with linear alpha

        uint* index = stackalloc uint[64];
        new Span<uint>(index, 64).Clear();
        fixed (byte* src = pixels)
        fixed (byte* dst = output)
        {
            byte* o = dst + HeaderSize;
            uint prev = 0xFF000000; // r = g = b = 0, a = 255
            int run = 0;
            byte* p = src;
            byte* end = src + count * channels;
            for (; p < end; p += channels)
            {
                uint px = channels == 4 ? Unsafe.ReadUnaligned<uint>(p) : (p[0] | (uint)p[1] << 8 | (uint)p[2] << 16 | 0xFF000000);
                if (px == prev)
                {
                    run++;
                    if (run == 62 || p + channels == end)
                    {
                        *o++ = (byte)(OpRun | (run - 1));
                        run = 0;
                    }
                    continue;
                }
                if (run > 0)
                {
                    *o++ = (byte)(OpRun | (run - 1));
                    run = 0;
                }
                int h = Hash(px);
                if (index[h] == px)
                {
                    *o++ = (byte)(OpIndex | h);
                }
                else
                {
                    index[h] = px;
                    if ((px >> 24) == (prev >> 24))
                    {
                        int dr = (sbyte)(byte)(px - prev);
                        int dg = (sbyte)(byte)((px >> 8) - (prev >> 8));
                        int db = (sbyte)(byte)((px >> 16) - (prev >> 16));
                        int drg = dr - dg, dbg = db - dg;
                        if (dr is >= -2 and <= 1 && dg is >= -2 and <= 1 && db is >= -2 and <= 1)
                        {
                            *o++ = (byte)(OpDiff | (dr + 2) << 4 | (dg + 2) << 2 | (db + 2));
                        }
                        else if (dg is >= -32 and <= 31 && drg is >= -8 and <= 7 && dbg is >= -8 and <= 7)
                        {
                            *o++ = (byte)(OpLuma | (dg + 32));
                            *o++ = (byte)((drg + 8) << 4 | (dbg + 8));
                        }
                        else
                        {
                            *o++ = OpRgb;
                            *o++ = (byte)px;
                            *o++ = (byte)(px >> 8);
                            *o++ = (byte)(px >> 16);
                        }
                    }
                    else
                    {
                        *o++ = OpRgba;
                        Unsafe.WriteUnaligned(o, px);
                        o += 4;
                    }
                }
                prev = px;
            }
            EndMarker.CopyTo(new Span<byte>(o, 8));
            o += 8;
            return (int)(o - dst);
        }
    }

    /// <summary>Reads a QOI header: width, height, channels.</summary>
    public static (int Width, int Height, int Channels) ReadHeader(ReadOnlySpan<byte> file)
    {
        if (file.Length < HeaderSize + EndMarker.Length || !file[..4].SequenceEqual("qoif"u8))
            throw new InvalidDataException("not a QOI file");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(file[4..]), height = BinaryPrimitives.ReadUInt32BigEndian(file[8..]);
        int channels = file[12];
        if (width == 0 || height == 0 || channels is not (3 or 4) || file[13] > 1 || (ulong)width * height > 400_000_000)
            throw new InvalidDataException("bad QOI header");
        return ((int)width, (int)height, channels);
    }

    public static Image Decode(ReadOnlySpan<byte> file)
    {
        var (width, height, channels) = ReadHeader(file);
        var pixels = new byte[(long)width * height * channels];
        Decode(file, pixels);
        return new Image(width, height, channels, pixels);
    }

    /// <summary>Decodes into <paramref name="pixels"/> (width × height × channels bytes, the file's channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Decode(ReadOnlySpan<byte> file, Span<byte> pixels)
    {
        var (width, height, channels) = ReadHeader(file);
        long count = (long)width * height;
        if (pixels.Length < count * channels) throw new ArgumentException("destination too small", nameof(pixels));
        uint* index = stackalloc uint[64];
        new Span<uint>(index, 64).Clear();
        fixed (byte* src = file)
        fixed (byte* dst = pixels)
        {
            byte* p = src + HeaderSize;
            byte* chunksEnd = src + file.Length - EndMarker.Length; // chunks never run into the end marker
            uint px = 0xFF000000;
            int run = 0;
            byte* o = dst;
            byte* end = dst + count * channels;
            for (; o < end; o += channels)
            {
                if (run > 0)
                {
                    run--;
                }
                else if (p < chunksEnd)
                {
                    int b1 = *p++;
                    if (b1 == OpRgb)
                    {
                        px = (px & 0xFF000000) | p[0] | (uint)p[1] << 8 | (uint)p[2] << 16;
                        p += 3;
                    }
                    else if (b1 == OpRgba)
                    {
                        px = Unsafe.ReadUnaligned<uint>(p);
                        p += 4;
                    }
                    else
                    {
                        switch (b1 & 0xC0)
                        {
                            case OpIndex:
                                px = index[b1];
                                break;
                            case OpDiff:
                            {
                                uint r = (byte)(px + (uint)((b1 >> 4) & 3) - 2);
                                uint g = (byte)((px >> 8) + (uint)((b1 >> 2) & 3) - 2);
                                uint b = (byte)((px >> 16) + (uint)(b1 & 3) - 2);
                                px = (px & 0xFF000000) | r | g << 8 | b << 16;
                                break;
                            }
                            case OpLuma:
                            {
                                int b2 = *p++;
                                int dg = (b1 & 0x3F) - 32;
                                uint r = (byte)((int)(px & 0xFF) + dg - 8 + ((b2 >> 4) & 0xF));
                                uint g = (byte)((int)((px >> 8) & 0xFF) + dg);
                                uint b = (byte)((int)((px >> 16) & 0xFF) + dg - 8 + (b2 & 0xF));
                                px = (px & 0xFF000000) | r | g << 8 | b << 16;
                                break;
                            }
                            default:
                                run = b1 & 0x3F;
                                break;
                        }
                    }
                    index[Hash(px)] = px;
                }
                if (channels == 4) Unsafe.WriteUnaligned(o, px);
                else
                {
                    o[0] = (byte)px;
                    o[1] = (byte)(px >> 8);
                    o[2] = (byte)(px >> 16);
                }
            }
        }
    }
}
