using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace L3.Kernels;

/// <summary>What one dense decode launch covers: a run of dense files of one shape.</summary>
public struct GpuDenseShape
{
    public int Width, Height, Channels, PatchSize;
    public int PatchesX, PatchCount, Images;
    /// <summary>Bytes of one decoded image, and the payload's offset from a file's start.</summary>
    public int ImageBytes, PayloadStart;
}

/// <summary>
/// The GPU decoder of coding mode 1, dense (docs/FORMAT.md, section 6), for a CUDA warp of 32: one
/// segment of G = N / 8 lanes per patch, 32 / G patches side by side in a warp. Lane l is the
/// format's lane l: it holds coder state X[l] and owns columns 8l..8l+7.
/// </summary>
/// <remarks>
/// <para>Entropy part, per step of 6.5, all channels of a row one after another (the stream's
/// order): the lane's context comes from the row above's codes, which it keeps as SWAR words (the
/// three colour planes in 11-bit fields, <see cref="SwarRowCoding"/>), so one sum a column serves
/// every plane; the slot's token and the token's frequency come from the file's expanded tables (L1);
/// the lanes that must read a word find their place in the stream with one warp ballot and a
/// popcount over their segment's bits (inline PTX <c>vote.sync.ballot</c>; on other accelerators
/// the same mask by butterfly shuffles).</para>
/// <para>Rebuild and output are mode 0's (<see cref="GpuDecodeKernel"/>.DecodeRow and Store): the
/// codes of the three planes sit in the fields of one word per pixel, so unzigzag, the row's prefix
/// sum, the prediction and the colour restore are one instruction stream, and each lane writes its
/// 8 × C bytes interleaved, as 8-byte stores when aligned and whole.</para>
/// <para>Every loop runs the same count on every lane of the warp (rows up to N, 8 steps, C planes),
/// so the ballots and shuffles are warp-uniform. Bounds, whatever the stream: the host checked the
/// header, the tables and every patch's structure (DenseFileDecoder.Validate) before the launch; in
/// the kernel a word past the patch's stream is not read (the image is marked bad in
/// <c>errors</c>), a slot of an unused table is marked bad and decodes token 0, and at the end a
/// state other than L or a word left over marks it bad too. Writes stay inside the patch's
/// rectangle of its image.</para>
/// </remarks>
public static partial class GpuDenseDecodeKernel
{
    public const int ThreadsPerGroup = 128;

    /// <summary>Groups of <see cref="ThreadsPerGroup"/> to launch for <paramref name="patches"/> patches.</summary>
    public static int GroupsFor(long patches, int patchSize)
    {
        int perWarp = 32 / (patchSize / DenseLayout.LaneColumns);
        long warps = (patches + perWarp - 1) / perWarp;
        return (int)((warps + ThreadsPerGroup / 32 - 1) / (ThreadsPerGroup / 32));
    }

