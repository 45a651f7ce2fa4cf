using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using L3.Kernels;

namespace L3.Cpu;

/// <summary>
/// The plain scalar decoder of one patch: the reference every fast path (SIMD, GPU, generated)
/// is checked against. It applies the rules of <see cref="RowCoding"/> pixel by pixel. Generic over
/// the file's shape (<see cref="IPatchShape"/>): a profile's shape makes a whole patch's width,
/// height and the channel count constants; <see cref="AnyShape"/> is the plain decoder.
/// </summary>
internal static class PatchDecoder
{
    /// <summary>
    /// Decodes a patch that <see cref="PatchFormat.Validate"/> accepted into interleaved pixels:
    /// pixel (x, y) of the patch, channel c, goes to <c>dest[y * destStride + x * channels + c]</c>.
    /// </summary>
    /// <param name="planes">scratch of at least channels × width × height bytes</param>
    public static void Decode<TShape>(ReadOnlySpan<byte> patch, int width, int height, int channels,
        Span<byte> dest, int destStride, Span<byte> planes) where TShape : struct, IPatchShape
    {
        channels = PatchShape.Channels<TShape>(channels);
        if (PatchShape.IsWhole<TShape>(width) && PatchShape.IsWhole<TShape>(height))
            Decode(patch, default(TShape).N, default(TShape).N, channels, dest, destStride, planes);
        else
            Decode(patch, width, height, channels, dest, destStride, planes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Decode(ReadOnlySpan<byte> patch, int width, int height, int channels,
        Span<byte> dest, int destStride, Span<byte> planes)
    {
        int planeSize = width * height;
        int at = 1;
        for (int c = 0; c < channels; c++)
            at = DecodePlane(patch, at, width, height, planes.Slice(c * planeSize, planeSize));

        bool transformed = (patch[0] & PatchFormat.ColorTransformFlag) != 0;
        for (int y = 0; y < height; y++)
        {
            var row = dest.Slice(y * destStride, width * channels);
            int p = y * width;
            for (int x = 0; x < width; x++, p++)
            {
                for (int c = 0; c < channels; c++)
                    row[x * channels + c] = planes[c * planeSize + p];
                if (transformed)
                {
                    int g = row[x * channels + 1];
                    row[x * channels] = (byte)ColorTransform.Restore(row[x * channels], g);
                    row[x * channels + 2] = (byte)ColorTransform.Restore(row[x * channels + 2], g);
                }
            }
        }
    }

    /// <summary>Decodes one channel block starting at <paramref name="at"/>; returns the offset after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DecodePlane(ReadOnlySpan<byte> patch, int at, int width, int height, Span<byte> plane)
    {
        int groups = RowCoding.GroupsPerRow(width);
        var zeroMask = patch.Slice(at, RowCoding.ZeroMaskBytes(height));
        var predictors = patch.Slice(at + zeroMask.Length, RowCoding.PredictorBytes(height));
        int widths = at + zeroMask.Length + predictors.Length;
        int codedRows = 0;
        for (int y = 0; y < height; y++) codedRows += RowCoding.IsZeroRow(zeroMask[y >> 3], y) ? 0 : 1;
        int payload = widths + RowCoding.WidthBytes(codedRows, groups);
        ReadOnlySpan<byte> zeroRow = Zeros.AsSpan(0, width);

        int nibble = 0; // index of the next width in the width array
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> top = y == 0 ? zeroRow : plane.Slice((y - 1) * width, width);
            var row = plane.Slice(y * width, width);
            int predictor = RowCoding.PredictorOf(predictors[y >> 2], y);
            bool zero = RowCoding.IsZeroRow(zeroMask[y >> 3], y);
            int topFirst = top[0];
            int running = 0;
            for (int g = 0; g < groups; g++)
            {
                int groupWidth = 0;
                ulong bits = 0;
                if (!zero)
                {
                    groupWidth = RowCoding.NibbleOf(patch[widths + (nibble >> 1)], nibble);
                    nibble++;
                    bits = ReadGroup(patch.Slice(payload, groupWidth));
                    payload += groupWidth;
                }
                int end = Math.Min(RowCoding.GroupSize, width - g * RowCoding.GroupSize);
                for (int slot = 0; slot < end; slot++)
                {
                    int x = g * RowCoding.GroupSize + slot;
                    int residual = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, groupWidth, slot));
                    int baseValue = RowCoding.Base(predictor, top[x], top[Math.Min(x + 1, width - 1)], topFirst);
                    running = RowCoding.Accumulate(predictor, running, residual);
                    row[x] = (byte)RowCoding.Reconstruct(baseValue, running);
                }
            }
        }
        return payload;
    }

    /// <summary>The row above a patch's first row (a constant, so that the plane decoder can be inlined).</summary>
    private static readonly byte[] Zeros = new byte[64];

    /// <summary>A group's bytes (0 to 8 of them) read as one little-endian integer.</summary>
    internal static ulong ReadGroup(ReadOnlySpan<byte> group)
    {
        if (group.Length == 8) return BinaryPrimitives.ReadUInt64LittleEndian(group);
        ulong bits = 0;
        for (int i = group.Length - 1; i >= 0; i--) bits = (bits << 8) | group[i];
        return bits;
    }
}
