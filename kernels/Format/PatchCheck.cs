using System.Runtime.CompilerServices;
using ILGPU;

namespace L3.Kernels;

/// <summary>What is wrong with a patch (<see cref="PatchCheck"/>); <see cref="None"/>: nothing.</summary>
public enum PatchFault
{
    None = 0,
    /// <summary>The patch has no bytes.</summary>
    Empty,
    /// <summary>A reserved flag bit, or the colour transform with fewer than 3 channels (Value: the flags).</summary>
    Flags,
    /// <summary>The patch ends inside a channel block's zero-row mask or predictor array.</summary>
    EndsInHeader,
    /// <summary>Padding bits of the zero-row mask are set.</summary>
    MaskPadding,
    /// <summary>Padding bits of the predictor array are set.</summary>
    PredictorPadding,
    /// <summary>The patch ends inside a width array.</summary>
    EndsInWidths,
    /// <summary>A group width is larger than 8 (Value: the width).</summary>
    WidthTooLarge,
    /// <summary>The width array's padding nibble is set.</summary>
    WidthPadding,
    /// <summary>The groups need more bytes than are left (Value: bytes needed, Value2: bytes left).</summary>
    EndsInGroups,
    /// <summary>The channel blocks end before the patch does (At: where they end); in mode 1, a patch
    /// without coded rows has bytes after its header.</summary>
    LengthMismatch,
    /// <summary>Mode 1: the patch ends inside its coder states (Value: the lane count).</summary>
    EndsInStates,
    /// <summary>Mode 1: the word stream has an odd number of bytes.</summary>
    OddStream,
}

/// <summary>The outcome of <see cref="PatchCheck.Check"/>: the first fault, the channel it lies in,
/// its byte offset in the patch, and the values its message names.</summary>
public struct PatchVerdict
{
    public PatchFault Fault;
    public int Channel, At, Value, Value2;

    public readonly bool IsValid => Fault == PatchFault.None;

    internal static PatchVerdict Of(PatchFault fault, int channel, int at, int value = 0, int value2 = 0) =>
        new() { Fault = fault, Channel = channel, At = at, Value = value, Value2 = value2 };
}

/// <summary>A patch's bytes, as <see cref="PatchCheck"/> reads them: a span on the CPU, a view of
/// device memory in a kernel. Reads stay inside [0, <see cref="Length"/>).</summary>
public interface IPatchBytes
{
    int Length { get; }
    /// <summary>Byte <paramref name="at"/>.</summary>
    uint Byte(int at);
    /// <summary>The <paramref name="count"/> (1 to 8) bytes from <paramref name="at"/>, little-endian, as one integer.</summary>
    ulong Bytes(int at, int count);
}

/// <summary>
/// The structure rule of a patch (docs/FORMAT.md, section 2), stated once for every path: the CPU
/// validation (<c>PatchFormat.Validate</c>, which turns a fault into an <c>L3FormatException</c>) and
/// the GPU check kernel (<see cref="PatchCheckKernel"/>) both run this code. Known flags; per channel
/// block a zero-row mask and predictor array with zero padding, a width array whose widths are at
/// most 8 with a zero padding nibble, groups that fit; blocks that end exactly where the patch does.
/// After it passes, a decoder may read the patch without bounds checks.
/// </summary>
public static class PatchCheck
{
    private const ulong LowNibbles = 0x0F0F0F0F0F0F0F0FUL;
    private const ulong HighBits = 0x8080808080808080UL;
    private const ulong Ones = 0x0101010101010101UL;
    /// <summary>Added to a nibble, 9..15 reach bit 7 of its byte (and 15 + 7 stays below 0x100).</summary>
    private const ulong TooWideProbe = 0x7777777777777777UL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PatchVerdict Check<TBytes>(TBytes patch, int width, int height, int channels)
        where TBytes : IPatchBytes, allows ref struct
    {
        int length = patch.Length;
        if (length < 1) return PatchVerdict.Of(PatchFault.Empty, 0, 0);
        int flags = (int)patch.Byte(PatchLayout.FlagsOffset);
        if (!PatchLayout.AreValidFlags(flags, channels)) return PatchVerdict.Of(PatchFault.Flags, 0, 0, flags);

        int groups = RowCoding.GroupsPerRow(width);
        int maskBytes = RowCoding.ZeroMaskBytes(height);
        int predictorBytes = RowCoding.PredictorBytes(height);
        int at = PatchLayout.FlagsSize;
        for (int c = 0; c < channels; c++)
        {
            if (length - at < maskBytes + predictorBytes) return PatchVerdict.Of(PatchFault.EndsInHeader, c, length);
            // the mask (1 to 8 bytes) as one integer: its popcount is the number of zero rows, and
            // the bits from `height` up are the last byte's padding
            ulong mask = patch.Bytes(at, maskBytes);
            int codedRows = height - IntrinsicMath.BitOperations.PopCount(mask);
            if (height < 64 && (mask >> height) != 0) return PatchVerdict.Of(PatchFault.MaskPadding, c, at + maskBytes - 1);
            at += maskBytes;
            if ((height & 3) != 0 && (patch.Byte(at + predictorBytes - 1) >> ((height & 3) * 2)) != 0)
                return PatchVerdict.Of(PatchFault.PredictorPadding, c, at + predictorBytes - 1);
            at += predictorBytes;

            int nibbles = codedRows * groups;
            int widthBytes = RowCoding.WidthBytes(codedRows, groups);
            if (length - at < widthBytes) return PatchVerdict.Of(PatchFault.EndsInWidths, c, length);
            // the widths 8 bytes at a time (SWAR): both nibbles of each byte summed, and a nibble
            // larger than 8 found by the probe; bytes past the array read as 0
            int payload = 0;
            for (int i = 0; i < widthBytes; i += 8)
            {
                int count = widthBytes - i < 8 ? widthBytes - i : 8;
                ulong x = patch.Bytes(at + i, count);
                ulong lo = x & LowNibbles, hi = (x >> 4) & LowNibbles;
                ulong tooWide = ((lo + TooWideProbe) | (hi + TooWideProbe)) & HighBits;
                if (tooWide != 0)
                {
                    int bad = i + IntrinsicMath.BitOperations.TrailingZeroCount(tooWide) / 8;
                    uint b = patch.Byte(at + bad);
                    return PatchVerdict.Of(PatchFault.WidthTooLarge, c, at + bad, (int)((b & 0xF) > (b >> 4) ? b & 0xF : b >> 4));
                }
                payload += (int)(((lo + hi) * Ones) >> 56); // 8 bytes of at most 16: at most 128
            }
            if ((nibbles & 1) != 0 && (patch.Byte(at + widthBytes - 1) >> 4) != 0)
                return PatchVerdict.Of(PatchFault.WidthPadding, c, at + widthBytes - 1);
            at += widthBytes;
            if (length - at < payload) return PatchVerdict.Of(PatchFault.EndsInGroups, c, length, payload, length - at);
            at += payload;
        }
        return at != length ? PatchVerdict.Of(PatchFault.LengthMismatch, channels - 1, at) : default;
    }
}