    /// <summary>
    /// The kernel, with N and the channel count fixed per launch (<see cref="SpecializedValue{T}"/>).
    /// <paramref name="data"/>: the files, file i at byte <paramref name="fileStarts"/>[i];
    /// <paramref name="slotTokens"/>: each file's tables' slot → token maps, M bytes a table (an
    /// unused table's slots hold <see cref="NoTokenEntry"/>), file i's at i × tables × M;
    /// <paramref name="tokenEntries"/>: each table's tokens as <see cref="PackEntry"/> makes them, 32 a
    /// table, file i's at i × tables × 32;
    /// <paramref name="outLongs"/> and <paramref name="output"/>: the same 8-byte-aligned buffer, the
    /// images back to back, interleaved (at most 2^31 bytes); <paramref name="errors"/>[i] is set to
    /// 1 when file i's stream is found corrupt.
    /// </summary>
    public static void DenseDecode(
        ArrayView<byte> data,
        ArrayView<long> fileStarts,
        ArrayView<byte> slotTokens,
        ArrayView<uint> tokenEntries,
        ArrayView<ulong> outLongs,
        ArrayView<byte> output,
        ArrayView<int> errors,
        GpuDenseShape shape,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue)
    {
        int n = patchSizeValue.Value, channels = channelsValue.Value;
        int lanes = n / DenseLayout.LaneColumns;
        int lane = Warp.LaneIdx;
        long globalWarp = (long)Grid.IdxX * (Group.DimX / 32) + Warp.WarpIdx;
        int segment = lane / lanes;
        var where = PatchSlot.Locate(globalWarp * (32 / lanes) + segment, shape.Images, shape.PatchCount, shape.PatchesX,
            shape.Width, shape.Height, n);
        int image = where.Image;

        long file = fileStarts[image];
        long table = file + FileLayout.TableEntryOffset(where.Index);
        int start = ReadU32(data, table), end = ReadU32(data, table + FileLayout.TableEntrySize);
        long tablesOfImage = (long)image * DenseLayout.TableCount(channels);
        int patchOut = image * shape.ImageBytes + (where.Py * n * shape.Width + where.Px * n) * channels;
        bool bad = DecodePatch(data, file + shape.PayloadStart + start, end - start, where.Width, where.Height, channels, n,
            where.Active, slotTokens, tablesOfImage * DenseLayout.ProbabilityTotal, tokenEntries,
            tablesOfImage * EntriesPerTable, outLongs, output, patchOut, shape.Width * channels);
        if (bad) errors[image] = 1;
    }

    /// <summary>Entries per table of the frequency/cumulative array (tokens, padded to 32: DenseTables.TokenStride).</summary>
    public const int EntriesPerTable = 32;

