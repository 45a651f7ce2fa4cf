using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using L3.Kernels;

namespace L3.Dense;

/// <summary>
/// The scalar reference decoder of a dense patch (docs/FORMAT.md, 6.3–6.5): the definition every
/// other mode-1 decoder is checked against. It checks the patch's structure first, then every
/// table and stream read while it decodes, and throws <see cref="L3FormatException"/> on the first
/// fault; it never reads outside the patch.
/// </summary>
internal static class DensePatchDecoder
{
    /// <summary>
    /// Checks what can be checked without decoding: the flags, the padding of every zero-row mask
    /// and predictor array, and the rest of the patch: nothing when no row is coded, else the G
    /// states and an even number of word bytes. Returns whether any row is coded.
    /// </summary>
    public static bool ValidateStructure(ReadOnlySpan<byte> patch, int width, int height, int channels, long fileOffset)
    {
        var verdict = DensePatchCheck.Check(new PatchFormat.SpanBytes(patch), width, height, channels, out bool anyCoded);
        if (!verdict.IsValid) throw Fault(verdict, patch.Length, channels, fileOffset);
        return anyCoded;
    }

    /// <summary>The exception that states a <see cref="DensePatchCheck"/> fault, at its offset in the file.</summary>
    public static L3FormatException Fault(PatchVerdict verdict, int patchLength, int channels, long fileOffset)
    {
        long at = fileOffset + verdict.At;
        return verdict.Fault switch
        {
            PatchFault.EndsInHeader => new L3FormatException($"dense patch of {patchLength} bytes ends inside its {verdict.Value}-byte header", at),
            PatchFault.Flags => new L3FormatException($"patch flags 0x{verdict.Value:X2} are not valid for {channels} channel(s)", at),
            PatchFault.MaskPadding => new L3FormatException($"channel {verdict.Channel}: padding bits of the zero-row mask are not zero", at),
            PatchFault.PredictorPadding => new L3FormatException($"channel {verdict.Channel}: padding bits of the predictor array are not zero", at),
            PatchFault.LengthMismatch => new L3FormatException($"dense patch has no coded row but {verdict.Value} bytes after its header", at),
            PatchFault.EndsInStates => new L3FormatException($"dense patch ends inside its {verdict.Value} coder states", at),
            PatchFault.OddStream => new L3FormatException("dense patch's word stream has an odd number of bytes", at),
            _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict.Fault, "not a dense patch fault"),
        };
    }

    /// <summary>
    /// Decodes a dense patch into interleaved pixels: pixel (x, y), channel c goes to
    /// <c>dest[y * destStride + x * channels + c]</c>. <paramref name="scratch"/> holds at least
    /// <see cref="ScratchBytes"/>. Throws on any fault; pixels may have been written by then.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Decode(ReadOnlySpan<byte> patch, int width, int height, int channels, DenseTables tables,
        Span<byte> dest, int destStride, Span<byte> scratch, long fileOffset)
    {
        bool anyCoded = ValidateStructure(patch, width, height, channels, fileOffset);
        int planeSize = width * height;
        var codes = scratch[..(channels * planeSize)];
        var planes = scratch.Slice(channels * planeSize, channels * planeSize);
        int header = DenseLayout.PatchHeaderBytes(height, channels);
        int maskBytes = RowCoding.ZeroMaskBytes(height), predictorBytes = RowCoding.PredictorBytes(height);
        if (!anyCoded) codes.Clear();
        else DecodeCodes(patch, width, height, channels, tables, codes, header, fileOffset);

        for (int c = 0; c < channels; c++)
        {
            var predictors = patch.Slice(PatchLayout.FlagsSize + c * (maskBytes + predictorBytes) + maskBytes, predictorBytes);
            ReconstructPlane(codes.Slice(c * planeSize, planeSize), predictors, width, height, planes.Slice(c * planeSize, planeSize));
        }
        bool transformed = PatchLayout.HasColorTransform(patch[PatchLayout.FlagsOffset]);
        for (int y = 0; y < height; y++)
        {
            var row = dest.Slice(y * destStride, width * channels);
            for (int x = 0, p = y * width; x < width; x++, p++)
            {
                for (int c = 0; c < channels; c++) row[x * channels + c] = planes[c * planeSize + p];
                if (transformed)
                {
                    int g = row[x * channels + PatchLayout.Green];
                    row[x * channels + PatchLayout.Red] = (byte)ColorTransform.Restore(row[x * channels + PatchLayout.Red], g);
                    row[x * channels + PatchLayout.Blue] = (byte)ColorTransform.Restore(row[x * channels + PatchLayout.Blue], g);
                }
            }
        }
    }

    /// <summary>Scratch bytes <see cref="Decode"/> needs for a patch of up to N × N pixels.</summary>
    public static int ScratchBytes(int patchSize, int channels) => 2 * patchSize * patchSize * channels;

    /// <summary>The codes of every channel block (block c's row r at [(c·h + r)·w]), by the steps of 6.5.
    /// Pointers in the inner loops: the structure was checked, every table index is in range by
    /// construction (a context below 16, a slot below M, a token below 32), and every word read is
    /// checked against the stream's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DecodeCodes(ReadOnlySpan<byte> patch, int width, int height, int channels, DenseTables tables,
        Span<byte> codes, int header, long fileOffset)
    {
        int lanes = DenseLayout.Lanes(width);
        uint* states = stackalloc uint[lanes];
        int* tokens = stackalloc int[lanes];
        byte* contexts = stackalloc byte[width];
        int wordsAt = header + lanes * DenseLayout.StateBytes;
        int wordCount = (patch.Length - wordsAt) / DenseLayout.WordBytes, next = 0;
        int maskBytes = RowCoding.ZeroMaskBytes(height), predictorBytes = RowCoding.PredictorBytes(height);
        fixed (byte* p = patch)
        fixed (byte* slotTokens = tables.SlotTokens)
        fixed (uint* frequencyCumulative = tables.FrequencyCumulative)
        fixed (byte* allCodes = codes)
        {
            for (int l = 0; l < lanes; l++) states[l] = Unsafe.ReadUnaligned<uint>(p + header + l * DenseLayout.StateBytes);
            ushort* words = (ushort*)(p + wordsAt); // read unaligned, little-endian (x64, arm64)
            // row by row, and in each row the channel blocks in order (docs/FORMAT.md, 6.5)
            for (int r = 0; r < height; r++)
                for (int c = 0; c < channels; c++)
                {
                    byte* mask = p + PatchLayout.FlagsSize + c * (maskBytes + predictorBytes);
                    byte* slotsOfBlock = slotTokens + DenseLayout.TableIndex(c, 0) * DenseLayout.ProbabilityTotal;
                    uint* entriesOfBlock = frequencyCumulative + DenseLayout.TableIndex(c, 0) * DenseTables.TokenStride;
                    byte* row = allCodes + (c * height + r) * width;
                    if (RowCoding.IsZeroRow(mask[r >> 3], r)) { new Span<byte>(row, width).Clear(); continue; }
                    if (r == 0) new Span<byte>(contexts, width).Fill(DenseLayout.FirstRowContext);
                    else
                    {
                        byte* above = row - width;
                        for (int x = 0; x < width; x++)
                            contexts[x] = (byte)DenseCoding.ContextOfSum(above[x > 0 ? x - 1 : 0] + 2 * above[x] + above[x + 1 < width ? x + 1 : x]);
                    }
                    for (int s = 0; s < DenseLayout.LaneColumns; s++)
                    {
                        // lanes whose column x = 8l + s lies in the row: those below `active`
                        int active = Math.Min(lanes, (width - s + DenseLayout.LaneColumns - 1) / DenseLayout.LaneColumns);
                        for (int l = 0; l < active; l++)
                        {
                            int context = contexts[l * DenseLayout.LaneColumns + s];
                            uint state = states[l];
                            int slot = DenseCoding.Slot(state);
                            int token = slotsOfBlock[context * DenseLayout.ProbabilityTotal + slot];
                            if (token == DenseTables.NoToken)
                                throw new L3FormatException($"dense patch, channel {c} row {r}: a symbol of context {context}, whose table is unused", fileOffset);
                            uint entry = entriesOfBlock[context * DenseTables.TokenStride + token];
                            states[l] = DenseCoding.AfterToken(state, slot, (int)(entry & 0xFFFF), (int)(entry >> 16));
                            tokens[l] = token;
                        }
                        for (int l = 0; l < active; l++)
                            if (DenseCoding.NeedsWord(states[l]))
                            {
                                if (next >= wordCount) throw StreamEndsEarly(patch.Length, fileOffset);
                                states[l] = DenseCoding.WithWord(states[l], Unsafe.ReadUnaligned<ushort>(words + next++));
                            }
                        for (int l = 0; l < active; l++)
                        {
                            int token = tokens[l];
                            int rawBits = DenseCoding.RawBitCount(token);
                            uint state = states[l];
                            states[l] = DenseCoding.AfterRaw(state, rawBits);
                            row[l * DenseLayout.LaneColumns + s] = (byte)DenseCoding.CodeOf(token, DenseCoding.RawBits(state, rawBits));
                        }
                        for (int l = 0; l < active; l++)
                            if (DenseCoding.NeedsWord(states[l]))
                            {
                                if (next >= wordCount) throw StreamEndsEarly(patch.Length, fileOffset);
                                states[l] = DenseCoding.WithWord(states[l], Unsafe.ReadUnaligned<ushort>(words + next++));
                            }
                    }
                }
            for (int l = 0; l < lanes; l++)
                if (states[l] != DenseLayout.StateLow)
                    throw new L3FormatException($"dense patch's coder state {l} ends at {states[l]}, not {DenseLayout.StateLow}: the stream is corrupt", fileOffset + header + l * DenseLayout.StateBytes);
        }
        if (next != wordCount)
            throw new L3FormatException($"dense patch's stream has {wordCount - next} unread words", fileOffset + wordsAt + next * DenseLayout.WordBytes);
    }

    private static L3FormatException StreamEndsEarly(int patchLength, long fileOffset) =>
        new("dense patch's word stream ends early", fileOffset + patchLength);

    /// <summary>Rebuilds a plane from its codes and its rows' predictors (docs/FORMAT.md, section 3).</summary>
    private static void ReconstructPlane(ReadOnlySpan<byte> codes, ReadOnlySpan<byte> predictors, int width, int height, Span<byte> plane)
    {
        for (int y = 0; y < height; y++)
        {
            int predictor = RowCoding.PredictorOf(predictors[y >> 2], y);
            int running = 0;
            int topFirst = y == 0 ? 0 : plane[(y - 1) * width];
            for (int x = 0; x < width; x++)
            {
                int top = y == 0 ? 0 : plane[(y - 1) * width + x];
                int topRight = y == 0 ? 0 : plane[(y - 1) * width + Math.Min(x + 1, width - 1)];
                running = RowCoding.Accumulate(predictor, running, RowCoding.Unzigzag(codes[y * width + x]));
                plane[y * width + x] = (byte)RowCoding.Reconstruct(RowCoding.Base(predictor, top, topRight, topFirst), running);
            }
        }
    }
}
