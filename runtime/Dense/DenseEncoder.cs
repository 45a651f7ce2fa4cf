using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using L3.Cpu;
using L3.Kernels;

namespace L3.Dense;

/// <summary>
/// The encoder of coding mode 1 (docs/FORMAT.md, section 6), in two passes: every patch's planes are
/// row-coded as in mode 0 (predictor and colour transform chosen by <see cref="EncoderPolicy.DenseRowCost"/>,
/// all four predictors of a row at once in vectors: <see cref="SimdPatchEncoder.CodeDense"/>) and their
/// tokens counted per table; then the tables are built from the counts and every patch's codes are
/// rANS-coded with them. Only the codes are kept between the passes: each row's entries (symbol, raw
/// bits, in step order) are made again in the second (<see cref="DenseStepRows"/>). On the Vector512
/// path two patches are coded at once, 8 lanes a step each (<see cref="StepAvx512"/>); on Vector256 the
/// 8 lanes of a step at once (<see cref="EncodeRowVector"/>), else lane by lane
/// (<see cref="EncodeRowScalar"/>): the same steps on the same data, so the same bytes.
/// </summary>
internal static unsafe class DenseEncoder
{
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels, L3EncodeOptions options)
    {
        int n = options.PatchSize;
        int patchesX = FileLayout.PatchesAlong(width, n), patchesY = FileLayout.PatchesAlong(height, n);
        int stride = width * channels;
        var path = CpuPaths.Resolve(options.Path);
        // the vector kernels of the first pass: AVX-512 where the path has it, else 16-byte vectors
        // (Vector128 runs everywhere, in software where the CPU lacks it)
        var kernel = path == CpuPath.Vector512 ? CpuPath.Vector512 : CpuPath.Vector128;
        bool vectorEntries = path == CpuPath.Vector512 && DenseStepRows.IsVector512Supported;
        bool vectorCoder = path is CpuPath.Vector256 or CpuPath.Vector512 && Avx2.IsSupported;
        int headerStride = DenseLayout.PatchHeaderBytes(n, channels);
        var headers = new byte[patchesX * patchesY * headerStride];
        var anyCoded = new bool[patchesX * patchesY];
        // patch (px, py)'s codes at CodesAt: the image's bytes, patch by patch; 64 bytes of slack, as
        // a row's codes are read 64 at a time
        var codes = GC.AllocateUninitializedArray<byte>(pixels.Length + 64);
        // what the AVX-512 entries need of a patch's width: every patch is N wide but the last of a row
        int lastWidth = width - (patchesX - 1) * n;
        var shape = vectorEntries ? new DenseStepRows.Shape(n) : default;
        var lastShape = vectorEntries ? new DenseStepRows.Shape(lastWidth) : default;
        var rowCounts = new uint[patchesY][];
        int slots = channels * DenseStepRows.SlotsPerChannel;
        ForEachPatchRow(pixels, patchesY, options.MaxDegreeOfParallelism, (source, py) =>
        {
            var coder = SimdPatchEncoder.ForThread(n, channels, kernel);
            var copies = t_countCopies ??= new uint[CountedCopies * 4 * DenseStepRows.SlotsPerChannel];
            Array.Clear(copies, 0, CountedCopies * slots);
            int y = py * n, h = Math.Min(n, height - y);
            for (int px = 0; px < patchesX; px++)
            {
                int x = px * n, w = Math.Min(n, width - x), index = py * patchesX + px;
                var header = headers.AsSpan(index * headerStride, headerStride);
                var patchCodes = codes.AsSpan(CodesAt(px, py, n, width, h, channels), channels * w * h + 64);
                anyCoded[index] = coder.CodeDense(source[(y * stride + x * channels)..], stride, w, h, header, patchCodes);
                if (anyCoded[index])
                    CountTokens(header, patchCodes, w, h, channels, copies, vectorEntries, px == patchesX - 1 ? lastShape : shape);
            }
            var counts = rowCounts[py] = new uint[DenseLayout.TableCount(channels) * DenseLayout.TokenCount];
            for (int c = 0; c < channels; c++)
                for (int symbol = 0; symbol < DenseLayout.ContextsPerChannel * DenseLayout.TokenCount; symbol++)
                {
                    uint sum = 0;
                    for (int copy = 0; copy < CountedCopies; copy++) sum += copies[(c * DenseStepRows.SlotsPerChannel + symbol) * CountedCopies + copy];
                    counts[DenseLayout.TableIndex(c, 0) * DenseLayout.TokenCount + symbol] = sum;
                }
        });
        var totals = new long[DenseLayout.TableCount(channels) * DenseLayout.TokenCount];
        foreach (var counts in rowCounts)
            for (int i = 0; i < totals.Length; i++) totals[i] += counts[i];
        var tableBytes = DenseTables.Write(totals, channels);
        // the encoder codes with the tables as a decoder reads them back: one construction of the
        // frequencies and cumulative frequencies
        var symbols = SymbolsOf(DenseTables.Read(tableBytes, channels, 0));

        var patches = new ArraySegment<byte>[patchesX * patchesY];
        ForEachPatchRow(pixels, patchesY, options.MaxDegreeOfParallelism, (_, py) =>
        {
            // a symbol writes at most one word for its token and one for its raw bits; 16 words of slack
            var words = new ushort[2 * channels * n * n + 16];
            int y = py * n, h = Math.Min(n, height - y);
            if (vectorEntries)
            {
                // two patches at once: two independent chains of states for the core to overlap
                var otherWords = new ushort[words.Length];
                for (int px = 0; px < patchesX; px += 2)
                {
                    int a = py * patchesX + px, b = px + 1 < patchesX && anyCoded[a + 1] ? a + 1 : -1;
                    if (!anyCoded[a]) (a, b) = (b, -1);
                    if (a < 0) continue;
                    int aX = a - py * patchesX, bX = b - py * patchesX;
                    EncodePatchPairAvx512(
                        headers.AsSpan(a * headerStride, DenseLayout.PatchHeaderBytes(h, channels)), codes.AsSpan(CodesAt(aX, py, n, width, h, channels)), Math.Min(n, width - aX * n),
                        b < 0 ? default : headers.AsSpan(b * headerStride, DenseLayout.PatchHeaderBytes(h, channels)),
                        b < 0 ? default : codes.AsSpan(CodesAt(bX, py, n, width, h, channels)), b < 0 ? 0 : Math.Min(n, width - bX * n),
                        aX == patchesX - 1 ? lastShape : shape, bX == patchesX - 1 ? lastShape : shape,
                        h, channels, symbols, words, otherWords, out var bytesA, out var bytesB);
                    patches[a] = bytesA;
                    if (b >= 0) patches[b] = bytesB!;
                }
                for (int px = 0; px < patchesX; px++)
                {
                    int index = py * patchesX + px;
                    if (!anyCoded[index]) patches[index] = headers.AsSpan(index * headerStride, DenseLayout.PatchHeaderBytes(h, channels)).ToArray();
                }
                return;
            }
            for (int px = 0; px < patchesX; px++)
            {
                int index = py * patchesX + px, w = Math.Min(n, width - px * n);
                var header = headers.AsSpan(index * headerStride, DenseLayout.PatchHeaderBytes(h, channels));
                var patchCodes = codes.AsSpan(CodesAt(px, py, n, width, h, channels), channels * w * h + 64);
                patches[index] = anyCoded[index]
                    ? EncodePatch(header, patchCodes, n, w, h, channels, symbols, words, vectorCoder)
                    : header.ToArray();
            }
        });
        return L3Header.Assemble(width, height, channels, n, patches, L3CodingMode.Dense, tableBytes);
    }

    /// <summary>Copies of the counts the counting pass keeps (<see cref="CountTokens"/>): in flat
    /// parts a row's symbols are mostly one, and each increment of one count waits for the one before.</summary>
    private const int CountedCopies = 16;

    /// <summary>This thread's copies of the counts (<see cref="CountTokens"/>), for up to 4 channels.</summary>
    [ThreadStatic] private static uint[]? t_countCopies;

    /// <summary>Where patch (px, py)'s codes (channels × w × h) lie in the codes array: its patch row's
    /// rows above it, then the patches to its left.</summary>
    private static int CodesAt(int px, int py, int n, int width, int h, int channels) => (py * n * width + px * n * h) * channels;

    private delegate void PatchRowAction(ReadOnlySpan<byte> pixels, int py);

    private static void ForEachPatchRow(ReadOnlySpan<byte> pixels, int patchesY, int maxDegreeOfParallelism, PatchRowAction action)
    {
        if (maxDegreeOfParallelism <= 1)
        {
            for (int py = 0; py < patchesY; py++) action(pixels, py);
            return;
        }
        // a span cannot cross into the worker lambdas: pin the pixels and pass the address
        fixed (byte* p = pixels)
        {
            nint address = (nint)p;
            int length = pixels.Length;
            Parallel.For(0, patchesY, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism },
                py => action(new ReadOnlySpan<byte>((byte*)address, length), py));
        }
    }

    private static bool IsZeroRow(ReadOnlySpan<byte> header, int h, int c, int r)
    {
        int mask = PatchLayout.FlagsSize + c * (RowCoding.ZeroMaskBytes(h) + RowCoding.PredictorBytes(h));
        return RowCoding.IsZeroRow(header[mask + (r >> 3)], r);
    }

    /// <summary>Row r of block c's entries (<see cref="DenseStepRows"/>) at <paramref name="entries"/> (64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowEntries(byte* blockCodes, int w, int r, bool vector, in DenseStepRows.Shape shape, uint* entries)
    {
        byte* row = blockCodes + r * w;
        byte* above = r == 0 ? null : row - w; // a zero row above holds codes 0
        if (vector) DenseStepRows.Vector512Row(row, above, shape, entries);
        else DenseStepRows.Scalar(row, above, w, entries);
    }

    /// <summary>Adds a patch's tokens to the counts of their tables: symbol s of channel block c
    /// in slots (c·512 + s)·4 + k, entry i of a row in copy k = i mod <see cref="CountedCopies"/>
    /// (entries without a column to the trash symbol's slots).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CountTokens(ReadOnlySpan<byte> header, ReadOnlySpan<byte> codes, int w, int h, int channels, uint[] counts, bool vector,
        in DenseStepRows.Shape shape)
    {
        uint* entries = stackalloc uint[DenseStepRows.Entries];
        ushort* slots = stackalloc ushort[DenseStepRows.Entries];
        fixed (byte* allCodes = codes)
        fixed (uint* allCounts = counts)
            for (int c = 0; c < channels; c++)
            {
                uint* block = allCounts + c * DenseStepRows.SlotsPerChannel * CountedCopies;
                byte* blockCodes = allCodes + c * h * w;
                for (int r = 0; r < h; r++)
                {
                    if (IsZeroRow(header, h, c, r)) continue;
                    byte* row = blockCodes + r * w;
                    byte* above = r == 0 ? null : row - w; // a zero row above holds codes 0
                    if (vector) DenseStepRows.Vector512Symbols(row, above, shape, slots, CountedCopies);
                    else
                    {
                        DenseStepRows.Scalar(row, above, w, entries);
                        for (int i = 0; i < DenseStepRows.Entries; i++) slots[i] = (ushort)((entries[i] & DenseStepRows.SymbolMask) * CountedCopies);
                    }
                    for (ushort* at = slots, end = slots + DenseStepRows.Entries; at < end; at += CountedCopies)
                    {
                        block[at[0]]++;
                        block[at[1] + 1]++;
                        block[at[2] + 2]++;
                        block[at[3] + 3]++;
                        block[at[4] + 4]++;
                        block[at[5] + 5]++;
                        block[at[6] + 6]++;
                        block[at[7] + 7]++;
                        block[at[8] + 8]++;
                        block[at[9] + 9]++;
                        block[at[10] + 10]++;
                        block[at[11] + 11]++;
                        block[at[12] + 12]++;
                        block[at[13] + 13]++;
                        block[at[14] + 14]++;
                        block[at[15] + 15]++;
                    }
                }
            }
    }

    /// <summary>
    /// What coding a symbol takes (docs/FORMAT.md, end of 6.5), per channel block
    /// (<see cref="DenseStepRows.SlotsPerChannel"/> slots each: context × 24 + token): its frequency f
    /// (low 16 bits) and cumulative frequency (high 16 bits). A lane writes a word first when
    /// x ≥ 2^22·f, i.e. x >> 22 ≥ f; then x → ⌊x/f⌋·M + x mod f + cum = x + cum + q·(M − f), q = ⌊x/f⌋.
    /// The trash slot (<see cref="DenseStepRows.TrashSymbol"/>) is f = M, cum = 0: it never writes and
    /// leaves x as it is, so lanes without a column need no mask.
    /// </summary>
    private static uint[] SymbolsOf(DenseTables tables)
    {
        var symbols = new uint[tables.Channels * DenseStepRows.SlotsPerChannel];
        for (int c = 0; c < tables.Channels; c++)
        {
            for (int context = 0; context < DenseLayout.ContextsPerChannel; context++)
                for (int token = 0; token < DenseLayout.TokenCount; token++)
                    symbols[c * DenseStepRows.SlotsPerChannel + context * DenseLayout.TokenCount + token] =
                        tables.FrequencyCumulative[DenseLayout.TableIndex(c, context) * DenseTables.TokenStride + token];
            symbols[c * DenseStepRows.SlotsPerChannel + DenseStepRows.TrashSymbol] = DenseLayout.ProbabilityTotal;
        }
        return symbols;
    }

    private const int LimitShift = 32 - DenseLayout.ProbabilityBits; // x ≥ 2^22·f

    /// <summary>
    /// rANS-codes a patch: the lanes' symbols in the reverse of the decoder's order (docs/FORMAT.md,
    /// 6.5), each step's raw bits before its tokens and the lanes from the last, so that the words,
    /// reversed at the end, come out in the order the decoder reads them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static byte[] EncodePatch(ReadOnlySpan<byte> header, ReadOnlySpan<byte> codes, int n, int w, int h, int channels,
        uint[] symbols, ushort[] wordBuffer, bool vectorCoder)
    {
        int lanes = DenseLayout.Lanes(w);
        var states = Vector256.Create(DenseLayout.StateLow);
        int count = 0;
        uint* entries = stackalloc uint[64];
        fixed (byte* allCodes = codes)
        fixed (uint* allSymbols = symbols)
        fixed (ushort* words = wordBuffer)
        fixed (int* gather = GatherIndices)
        {
            for (int r = h - 1; r >= 0; r--)
                for (int c = channels - 1; c >= 0; c--)
                {
                    if (IsZeroRow(header, h, c, r)) continue;
                    RowEntries(allCodes + c * h * w, w, r, false, default, entries);
                    uint* blockSymbols = allSymbols + c * DenseStepRows.SlotsPerChannel;
                    if (vectorCoder) (states, count) = EncodeRowVector(entries, n, w, blockSymbols, states, words, count, gather);
                    else (states, count) = EncodeRowScalar(entries, n, w, blockSymbols, states, words, count);
                }
        }
        return PatchBytes(header, lanes, states, wordBuffer, count);
    }

    /// <summary>A coded patch: its header, the lanes' final states and the words, in the reverse of
    /// the order they were written in.</summary>
    private static byte[] PatchBytes(ReadOnlySpan<byte> header, int lanes, Vector256<uint> states, ushort[] wordBuffer, int count)
    {
        int headerLength = header.Length;
        var bytes = new byte[headerLength + lanes * DenseLayout.StateBytes + count * DenseLayout.WordBytes];
        header.CopyTo(bytes);
        for (int l = 0; l < lanes; l++)
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(headerLength + l * DenseLayout.StateBytes), states.GetElement(l));
        int at = headerLength + lanes * DenseLayout.StateBytes;
        if (BitConverter.IsLittleEndian)
        {
            var stream = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan(at));
            wordBuffer.AsSpan(0, count).CopyTo(stream);
            stream.Reverse();
        }
        else
            for (int i = count - 1; i >= 0; i--, at += DenseLayout.WordBytes)
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), wordBuffer[i]);
        return bytes;
    }

    /// <summary>The coded rows of a patch in the order the coder takes them (the reverse of the
    /// decoder's): block c's row r as r·C + c, from the last row and block; returns how many.</summary>
    private static int CodedRows(ReadOnlySpan<byte> header, int h, int channels, int* rows)
    {
        int count = 0;
        for (int r = h - 1; r >= 0; r--)
            for (int c = channels - 1; c >= 0; c--)
                if (!IsZeroRow(header, h, c, r)) rows[count++] = r * channels + c;
        return count;
    }

    /// <summary>
    /// The AVX-512 path of <see cref="EncodePatch"/>, two patches (A and B, of the same patch row) at
    /// once: the k-th coded row of each in one loop over the steps, as two independent chains of
    /// states. B may be absent (<paramref name="widthB"/> = 0); the patch with more coded rows ends alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EncodePatchPairAvx512(ReadOnlySpan<byte> headerA, ReadOnlySpan<byte> codesA, int widthA,
        ReadOnlySpan<byte> headerB, ReadOnlySpan<byte> codesB, int widthB, in DenseStepRows.Shape shapeA, in DenseStepRows.Shape shapeB, int h, int channels,
        uint[] symbols, ushort[] wordsA, ushort[] wordsB, out byte[] bytesA, out byte[] bytesB)
    {
        int* rowsA = stackalloc int[4 * 64], rowsB = stackalloc int[4 * 64];
        int countA = CodedRows(headerA, h, channels, rowsA), countB = widthB == 0 ? 0 : CodedRows(headerB, h, channels, rowsB);
        uint* entriesA = stackalloc uint[64], entriesB = stackalloc uint[64];
        var statesA = Vector256.Create(DenseLayout.StateLow);
        var statesB = statesA;
        int writtenA = 0, writtenB = 0;
        fixed (byte* allCodesA = codesA)
        fixed (byte* allCodesB = codesB)
        fixed (uint* allSymbols = symbols)
        fixed (ushort* outA = wordsA)
        fixed (ushort* outB = wordsB)
        {
            int both = Math.Min(countA, countB);
            for (int k = 0; k < Math.Max(countA, countB); k++)
            {
                if (k < both)
                {
                    int rowA = rowsA[k], rowB = rowsB[k];
                    int cA = rowA % channels, rA = rowA / channels, cB = rowB % channels, rB = rowB / channels;
                    RowEntries(allCodesA + cA * h * widthA, widthA, rA, true, shapeA, entriesA);
                    RowEntries(allCodesB + cB * h * widthB, widthB, rB, true, shapeB, entriesB);
                    uint* symbolsA = allSymbols + cA * DenseStepRows.SlotsPerChannel;
                    uint* symbolsB = allSymbols + cB * DenseStepRows.SlotsPerChannel;
                    for (int s = DenseLayout.LaneColumns - 1; s >= 0; s--)
                    {
                        StepAvx512(ref statesA, ref writtenA, outA, entriesA + s * DenseLayout.LaneColumns, symbolsA);
                        StepAvx512(ref statesB, ref writtenB, outB, entriesB + s * DenseLayout.LaneColumns, symbolsB);
                    }
                }
                else if (k < countA)
                {
                    int c = rowsA[k] % channels, r = rowsA[k] / channels;
                    RowEntries(allCodesA + c * h * widthA, widthA, r, true, shapeA, entriesA);
                    (statesA, writtenA) = EncodeRowAvx512(entriesA, allSymbols + c * DenseStepRows.SlotsPerChannel, statesA, outA, writtenA);
                }
                else
                {
                    int c = rowsB[k] % channels, r = rowsB[k] / channels;
                    RowEntries(allCodesB + c * h * widthB, widthB, r, true, shapeB, entriesB);
                    (statesB, writtenB) = EncodeRowAvx512(entriesB, allSymbols + c * DenseStepRows.SlotsPerChannel, statesB, outB, writtenB);
                }
            }
        }
        bytesA = PatchBytes(headerA, DenseLayout.Lanes(widthA), ReverseLanes(statesA), wordsA, writtenA);
        bytesB = widthB == 0 ? [] : PatchBytes(headerB, DenseLayout.Lanes(widthB), ReverseLanes(statesB), wordsB, writtenB);
    }


    /// <summary>One row of a block, lane by lane: without branches (whether a word is written is data,
    /// not a pattern), the word is stored in any case and kept by advancing the count; a code without
    /// raw bits codes 0 bits, which never writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<uint>, int) EncodeRowScalar(uint* stepRow, int n, int w, uint* blockSymbols, Vector256<uint> stateVector,
        ushort* words, int count)
    {
        uint* states = stackalloc uint[DenseLayout.LaneColumns];
        stateVector.Store(states);
        for (int s = DenseLayout.LaneColumns - 1; s >= 0; s--)
        {
            // lanes whose column 8l + s lies in the row: those below `active`
            int active = Math.Min(DenseLayout.Lanes(w), (w - s + DenseLayout.LaneColumns - 1) / DenseLayout.LaneColumns);
            uint* step = stepRow + s * DenseLayout.LaneColumns;
            for (int l = active - 1; l >= 0; l--)
            {
                uint packed = step[l];
                int rawBits = (int)(packed >> 9) & 7;
                uint state = states[l];
                int write = (ulong)state >> (32 - rawBits) != 0 ? 1 : 0;
                words[count] = (ushort)state;
                count += write;
                state >>= write * DenseLayout.WordBits;
                states[l] = DenseCoding.EncodeRaw(state, (int)(packed >> 16) & ((1 << rawBits) - 1), rawBits);
            }
            for (int l = active - 1; l >= 0; l--)
            {
                uint symbol = blockSymbols[step[l] & 0x1FF];
                uint frequency = symbol & 0xFFFF, state = states[l];
                int write = state >> LimitShift >= frequency ? 1 : 0;
                words[count] = (ushort)state;
                count += write;
                state >>= write * DenseLayout.WordBits;
                uint quotient = (uint)((double)state / frequency);
                states[l] = state + (symbol >> 16) + quotient * (DenseLayout.ProbabilityTotal - frequency);
            }
        }
        return (Vector256.Load(states), count);
    }

    /// <summary>One row of a block, the 8 lanes of a step at once (AVX2): the same steps as
    /// <see cref="EncodeRowScalar"/>; the words of the lanes that write, from the last lane down, by one
    /// permute (<see cref="GatherIndices"/>) and one store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<uint>, int) EncodeRowVector(uint* stepRow, int n, int w, uint* blockSymbols, Vector256<uint> states,
        ushort* words, int count, int* gather)
    {
        int lanes = n / DenseLayout.LaneColumns;
        var laneColumns = Vector256.Create(0u, 8, 16, 24, 32, 40, 48, 56);
        var laneIndices = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        for (int s = DenseLayout.LaneColumns - 1; s >= 0; s--)
        {
            var on = Vector256.LessThan(laneColumns + Vector256.Create((uint)s), Vector256.Create((uint)w))
                & Vector256.LessThan(laneIndices, Vector256.Create((uint)lanes));
            var packed = Vector256.Load(stepRow + s * DenseLayout.LaneColumns) & on; // inactive lanes: symbol 0, no raw bits
            // raw bits
            var rawBits = (packed >> 9) & Vector256.Create(7u);
            var write = Vector256.Equals(Avx2.ShiftRightLogicalVariable(states, Vector256.Create(32u) - rawBits), Vector256<uint>.Zero)
                ^ Vector256<uint>.AllBitsSet;
            count = Append(states, write, words, count, gather);
            states = Vector256.ConditionalSelect(write, states >> DenseLayout.WordBits, states);
            var raw = Avx2.AndNot(Avx2.ShiftLeftLogicalVariable(Vector256<uint>.AllBitsSet, rawBits), packed >> 16);
            states = Avx2.ShiftLeftLogicalVariable(states, rawBits) | raw;
            // tokens
            var symbol = Avx2.GatherVector256(blockSymbols, (packed & Vector256.Create(0x1FFu)).AsInt32(), sizeof(uint));
            var frequency = symbol & Vector256.Create(0xFFFFu);
            write = Vector256.GreaterThanOrEqual(states >> LimitShift, frequency) & on;
            count = Append(states, write, words, count, gather);
            states = Vector256.ConditionalSelect(write, states >> DenseLayout.WordBits, states);
            var quotient = Quotient(states, frequency);
            var coded = states + (symbol >> 16) + quotient * (Vector256.Create((uint)DenseLayout.ProbabilityTotal) - frequency);
            states = Vector256.ConditionalSelect(on, coded, states);
        }
        return (states, count);
    }

    /// <summary>One row of a block on the AVX-512 path (<see cref="StepAvx512"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<uint>, int) EncodeRowAvx512(uint* stepRow, uint* blockSymbols, Vector256<uint> states,
        ushort* words, int count)
    {
        for (int s = DenseLayout.LaneColumns - 1; s >= 0; s--)
            StepAvx512(ref states, ref count, words, stepRow + s * DenseLayout.LaneColumns, blockSymbols);
        return (states, count);
    }

    /// <summary>
    /// One step of the lanes on the AVX-512 path: the step of <see cref="EncodeRowVector"/>, with a
    /// raw-bit write found by comparing with a limit and the quotient by a multiplication with 1/f
    /// (<see cref="QuotientAvx512"/>): limit and division depend on the entries only and so run ahead
    /// of the chain of states. The lanes are held in reverse (lane 7 first, <see cref="ReverseLanes"/>),
    /// so that the step's words, raw bits' then tokens', each from lane 7 down, are one compress of
    /// the two states they come from.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StepAvx512(ref Vector256<uint> states, ref int count, ushort* words, uint* step, uint* blockSymbols)
    {
        var packed = ReverseLanes(Vector256.Load(step));
        var symbol = Avx2.GatherVector256(blockSymbols, (packed & Vector256.Create(DenseStepRows.SymbolMask)).AsInt32(), sizeof(uint));
        var frequency = symbol & Vector256.Create(0xFFFFu);
        var reciprocal = Vector512.Create(1.0) / Avx512F.ConvertToVector512Double(frequency);
        // raw bits: a word first when x ≥ 2^(32−bits), i.e. x > 2^32−1 >> bits (never for 0 bits)
        var rawBits = (packed >> 9) & Vector256.Create(7u);
        var beforeRaw = states;
        var rawWrite = Vector256.GreaterThan(states, Avx2.ShiftRightLogicalVariable(Vector256<uint>.AllBitsSet, rawBits));
        states = Vector256.ConditionalSelect(rawWrite, states >> DenseLayout.WordBits, states);
        states = Avx2.ShiftLeftLogicalVariable(states, rawBits) | (packed >> 16);
        // tokens
        var beforeToken = states;
        var tokenWrite = Vector256.GreaterThanOrEqual(states >> LimitShift, frequency);
        states = Vector256.ConditionalSelect(tokenWrite, states >> DenseLayout.WordBits, states);
        var quotient = QuotientAvx512(states, reciprocal);
        states += (symbol >> 16) + quotient * (Vector256.Create((uint)DenseLayout.ProbabilityTotal) - frequency);
        // the words, off the chain of states: 16 words stored, the first popcount kept
        var write = Vector512.Create(rawWrite, tokenWrite);
        Avx512F.ConvertToVector256UInt16(Avx512F.Compress(Vector512<uint>.Zero, write, Vector512.Create(beforeRaw, beforeToken))).Store(words + count);
        count += BitOperations.PopCount(write.ExtractMostSignificantBits());
    }

    /// <summary>The 8 lanes in reverse order (an involution).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> ReverseLanes(Vector256<uint> lanes) =>
        Avx2.PermuteVar8x32(lanes, Vector256.Create(7u, 6, 5, 4, 3, 2, 1, 0));

    /// <summary>
    /// ⌊x / f⌋ per lane from r = 1/f (a double, correctly rounded): ⌊(x + ½)·r⌋ by one fused
    /// multiply-add, x·r + r/2. Exact: (x + ½)/f lies at least 1/(2f) ≥ 2^−11 from an integer, above
    /// ⌊x/f⌋ and below the next, and the result errs by less than 2^−20 (x + ½ &lt; 2^32, two roundings
    /// of relative error 2^−53).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> QuotientAvx512(Vector256<uint> x, Vector512<double> reciprocal) =>
        Avx512F.ConvertToVector256UInt32WithTruncation(
            Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Double(x), reciprocal, reciprocal * 0.5));

    /// <summary>⌊x / f⌋ per lane, in doubles (see <see cref="SymbolsOf"/>); f = 0 (inactive lanes) gives
    /// a value that is not used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Quotient(Vector256<uint> x, Vector256<uint> f)
    {
        var (xLow, xHigh) = Vector256.Widen(x);
        var (fLow, fHigh) = Vector256.Widen(f);
        var low = Vector256.ConvertToUInt64(Vector256.ConvertToDouble(xLow) / Vector256.ConvertToDouble(fLow));
        var high = Vector256.ConvertToUInt64(Vector256.ConvertToDouble(xHigh) / Vector256.ConvertToDouble(fHigh));
        return Vector256.Narrow(low, high);
    }

    /// <summary>Appends the low 16 bits of the lanes in <paramref name="write"/>, from lane 7 down, at
    /// words[count]; returns the new count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Append(Vector256<uint> states, Vector256<uint> write, ushort* words, int count, int* gather)
    {
        uint lanes = write.ExtractMostSignificantBits();
        var picked = Avx2.PermuteVar8x32(states, Vector256.Load(gather + lanes * 8).AsUInt32());
        // 8 words (16 bytes) stored, the first popcount kept
        Vector128.Narrow(picked.GetLower(), picked.GetUpper()).Store(words + count);
        return count + BitOperations.PopCount(lanes);
    }

    /// <summary>For each mask of lanes (8 bits): the lanes of the mask from the highest down (then 0s).</summary>
    private static readonly int[] GatherIndices = BuildGatherIndices();

    private static int[] BuildGatherIndices()
    {
        var indices = new int[256 * 8];
        for (int mask = 0; mask < 256; mask++)
            for (int lane = 7, k = 0; lane >= 0; lane--)
                if ((mask & (1 << lane)) != 0) indices[mask * 8 + k++] = lane;
        return indices;
    }
}