    /// <summary>
    /// The per-patch body, called by the G = <paramref name="n"/> / 8 lanes of a segment together
    /// (every lane of the warp must call it, <paramref name="live"/> false for a slot without a
    /// patch). The patch of <paramref name="length"/> bytes at <paramref name="patchAt"/>,
    /// <paramref name="width"/> × <paramref name="height"/> pixels, its file's tables at
    /// <paramref name="tokensBase"/> and <paramref name="entriesBase"/> (as <see cref="DenseDecode"/> takes them),
    /// is written interleaved: pixel (x, y), channel c at byte <paramref name="patchOut"/> + y ×
    /// <paramref name="rowStride"/> + x × channels + c of <paramref name="output"/>
    /// (<paramref name="outLongs"/> the same memory). Returns whether the stream is corrupt.
    /// </summary>
    internal static bool DecodePatch(
        ArrayView<byte> data, long patchAt, int length, int width, int height, int channels, int n, bool live,
        ArrayView<byte> slotTokens, long tokensBase, ArrayView<uint> tokenEntries, long entriesBase,
        ArrayView<ulong> outLongs, ArrayView<byte> output, int patchOut, int rowStride)
    {
        int lanes = n / DenseLayout.LaneColumns;
        int lane = Warp.LaneIdx;
        int inSegment = lane % lanes;
        var patch = new PatchLane { G = inSegment, Lanes = lanes, SegFirst = lane - inSegment };
        int w = width, h = live ? height : 0;
        int valid = Max(0, Min(DenseLayout.LaneColumns, w - inSegment * DenseLayout.LaneColumns));
        bool lastLane = (inSegment + 1) * DenseLayout.LaneColumns >= w;
        int maskBytes = RowCoding.ZeroMaskBytes(h), predictorBytes = RowCoding.PredictorBytes(h);
        int header = PatchLayout.FlagsSize + channels * (maskBytes + predictorBytes);
        bool anyCoded = live && length > header;
        int stateLanes = DenseLayout.Lanes(w);
        var coder = new Coder
        {
            State = anyCoded && valid > 0 ? (uint)ReadU32(data, patchAt + header + inSegment * DenseLayout.StateBytes) : DenseLayout.StateLow,
            WordsAt = patchAt + header + stateLanes * DenseLayout.StateBytes,
            WordCount = anyCoded ? (length - header - stateLanes * DenseLayout.StateBytes) / DenseLayout.WordBytes : 0,
            SegmentShift = patch.SegFirst,
            SegmentBits = (1u << lanes) - 1,
            Before = (1u << inSegment) - 1,
            Tokens = slotTokens.SubView(tokensBase, DenseLayout.TableCount(channels) * DenseLayout.ProbabilityTotal),
            Entries = tokenEntries.SubView(entriesBase, DenseLayout.TableCount(channels) * EntriesPerTable),
        };
        // a state below L (only a crafted file starts one there) breaks the fast step's premise:
        // such a warp takes the format's steps one by one
        coder.Exact = Ballot(coder.State < DenseLayout.StateLow) != 0;
        uint transform = live && channels >= 3 && PatchLayout.HasColorTransform(data[patchAt + PatchLayout.FlagsOffset])
            ? SwarRowCoding.RestorePlanes : 0u;
        long blocks = patchAt + PatchLayout.FlagsSize;

        // the row above: codes (contexts) and pixels (prediction), SWAR words; alpha apart
        Row8 aboveCodes = default, abovePixels = default, aboveAlphaCodes = default, aboveAlphaPixels = default;
        int rowOut = patchOut + inSegment * DenseLayout.LaneColumns * channels;
        for (int r = 0; r < n; r++)
        {
            bool rowLive = r < h;
            // the context sums of every plane at once (fields ≤ 4 × 255: no carry between them)
            Row8 sums = ContextSums(aboveCodes, patch, lastLane);
            // the planes one after another (the stream's order), written out so that each field's shift is a constant
            var rows = new RowPlanes
            {
                Data = data, Blocks = blocks, BlockBytes = maskBytes + predictorBytes, MaskBytes = maskBytes, Row = r, Live = rowLive,
                AnyCoded = anyCoded,
            };
            var codes = default(Row8);
            uint predictors = DecodePlane(ref coder, ref codes, sums, rows, 0, 0, valid);
            if (channels > 1) predictors |= DecodePlane(ref coder, ref codes, sums, rows, 1, 1, valid);
            if (channels > 2) predictors |= DecodePlane(ref coder, ref codes, sums, rows, 2, 2, valid);
            codes = FillPastValid(codes, valid);
            var pixels = GpuDecodeKernel.DecodeRow(abovePixels, codes, SwarRowCoding.Masks(predictors), patch, valid, lastLane);
            aboveCodes = codes;
            abovePixels = pixels;

            if (channels > 3)
            {
                Row8 alphaSums = ContextSums(aboveAlphaCodes, patch, lastLane);
                var alphaCodes = default(Row8);
                uint predictor = DecodePlane(ref coder, ref alphaCodes, alphaSums, rows, 3, 0, valid);
                alphaCodes = FillPastValid(alphaCodes, valid);
                aboveAlphaPixels = GpuDecodeKernel.DecodeRow(aboveAlphaPixels, alphaCodes, SwarRowCoding.Masks(predictor), patch, valid, lastLane);
                aboveAlphaCodes = alphaCodes;
            }

            if (rowLive && valid > 0)
                GpuDecodeKernel.Store(outLongs, output, rowOut, abovePixels, aboveAlphaPixels, transform, channels, valid);
            rowOut += rowStride;
        }

        bool bad = coder.Bad;
        if (valid > 0 && live && coder.State != DenseLayout.StateLow) bad = true;
        if (live && inSegment == 0 && coder.Next != coder.WordCount) bad = true;
        return bad;
    }

    /// <summary>Where a patch's zero-row masks and predictor arrays are, and the row being decoded.</summary>
    private struct RowPlanes
    {
        public ArrayView<byte> Data;
        public long Blocks;
        public int BlockBytes, MaskBytes, Row;
        public bool Live, AnyCoded;
    }

