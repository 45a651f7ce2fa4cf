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
    /// Checks a patch's structure by the format's one patch rule (<see cref="PatchCheck"/>, which
    /// the GPU check kernel runs too) and throws its first fault as an <see cref="L3FormatException"/>.
    /// After this, a decoder may read the patch without bounds checks. The errors, their order and
    /// their offsets are those of a byte-at-a-time check (tests/L3.Simd.Tests/ValidateTests.cs
    /// compares the two).
    /// </summary>
    /// <param name="fileOffset">the patch's offset in the file, for error messages</param>
    // compiled fully optimized at once, like the SIMD kernels: a one-off decode of a large image
    // validates thousands of patches before tiering would have promoted this loop
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Validate(ReadOnlySpan<byte> patch, int width, int height, int channels, long fileOffset)
    {
        var verdict = PatchCheck.Check(new SpanBytes(patch), width, height, channels);
        if (!verdict.IsValid) throw Fault(verdict, patch.Length, channels, fileOffset);
    }

    /// <summary>The exception that states <paramref name="verdict"/>'s fault, at its offset in the file.</summary>
    public static L3FormatException Fault(PatchVerdict verdict, int patchLength, int channels, long fileOffset)
    {
        int c = verdict.Channel;
        long at = fileOffset + verdict.At;
        return verdict.Fault switch
        {
            PatchFault.Empty => new L3FormatException("patch is empty", at),
            PatchFault.Flags => new L3FormatException($"patch flags 0x{verdict.Value:X2} are not valid for {channels} channel(s)", at),
            PatchFault.EndsInHeader => new L3FormatException($"patch ends inside the header of channel {c}", at),
            PatchFault.MaskPadding => new L3FormatException($"channel {c}: padding bits of the zero-row mask are not zero", at),
            PatchFault.PredictorPadding => new L3FormatException($"channel {c}: padding bits of the predictor array are not zero", at),
            PatchFault.EndsInWidths => new L3FormatException($"patch ends inside the width array of channel {c}", at),
            PatchFault.WidthTooLarge => new L3FormatException($"channel {c}: group width {verdict.Value} is larger than 8", at),
            PatchFault.WidthPadding => new L3FormatException($"channel {c}: the width array's padding nibble is not zero", at),
            PatchFault.EndsInGroups => new L3FormatException($"channel {c}: its groups need {verdict.Value} bytes but the patch has {verdict.Value2} left", at),
            PatchFault.LengthMismatch => new L3FormatException($"patch is {patchLength} bytes but its channels take {verdict.At}", at),
            _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict.Fault, "not a fault"),
        };
    }

    /// <summary>A patch in host memory, as <see cref="PatchCheck"/> reads it: 8 bytes in one load
    /// where they lie inside the patch.</summary>
    internal readonly ref struct SpanBytes(ReadOnlySpan<byte> bytes) : IPatchBytes
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;

        public int Length => _bytes.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Byte(int at) => _bytes[at];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Bytes(int at, int count)
        {
            ref byte start = ref Unsafe.Add(ref MemoryMarshal.GetReference(_bytes), at);
            if (count == 8) return Unsafe.ReadUnaligned<ulong>(ref start);
            if (_bytes.Length - at >= 8) return Unsafe.ReadUnaligned<ulong>(ref start) & ((1UL << (8 * count)) - 1);
            ulong value = 0;
            for (int i = count - 1; i >= 0; i--) value = (value << 8) | Unsafe.Add(ref start, i);
            return value;
        }
    }
}
