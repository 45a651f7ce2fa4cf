using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using L3.Kernels;

namespace L3;

/// <summary>
/// The layout of one patch's bytes (docs/FORMAT.md, "Patch"): a flags byte, then one channel
/// block per channel, each made of a zero-row mask (a bit a row), a predictor array (2 bits a
/// row), a width array (a nibble a group of each non-zero row) and the packed groups. Every path validates a patch here before it decodes it.
/// </summary>
public static class PatchFormat
{
    /// <summary><see cref="PatchLayout.ColorTransformFlag"/>, under the name the profiles' generated
    /// code reads it by.</summary>
    public const int ColorTransformFlag = PatchLayout.ColorTransformFlag;

    /// <summary>
    /// Checks every patch of a file whose header <see cref="L3Header.Read"/> accepted: the one
    /// validation every decoder runs (the CPU codec, the GPU codec, the profiles' generated code)
    /// before it reads a patch without bounds checks. On up to <paramref name="maxDegreeOfParallelism"/>
    /// threads (1 or less: the calling thread); whatever the threads, the error thrown is the first
    /// bad patch's, in patch order.
    /// </summary>
    /// <exception cref="L3FormatException">a patch is malformed; its offset is in the file</exception>
    public static unsafe void ValidatePatches(ReadOnlySpan<byte> file, L3Header header, int maxDegreeOfParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(header);
        int count = header.PatchCount;
        if (header.Mode == L3CodingMode.Dense)
        {
            // the tables, then each patch's structure; its stream is checked as it is decoded
            Dense.DenseFileDecoder.Validate(file, header);
            return;
        }
        if (maxDegreeOfParallelism <= 1 || count < 2)
        {
            for (int i = 0; i < count; i++) ValidatePatch(file, header, i);
            return;
        }
        int chunks = Math.Min(count, maxDegreeOfParallelism * 4);
        var errors = new L3FormatException?[chunks]; // each chunk's first error
        fixed (byte* f = file)
        {
            nint address = (nint)f;
            int length = file.Length;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, chunk =>
            {
                // a span cannot cross into the lambda: the pinned file is passed by address
                var span = new ReadOnlySpan<byte>((byte*)address, length);
                int start = (int)((long)count * chunk / chunks), end = (int)((long)count * (chunk + 1) / chunks);
                try
                {
                    for (int i = start; i < end; i++) ValidatePatch(span, header, i);
                }
                catch (L3FormatException e)
                {
                    errors[chunk] = e;
                }
            });
        }
        foreach (var error in errors)
            if (error is not null) throw error;
    }

    /// <summary>Checks patch <paramref name="index"/> of a file whose header <see cref="L3Header.Read"/>
    /// accepted (<see cref="Validate"/> on its bytes and rectangle).</summary>
    /// <exception cref="L3FormatException">the patch is malformed; its offset is in the file</exception>
    public static void ValidatePatch(ReadOnlySpan<byte> file, L3Header header, int index)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (header.Mode == L3CodingMode.Dense) { Dense.DenseFileDecoder.ValidatePatch(file, header, index); return; }
        var rect = header.PatchRect(index);
        var (start, length) = header.PatchRange(index);
        int at = header.PayloadStart + start;
        Validate(file.Slice(at, length), rect.Width, rect.Height, header.Channels, at);
    }

    /// <summary>
    /// Checks a patch's structure: known flags, zero-row mask, predictor and width arrays with zero
    /// padding, every width at most 8, and block lengths that add up to the patch's length exactly.
    /// After this, a decoder may read the patch without bounds checks. The mask is read as one
    /// integer (its popcount is the number of zero rows) and the widths 8 bytes at a time; the
    /// errors, their order and their offsets are those of a byte-at-a-time check
    /// (tests/L3.Simd.Tests/ValidateTests.cs compares the two).
    /// </summary>
    /// <param name="fileOffset">the patch's offset in the file, for error messages</param>
    // compiled fully optimized at once, like the SIMD kernels: a one-off decode of a large image
    // validates thousands of patches before tiering would have promoted this loop
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Validate(ReadOnlySpan<byte> patch, int width, int height, int channels, long fileOffset)
    {
        if (patch.Length < 1)
            throw new L3FormatException("patch is empty", fileOffset);
        int flags = patch[PatchLayout.FlagsOffset];
        if (!PatchLayout.AreValidFlags(flags, channels))
            throw new L3FormatException($"patch flags 0x{flags:X2} are not valid for {channels} channel(s)", fileOffset);

        int groups = RowCoding.GroupsPerRow(width);
        int maskBytes = RowCoding.ZeroMaskBytes(height);
        int predictorBytes = RowCoding.PredictorBytes(height);
        ref byte start = ref MemoryMarshal.GetReference(patch);
        int at = PatchLayout.FlagsSize;
        for (int c = 0; c < channels; c++)
        {
            if (patch.Length - at < maskBytes + predictorBytes)
                throw new L3FormatException($"patch ends inside the header of channel {c}", fileOffset + patch.Length);
            // the mask (1 to 8 bytes) as one integer: its popcount is the number of zero rows, and
            // the bits from `height` up are the last byte's padding
            ulong mask = ReadPartial(ref Unsafe.Add(ref start, at), maskBytes);
            int codedRows = height - BitOperations.PopCount(mask);
            if (height < 64 && (mask >> height) != 0)
                throw new L3FormatException($"channel {c}: padding bits of the zero-row mask are not zero", fileOffset + at + maskBytes - 1);
            at += maskBytes;
            if ((height & 3) != 0 && (patch[at + predictorBytes - 1] >> ((height & 3) * 2)) != 0)
                throw new L3FormatException($"channel {c}: padding bits of the predictor array are not zero", fileOffset + at + predictorBytes - 1);
            at += predictorBytes;

            int nibbles = codedRows * groups;
            int widthBytes = RowCoding.WidthBytes(codedRows, groups);
            if (patch.Length - at < widthBytes)
                throw new L3FormatException($"patch ends inside the width array of channel {c}", fileOffset + patch.Length);
            int payload = SumWidths(ref Unsafe.Add(ref start, at), widthBytes, patch.Length - at, out int bad);
            if (bad >= 0)
            {
                int b = patch[at + bad];
                throw new L3FormatException($"channel {c}: group width {Math.Max(b & 0xF, b >> 4)} is larger than 8", fileOffset + at + bad);
            }
            if ((nibbles & 1) != 0 && (patch[at + widthBytes - 1] >> 4) != 0)
                throw new L3FormatException($"channel {c}: the width array's padding nibble is not zero", fileOffset + at + widthBytes - 1);
            at += widthBytes;
            if (patch.Length - at < payload)
                throw new L3FormatException($"channel {c}: its groups need {payload} bytes but the patch has {patch.Length - at} left", fileOffset + patch.Length);
            at += payload;
        }
        if (at != patch.Length)
            throw new L3FormatException($"patch is {patch.Length} bytes but its channels take {at}", fileOffset + at);
    }

    /// <summary><paramref name="count"/> (1 to 8) bytes read little-endian as one integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadPartial(ref byte source, int count)
    {
        if (count == 8) return Unsafe.ReadUnaligned<ulong>(ref source);
        ulong value = 0;
        for (int i = count - 1; i >= 0; i--) value = (value << 8) | Unsafe.Add(ref source, i);
        return value;
    }

    private const ulong LowNibbles = 0x0F0F0F0F0F0F0F0FUL;
    private const ulong HighBits = 0x8080808080808080UL;
    private const ulong Ones = 0x0101010101010101UL;

    /// <summary>
    /// The sum of the <paramref name="count"/> bytes' width nibbles (both nibbles of each byte),
    /// 8 bytes at a time (SWAR); <paramref name="bad"/> = the index of the first byte with a nibble
    /// larger than 8, or -1. <paramref name="readable"/> ≥ <paramref name="count"/> bytes may be read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SumWidths(ref byte widths, int count, int readable, out int bad)
    {
        int sum = 0, i = 0;
        ulong tooWide;
        for (; i + 8 <= count; i += 8)
        {
            ulong x = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref widths, i));
            ulong lo = x & LowNibbles, hi = (x >> 4) & LowNibbles;
            // a nibble of 9..15 plus 0x77 reaches 0x80 (and 15 + 0x77 < 0x100: no carry between bytes)
            tooWide = ((lo + 0x7777777777777777UL) | (hi + 0x7777777777777777UL)) & HighBits;
            if (tooWide != 0) { bad = i + BitOperations.TrailingZeroCount(tooWide) / 8; return 0; }
            sum += (int)(((lo + hi) * Ones) >> 56); // 8 bytes of at most 30: at most 240
        }
        int tail = count - i;
        if (tail == 0) { bad = -1; return sum; }
        ulong rest;
        if (readable - i >= 8)
            rest = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref widths, i)) & ((1UL << (8 * tail)) - 1);
        else
            rest = ReadPartial(ref Unsafe.Add(ref widths, i), tail);
        ulong l = rest & LowNibbles, h = (rest >> 4) & LowNibbles;
        // bytes past the tail are 0 here, and 0 + 0x77 stays below 0x80
        tooWide = ((l + 0x7777777777777777UL) | (h + 0x7777777777777777UL)) & HighBits;
        if (tooWide != 0) { bad = i + BitOperations.TrailingZeroCount(tooWide) / 8; return 0; }
        bad = -1;
        return sum + (int)(((l + h) * Ones) >> 56);
    }
}