    /// <summary>
    /// Channel block <paramref name="channel"/> of the row: its zero-row bit and predictor (rows past
    /// the patch are zero rows), then, for a coded row, its 8 codes into field <paramref name="field"/>
    /// of <paramref name="codes"/>. Returns the predictor in that field.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint DecodePlane(ref Coder coder, ref Row8 codes,
        Row8 sums, RowPlanes rows, int channel, int field, int valid)
    {
        int r = rows.Row;
        long block = rows.Blocks + channel * rows.BlockBytes;
        int maskByte = rows.Live ? rows.Data[block + (r >> 3)] : 0xFF;
        int predictor = rows.Live ? RowCoding.PredictorOf(rows.Data[block + rows.MaskBytes + (r >> 2)], r) : 0;
        bool coded = rows.AnyCoded && rows.Live && !RowCoding.IsZeroRow(maskByte, r);
        codes = DecodeCodes(rows.Data, ref coder, codes, sums, channel, field, r == 0, coded, valid);
        return (uint)predictor << (SwarRowCoding.FieldBits * field);
    }

    /// <summary>A lane's rANS coder and where its patch's stream and tables are.</summary>
    private struct Coder
    {
        public uint State;
        /// <summary>Words of the stream read so far by the segment; the stream's words and where they start.</summary>
        public int Next, WordCount;
        public long WordsAt;
        /// <summary>The segment's bits of a warp ballot: (ballot &gt;&gt; SegmentShift) &amp; SegmentBits;
        /// <see cref="Before"/>: the bits of the lanes before this one in the segment.</summary>
        public int SegmentShift;
        public uint SegmentBits, Before;
        /// <summary>The file's tables (<see cref="DenseDecode"/>).</summary>
        public ArrayView<byte> Tokens;
        public ArrayView<uint> Entries;
        /// <summary>Whether the warp decodes with the format's two reads a step (a state started below L).</summary>
        public bool Exact;
        public bool Bad;
    }

    /// <summary>
    /// Per column s, A[s − 1] + 2 A[s] + A[s + 1] of the row above's codes, field-wise: the left
    /// neighbour of column 0 from the lane before (its own column 0 for the segment's first lane),
    /// the right neighbour of column 7 from the lane after (its own column 7 for the lane that holds
    /// the patch's last column: codes past the width repeat the last one, so the clamp at w − 1 holds).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 ContextSums(Row8 a, PatchLane patch, bool lastLane)
    {
        uint left = Warp.Shuffle(a.X7, patch.G == 0 ? Warp.LaneIdx : Warp.LaneIdx - 1);
        uint right = Warp.Shuffle(a.X0, lastLane ? Warp.LaneIdx : Warp.LaneIdx + 1);
        if (patch.G == 0) left = a.X0;
        if (lastLane) right = a.X7;
        return new Row8
        {
            X0 = left + 2 * a.X0 + a.X1,
            X1 = a.X0 + 2 * a.X1 + a.X2,
            X2 = a.X1 + 2 * a.X2 + a.X3,
            X3 = a.X2 + 2 * a.X3 + a.X4,
            X4 = a.X3 + 2 * a.X4 + a.X5,
            X5 = a.X4 + 2 * a.X5 + a.X6,
            X6 = a.X5 + 2 * a.X6 + a.X7,
            X7 = a.X6 + 2 * a.X7 + right,
        };
    }

    /// <summary>Codes past the lane's <paramref name="valid"/> columns repeat the last one (the
    /// context's clamp at the patch's right edge).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 FillPastValid(Row8 codes, int valid)
    {
        if (valid < DenseLayout.LaneColumns)
        {
            uint last = valid <= 1 ? codes.X0 : valid == 2 ? codes.X1 : valid == 3 ? codes.X2 : valid == 4 ? codes.X3
                : valid == 5 ? codes.X4 : valid == 6 ? codes.X5 : codes.X6;
            if (valid <= 1) codes.X1 = last;
            if (valid <= 2) codes.X2 = last;
            if (valid <= 3) codes.X3 = last;
            if (valid <= 4) codes.X4 = last;
            if (valid <= 5) codes.X5 = last;
            if (valid <= 6) codes.X6 = last;
            codes.X7 = last;
        }
        return codes;
    }

    /// <summary>The 8 steps of 6.5 for channel block <paramref name="channel"/> of one row: its codes
    /// land in field <paramref name="field"/> of <paramref name="codes"/> (0 for an uncoded row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 DecodeCodes(ArrayView<byte> data, ref Coder coder,
        Row8 codes, Row8 sums, int channel, int field, bool firstRow, bool coded, int valid)
    {
        int shift = SwarRowCoding.FieldBits * field;
        codes.X0 |= (uint)Step(data, ref coder, sums.X0 >> shift, channel, firstRow, coded && valid > 0) << shift;
        codes.X1 |= (uint)Step(data, ref coder, sums.X1 >> shift, channel, firstRow, coded && valid > 1) << shift;
        codes.X2 |= (uint)Step(data, ref coder, sums.X2 >> shift, channel, firstRow, coded && valid > 2) << shift;
        codes.X3 |= (uint)Step(data, ref coder, sums.X3 >> shift, channel, firstRow, coded && valid > 3) << shift;
        codes.X4 |= (uint)Step(data, ref coder, sums.X4 >> shift, channel, firstRow, coded && valid > 4) << shift;
        codes.X5 |= (uint)Step(data, ref coder, sums.X5 >> shift, channel, firstRow, coded && valid > 5) << shift;
        codes.X6 |= (uint)Step(data, ref coder, sums.X6 >> shift, channel, firstRow, coded && valid > 6) << shift;
        codes.X7 |= (uint)Step(data, ref coder, sums.X7 >> shift, channel, firstRow, coded && valid > 7) << shift;
        return codes;
    }

    /// <summary>
    /// One step of 6.5 for every lane of the warp; an inactive lane gives code 0 and keeps its state.
    /// <paramref name="sum"/>: the context sum in the low 11 bits.
    /// </summary>
    /// <remarks>
    /// When every state is at least L at the step's start (always, unless a file starts a state below
    /// L, <see cref="Coder.Exact"/>), the state after the token is at least f·2^6 ≥ 2^6: a lane that
    /// reads a word in step 2 then holds at least 2^22 and reads none in step 4. So a lane reads at
    /// most one word a step and knows, before reading, whether it reads in step 2 or in step 4 (its
    /// state after the raw bits): two ballots place every read, and one load serves both. A token of
    /// frequency 0 (an unused table) breaks the premise but has already failed the patch.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step(ArrayView<byte> data, ref Coder coder, uint sum, int channel, bool firstRow, bool active)
    {
        int context = firstRow ? DenseLayout.FirstRowContext : DenseCoding.ContextOfSum((int)(sum & 0x7FF));
        int tableIndex = DenseLayout.TableIndex(channel, context);
        uint state = coder.State;
        uint entry = 0;
        if (active)
        {
            int slot = DenseCoding.Slot(state);
            int token = coder.Tokens[tableIndex * DenseLayout.ProbabilityTotal + slot];
            entry = coder.Entries[tableIndex * EntriesPerTable + token];
            if (FrequencyOf(entry) == 0) coder.Bad = true; // a slot of an unused table
            state = DenseCoding.AfterToken(state, slot, FrequencyOf(entry), CumulativeOf(entry));
        }
        int rawBits = RawBitsOf(entry);
        int raw;
        if (coder.Exact)
        {
            state = ReadWord(data, ref coder, state, active && DenseCoding.NeedsWord(state));
            raw = DenseCoding.RawBits(state, rawBits);
            state = DenseCoding.AfterRaw(state, rawBits);
            state = ReadWord(data, ref coder, state, active && DenseCoding.NeedsWord(state));
        }
        else
        {
            bool before = active && DenseCoding.NeedsWord(state);
            bool after = active && !before && DenseCoding.NeedsWord(DenseCoding.AfterRaw(state, rawBits));
            uint befores = (Ballot(before) >> coder.SegmentShift) & coder.SegmentBits;
            uint afters = (Ballot(after) >> coder.SegmentShift) & coder.SegmentBits;
            int word = 0;
            if (before || after)
            {
                int index = coder.Next + (before ? PopCount(befores & coder.Before) : PopCount(befores) + PopCount(afters & coder.Before));
                word = WordAt(data, ref coder, index);
            }
            if (before) state = DenseCoding.WithWord(state, word);
            raw = DenseCoding.RawBits(state, rawBits);
            state = DenseCoding.AfterRaw(state, rawBits);
            if (after) state = DenseCoding.WithWord(state, word);
            coder.Next += PopCount(befores | afters);
        }
        coder.State = state;
        return CodeBaseOf(entry) | raw;
    }

    /// <summary>
    /// The kernel's entry of token <paramref name="token"/> of a table, all a step needs in one word:
    /// frequency (bits 0–10), cumulative frequency (11–20), raw bit count (21–23) and the code of raw
    /// bits 0 (24–31), from <see cref="DenseCoding"/>'s rules; 0 for a token of frequency 0 (and for
    /// <see cref="NoTokenEntry"/>, where an unused table's slots point).
    /// </summary>
    public static uint PackEntry(int token, int frequency, int cumulative) =>
        frequency == 0 ? 0u
        : (uint)frequency | (uint)cumulative << 11 | (uint)DenseCoding.RawBitCount(token) << 21 | (uint)DenseCoding.CodeOf(token, 0) << 24;

    /// <summary>The entry (of 32 a table) that the slots of an unused table point to: frequency 0.</summary>
    public const int NoTokenEntry = EntriesPerTable - 1;

    internal static int FrequencyOf(uint entry) => (int)(entry & 0x7FF);
    internal static int CumulativeOf(uint entry) => (int)((entry >> 11) & 0x3FF);
    internal static int RawBitsOf(uint entry) => (int)((entry >> 21) & 7);
    internal static int CodeBaseOf(uint entry) => (int)(entry >> 24);

    /// <summary>Steps 2 and 4 of 6.5, one at a time: the lanes that <paramref name="needs"/> a word
    /// take the next ones of their segment's stream in lane order (a ballot's bits below theirs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadWord(ArrayView<byte> data, ref Coder coder, uint state, bool needs)
    {
        uint segment = (Ballot(needs) >> coder.SegmentShift) & coder.SegmentBits;
        if (needs) state = DenseCoding.WithWord(state, WordAt(data, ref coder, coder.Next + PopCount(segment & coder.Before)));
        coder.Next += PopCount(segment);
        return state;
    }

    /// <summary>Word <paramref name="index"/> of the patch's stream; past its end, 0 and the patch is bad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WordAt(ArrayView<byte> data, ref Coder coder, int index)
    {
        if (index >= coder.WordCount)
        {
            coder.Bad = true;
            return 0;
        }
        long at = coder.WordsAt + 2L * index;
        return data[at] | data[at + 1] << 8;
    }

    /// <summary>The warp's lanes whose <paramref name="predicate"/> holds, as bits (lane i at bit i):
    /// one <c>vote.sync.ballot</c> on a CUDA device, five butterfly shuffles elsewhere (ILGPU's CPU
    /// accelerator in the tests).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Ballot(bool predicate)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("vote.sync.ballot.b32 %0, %1, -1;", out uint mask, predicate);
            return mask;
        }
        uint bits = predicate ? 1u << Warp.LaneIdx : 0u;
        bits |= Warp.ShuffleXor(bits, 1);
        bits |= Warp.ShuffleXor(bits, 2);
        bits |= Warp.ShuffleXor(bits, 4);
        bits |= Warp.ShuffleXor(bits, 8);
        bits |= Warp.ShuffleXor(bits, 16);
        return bits;
    }

    /// <summary>Set bits: one <c>popc</c> on a CUDA device (ILGPU 1.5.3 lowers its PopCount to a
    /// dozen instructions there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PopCount(uint bits)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("popc.b32 %0, %1;", out uint count, bits);
            return (int)count;
        }
        return IntrinsicMath.BitOperations.PopCount(bits);
    }

    private static int ReadU32(ArrayView<byte> data, long at) =>
        data[at] | data[at + 1] << 8 | data[at + 2] << 16 | data[at + 3] << 24;

    private static int Min(int a, int b) => a < b ? a : b;
    private static int Max(int a, int b) => a > b ? a : b;
}
