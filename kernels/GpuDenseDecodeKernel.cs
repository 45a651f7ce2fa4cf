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
    /// <summary>Groups of <paramref name="threadsPerGroup"/> to launch for <paramref name="patches"/> patches.</summary>
    public static int GroupsFor(long patches, int patchSize, int threadsPerGroup)
    {
        int perWarp = 32 / (patchSize / DenseLayout.LaneColumns);
        long warps = (patches + perWarp - 1) / perWarp;
        int warpsPerGroup = threadsPerGroup / 32;
        return (int)((warps + warpsPerGroup - 1) / warpsPerGroup);
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
    /// (every thread of the group must call it, at its start: it fills the group's shared context tables behind a barrier; <paramref name="live"/> false for a slot without a
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
        int segFirst = lane - inSegment;
        int w = width, h = live ? height : 0;
        int valid = Max(0, Min(DenseLayout.LaneColumns, w - inSegment * DenseLayout.LaneColumns));
        int maskBytes = RowCoding.ZeroMaskBytes(h), predictorBytes = RowCoding.PredictorBytes(h);
        int header = PatchLayout.FlagsSize + channels * (maskBytes + predictorBytes);
        bool anyCoded = live && length > header;
        int stateLanes = DenseLayout.Lanes(w);
        // the patch as a view of its own: every offset below is a 32-bit int
        // (a slot without a patch reads the buffer's first bytes and its first file's tables: every
        // load of the fast step is made by every lane, inside these views, and used by active ones)
        var patch = data.SubView(live ? patchAt : 0, live ? length : 2);
        if (!live) { tokensBase = 0; entriesBase = 0; }
        // a patch with no coded row reads (and uses) nothing: its word offsets stay at its start
        int wordsAt = anyCoded ? header + stateLanes * DenseLayout.StateBytes : 0;
        uint segment = ((1u << lanes) - 1) << segFirst;
        uint below = ((1u << inSegment) - 1) << segFirst;
        var coder = new Coder
        {
            State = anyCoded && valid > 0 ? (uint)ReadU32(patch, header + inSegment * DenseLayout.StateBytes) : DenseLayout.StateLow,
        };
        int wordCount = anyCoded ? Max(0, length - wordsAt) / DenseLayout.WordBytes : 0;
        var rows = new PatchRows
        {
            WordsAt = wordsAt,
            LastWord = anyCoded ? wordCount - 1 : 0,
            Segment = segment,
            Below = below,
            BelowRotated = below << 16 | below >> 16,
            Tokens = slotTokens.SubView(tokensBase, DenseLayout.TableCount(channels) * DenseLayout.ProbabilityTotal),
            Entries = tokenEntries.SubView(entriesBase, DenseLayout.TableCount(channels) * EntriesPerTable),
            Patch = patch, MaskBytes = maskBytes, BlockBytes = maskBytes + predictorBytes, Height = h, AnyCoded = anyCoded,
            Never = h < 0 ? 1u : 0u,
            Valid = valid, LastLane = (inSegment + 1) * DenseLayout.LaneColumns >= w,
            Lane = new PatchLane { G = inSegment, Lanes = lanes, SegFirst = segFirst },
            Transform = live && channels >= 3 && PatchLayout.HasColorTransform(patch[PatchLayout.FlagsOffset])
                ? SwarRowCoding.RestorePlanes : 0u,
            RowOut = patchOut + inSegment * DenseLayout.LaneColumns * channels, RowStride = rowStride,
        };
        // a state below L (only a crafted file starts one there) breaks the fast step's premise:
        // such a warp takes the format's steps one by one (its own copy of the loop, so that the
        // fast one carries none of it)
        var pixelsAbove = SharedMemory.Allocate<uint>(DenseLayout.LaneColumns * MaxThreadsPerGroup);
        var contexts = SharedMemory.Allocate<byte>(MaxChannels * ContextTableStride);
        FillContextTables(contexts, channels);
        if (Ballot(coder.State < DenseLayout.StateLow) != 0)
            DecodeRows<ExactSteps>(ref coder, rows, channels, n, outLongs, output, pixelsAbove, contexts);
        else
            DecodeRows<FastSteps>(ref coder, rows, channels, n, outLongs, output, pixelsAbove, contexts);

        bool bad = coder.Bad != 0;
        if (valid > 0 && live && coder.State != DenseLayout.StateLow) bad = true;
        if (live && inSegment == 0 && coder.Next != wordCount) bad = true;
        return bad;
    }

    /// <summary>What the row loop needs of the patch and the lane (read only).</summary>
    private struct PatchRows
    {
        /// <summary>The patch's bytes; where its stream's words start in it, and the last word's index.</summary>
        public ArrayView<byte> Patch;
        public int WordsAt, LastWord;
        /// <summary>The segment's lanes as bits of a warp ballot, those before this lane, and those
        /// rotated by 16 (<see cref="Step{TKind}"/>).</summary>
        public uint Segment, Below, BelowRotated;
        /// <summary>The file's tables (<see cref="DenseDecode"/>).</summary>
        public ArrayView<byte> Tokens;
        public ArrayView<uint> Entries;
        public int MaskBytes, BlockBytes, Height, Valid, RowOut, RowStride;
        public bool AnyCoded, LastLane;
        /// <summary>0, from a value ptxas cannot know (<see cref="PtxStep"/>).</summary>
        public uint Never;
        public PatchLane Lane;
        public uint Transform;
    }

    /// <summary>How a step places its word reads: <see cref="FastSteps"/> or <see cref="ExactSteps"/>.</summary>
    private interface IStepKind
    {
        bool Exact { get; }
    }

    /// <summary>Every state starts at L or above: one word read at most a step, placed by two ballots.</summary>
    private struct FastSteps : IStepKind
    {
        public readonly bool Exact => false;
    }

    /// <summary>Some state starts below L: the format's steps 2 and 4 one after the other.</summary>
    private struct ExactSteps : IStepKind
    {
        public readonly bool Exact => true;
    }

    /// <summary>The rows of the patch: per row its channel blocks' codes (the stream's order), then
    /// mode 0's rebuild and store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DecodeRows<TKind>(ref Coder coder, PatchRows rows, int channels, int n,
        ArrayView<ulong> outLongs, ArrayView<byte> output, ArrayView<uint> pixelsAbove, ArrayView<byte> contexts)
        where TKind : struct, IStepKind
    {
        // the row above: codes (contexts) and pixels (prediction), SWAR words; alpha apart. The pixels
        // wait in shared memory while the next row's codes are decoded: 8 registers fewer during the
        // steps, which is what keeps them from spilling under the 64-register bound
        Row8 aboveCodes = default, abovePixels = default, aboveAlphaCodes = default, aboveAlphaPixels = default;
        Park(pixelsAbove, abovePixels);
        int rowOut = rows.RowOut;
        for (int r = 0; r < n; r++)
        {
            bool rowLive = r < rows.Height;
            // the context sums of every plane at once (fields ≤ 4 × 255: no carry between them); each
            // step puts its code in its sum's place, so the words hold the row's codes once the planes
            // are done (one set of 8 registers for both)
            Row8 codes = r == 0 ? FirstRowSums : ContextSums(aboveCodes, rows.Lane, rows.LastLane);
            // the planes one after another (the stream's order), written out so that each field's shift is a constant
            uint predictors = DecodePlane<TKind>(ref coder, ref codes, rows, contexts, r, rowLive, 0, 0);
            if (channels > 1) predictors |= DecodePlane<TKind>(ref coder, ref codes, rows, contexts, r, rowLive, 1, 1);
            if (channels > 2) predictors |= DecodePlane<TKind>(ref coder, ref codes, rows, contexts, r, rowLive, 2, 2);
            codes = FillPastValid(KeepFields(codes, channels < 3 ? channels : 3), rows.Valid);
            abovePixels = GpuDecodeKernel.DecodeRow(Unpark(pixelsAbove), codes, SwarRowCoding.Masks(predictors), rows.Lane, rows.Valid, rows.LastLane);
            Park(pixelsAbove, abovePixels);
            aboveCodes = codes;

            if (channels > 3)
            {
                Row8 alphaCodes = r == 0 ? FirstRowSums : ContextSums(aboveAlphaCodes, rows.Lane, rows.LastLane);
                uint predictor = DecodePlane<TKind>(ref coder, ref alphaCodes, rows, contexts, r, rowLive, 3, 0);
                alphaCodes = FillPastValid(KeepFields(alphaCodes, 1), rows.Valid);
                aboveAlphaPixels = GpuDecodeKernel.DecodeRow(aboveAlphaPixels, alphaCodes, SwarRowCoding.Masks(predictor), rows.Lane, rows.Valid, rows.LastLane);
                aboveAlphaCodes = alphaCodes;
            }

            if (rowLive && rows.Valid > 0)
                GpuDecodeKernel.Store(outLongs, output, rowOut, abovePixels, aboveAlphaPixels, rows.Transform, channels, rows.Valid);
            rowOut += rows.RowStride;
        }
    }

    /// <summary>Most threads a group of the dense kernels may have (the shared memory they take is sized for it).</summary>
    public const int MaxThreadsPerGroup = 512;

    /// <summary>A lane's row of pixels into shared memory (word k of thread t at k × group size + t:
    /// a warp's stores fall in distinct banks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Park(ArrayView<uint> parked, Row8 row)
    {
        int t = Group.IdxX, stride = Group.DimX;
        parked[t] = row.X0; parked[stride + t] = row.X1; parked[2 * stride + t] = row.X2; parked[3 * stride + t] = row.X3;
        parked[4 * stride + t] = row.X4; parked[5 * stride + t] = row.X5; parked[6 * stride + t] = row.X6; parked[7 * stride + t] = row.X7;
    }

    /// <summary>The row <see cref="Park"/> put away.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 Unpark(ArrayView<uint> parked)
    {
        int t = Group.IdxX, stride = Group.DimX;
        return new Row8
        {
            X0 = parked[t], X1 = parked[stride + t], X2 = parked[2 * stride + t], X3 = parked[3 * stride + t],
            X4 = parked[4 * stride + t], X5 = parked[5 * stride + t], X6 = parked[6 * stride + t], X7 = parked[7 * stride + t],
        };
    }

    /// <summary>
    /// Channel block <paramref name="channel"/> of row <paramref name="r"/>: returns its predictor
    /// (0 for rows past the patch) in field <paramref name="field"/>; each column's context sum, in
    /// that field of <paramref name="codes"/>, is replaced by its code (0 where nothing is coded: a
    /// zero row, a column past the patch).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint DecodePlane<TKind>(ref Coder coder, ref Row8 codes, PatchRows rows, ArrayView<byte> contexts, int r, bool rowLive,
        int channel, int field)
        where TKind : struct, IStepKind
    {
        int block = PatchLayout.FlagsSize + channel * rows.BlockBytes;
        int maskByte = rowLive ? rows.Patch[block + (r >> 3)] : 0xFF;
        int predictor = rowLive ? RowCoding.PredictorOf(rows.Patch[block + rows.MaskBytes + (r >> 2)], r) : 0;
        bool coded = rows.AnyCoded && rowLive && !RowCoding.IsZeroRow(maskByte, r);
        int shift = SwarRowCoding.FieldBits * field;
        // each column's table (c × 16 + k) from its context sum (the first row's sentinel included)
        int tables = channel * ContextTableStride;
        int valid = rows.Valid;
        if (CudaAsm.IsSupported && !default(TKind).Exact)
        {
            int limit = coded ? valid : 0;
            codes.X0 = WithField(codes.X0, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X0, shift), limit), shift);
            codes.X1 = WithField(codes.X1, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X1, shift), limit - 1), shift);
            codes.X2 = WithField(codes.X2, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X2, shift), limit - 2), shift);
            codes.X3 = WithField(codes.X3, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X3, shift), limit - 3), shift);
            codes.X4 = WithField(codes.X4, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X4, shift), limit - 4), shift);
            codes.X5 = WithField(codes.X5, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X5, shift), limit - 5), shift);
            codes.X6 = WithField(codes.X6, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X6, shift), limit - 6), shift);
            codes.X7 = WithField(codes.X7, PtxStep(ref coder, rows, TableOf(contexts, tables, codes.X7, shift), limit - 7), shift);
            return (uint)predictor << shift;
        }
        codes.X0 = WithField(codes.X0, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X0, shift), coded && valid > 0), shift);
        codes.X1 = WithField(codes.X1, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X1, shift), coded && valid > 1), shift);
        codes.X2 = WithField(codes.X2, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X2, shift), coded && valid > 2), shift);
        codes.X3 = WithField(codes.X3, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X3, shift), coded && valid > 3), shift);
        codes.X4 = WithField(codes.X4, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X4, shift), coded && valid > 4), shift);
        codes.X5 = WithField(codes.X5, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X5, shift), coded && valid > 5), shift);
        codes.X6 = WithField(codes.X6, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X6, shift), coded && valid > 6), shift);
        codes.X7 = WithField(codes.X7, Step<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X7, shift), coded && valid > 7), shift);
        return (uint)predictor << shift;
    }

    /// <summary>The field of <paramref name="word"/> at <paramref name="shift"/> (a context sum) replaced by <paramref name="code"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint WithField(uint word, uint code, int shift) =>
        word & ~(SwarRowCoding.FieldMask << shift) | code << shift;

    /// <summary>The words with only their first <paramref name="fields"/> fields (the planes decoded;
    /// the others still hold sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 KeepFields(Row8 row, int fields)
    {
        if (fields >= 3) return row;
        uint keep = (1u << (SwarRowCoding.FieldBits * fields)) - 1;
        return new Row8
        {
            X0 = row.X0 & keep, X1 = row.X1 & keep, X2 = row.X2 & keep, X3 = row.X3 & keep,
            X4 = row.X4 & keep, X5 = row.X5 & keep, X6 = row.X6 & keep, X7 = row.X7 & keep,
        };
    }

    /// <summary>The table of a column whose context sum is the field at <paramref name="shift"/> of
    /// <paramref name="word"/>, from its channel's context table at <paramref name="tables"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TableOf(ArrayView<byte> contexts, int tables, uint word, int shift) =>
        contexts[tables + (int)((word >> shift) & (ContextTableStride - 1))];

    /// <summary>Entries of a channel's context table: every sum (≤ 1,020) and <see cref="FirstRowSum"/>;
    /// a field's bits above these are 0 (the third field has no more).</summary>
    private const int ContextTableStride = 1024;

    /// <summary>Channels a context table is made for.</summary>
    private const int MaxChannels = 4;

    /// <summary>A sum no row reaches (4 × 255 = 1,020 at most), in every field: the first row's
    /// "sums", whose context is <see cref="DenseLayout.FirstRowContext"/>.</summary>
    private const uint FirstRowSum = 0x3FF;

    private static Row8 FirstRowSums => new()
    {
        X0 = FirstRowSum * SwarRowCoding.Ones, X1 = FirstRowSum * SwarRowCoding.Ones, X2 = FirstRowSum * SwarRowCoding.Ones,
        X3 = FirstRowSum * SwarRowCoding.Ones, X4 = FirstRowSum * SwarRowCoding.Ones, X5 = FirstRowSum * SwarRowCoding.Ones,
        X6 = FirstRowSum * SwarRowCoding.Ones, X7 = FirstRowSum * SwarRowCoding.Ones,
    };

    /// <summary>
    /// The group's context tables, shared by its threads: entry c × 1024 + s is the table (c × 16 + k)
    /// of channel c's codes whose context sum is s, k by the format's rule (<see cref="DenseCoding.ContextOfSum"/>),
    /// or <see cref="DenseLayout.FirstRowContext"/> for <see cref="FirstRowSum"/>. One shared-memory
    /// load a step in place of the rule's arithmetic. Every thread of the group must call it (a barrier ends it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillContextTables(ArrayView<byte> contexts, int channels)
    {
        for (int i = Group.IdxX; i < channels * ContextTableStride; i += Group.DimX)
        {
            int channel = i / ContextTableStride, sum = i % ContextTableStride;
            int context = sum == FirstRowSum ? DenseLayout.FirstRowContext : DenseCoding.ContextOfSum(sum);
            contexts[i] = (byte)DenseLayout.TableIndex(channel, context);
        }
        Group.Barrier();
    }

    /// <summary>
    /// A lane's rANS coder and the row it is decoding, passed by value (a struct behind a reference
    /// ends up in local memory in ILGPU's code, its views as generic pointers).
    /// </summary>
    private struct Coder
    {
        public uint State;
        /// <summary>Words of the stream read so far by the segment.</summary>
        public int Next;
        /// <summary>Not 0 once a step read a slot of an unused table.</summary>
        public uint Bad;
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

    /// <summary>
    /// One step of 6.5 for every lane of the warp, with table <paramref name="table"/>; an inactive
    /// lane gives code 0 and keeps its state. Returns the code.
    /// </summary>
    /// <remarks>
    /// Straight-line code: the two table loads are the only work an inactive lane skips (its entry
    /// is 0: f = 0, no raw bits, code 0), everything else is computed by every lane and selected.
    /// When every state is at least L at the step's start (always, unless a file starts a state below
    /// L: <see cref="ExactSteps"/>), the state after the token is at least f·2^6 ≥ 2^6: a lane that
    /// reads a word in step 2 then holds at least 2^22 and reads none in step 4. So a lane reads at
    /// most one word a step and knows, before reading, whether it reads in step 2 or in step 4 (its
    /// state after the raw bits): two ballots place every read, the step-4 readers after all the
    /// step-2 readers of the segment, and one load serves both. A token of frequency 0 (an unused
    /// table) breaks the premise but has already failed the patch, and a read past the stream's end
    /// reads its last word instead and leaves the segment's count past the end (the patch fails at
    /// its end).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Step<TKind>(ref Coder coder, PatchRows rows, int table, bool active)
        where TKind : struct, IStepKind
    {
        uint state = coder.State;
        int slot = DenseCoding.Slot(state);
        uint entry = 0;
        if (active)
        {
            int token = rows.Tokens[table << DenseLayout.ProbabilityBits | slot];
            entry = rows.Entries[table * EntriesPerTable + token];
        }
        uint frequency = entry & 0x7FF;
        if (active & frequency == 0) coder.Bad = 1; // a slot of an unused table
        uint decoded = frequency * (state >> DenseLayout.ProbabilityBits) + (uint)slot - ((entry >> 11) & 0x3FF);
        int rawBits = RawBitsOf(entry);
        uint rawMask = (1u << rawBits) - 1;
        uint code = entry >> 24;
        if (default(TKind).Exact)
        {
            decoded = ReadWord(ref coder.Next, rows, decoded, active && DenseCoding.NeedsWord(decoded));
            code |= decoded & rawMask;
            decoded >>= rawBits;
            decoded = ReadWord(ref coder.Next, rows, decoded, active && DenseCoding.NeedsWord(decoded));
            coder.State = active ? decoded : state;
            return code;
        }
        uint afterRaw = decoded >> rawBits;
        bool before = active & decoded < DenseLayout.StateLow;
        bool after = active & !before & afterRaw < DenseLayout.StateLow;
        uint befores = Ballot(before), afters = Ballot(after);
        // a step-2 reader's rank: the segment's step-2 readers before it; a step-4 reader's: all the
        // segment's step-2 readers and its step-4 readers before it, as one popcount (the latter
        // rotated by 16 bits into another segment's place: a segment has at most 8 lanes)
        uint ahead = before ? befores & rows.Below
            : (befores & rows.Segment) | ((afters << 16 | afters >> 16) & rows.BelowRotated);
        int word = 0;
        if (before | after) word = WordAt(rows, coder.Next + PopCount(ahead));
        coder.Next += PopCount((befores | afters) & rows.Segment);
        uint withWord = (before ? decoded : afterRaw) << DenseLayout.WordBits | (uint)word;
        code |= (before ? withWord : decoded) & rawMask;
        uint next = before ? withWord >> rawBits : after ? withWord : afterRaw;
        coder.State = active ? next : state;
        return code;
    }

    /// <summary>
    /// <see cref="Step{TKind}"/> of <see cref="FastSteps"/> in inline PTX, on a CUDA device:
    /// straight-line, predicated code (ILGPU's branches around the loads and selections made ptxas
    /// add reconvergence barriers and a divergent-warp path at every ballot), 32-bit offsets on
    /// 64-bit bases. The same rules, line for line: the token and its entry of table
    /// <paramref name="table"/> (loaded by every lane, in range; used by active ones), the state after
    /// the token, the two ballots that place the one word a lane may read, the read (clamped at the
    /// stream's last word), the raw bits and the code. <paramref name="activeLeft"/>: the lane's
    /// valid columns from this one on (≤ 0: inactive).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PtxStep(ref Coder coder, PatchRows rows, int table, int activeLeft)
    {
        uint state = coder.State;
        // every lane loads (in range whatever its state); only an active lane's entry is used
        int token = rows.Tokens[table << DenseLayout.ProbabilityBits | DenseCoding.Slot(state)];
        Input<uint> entry = rows.Entries[table * EntriesPerTable + token];
        Ref<int> next = coder.Next;
        Output<uint> decoded = default, before = default, after = default, active = default;
        Output<int> at = default;
        Input<uint> stateIn = state, segment = rows.Segment, below = rows.Below, belowRotated = rows.BelowRotated;
        Input<int> left = activeLeft, lastWord = rows.LastWord, wordsAt = rows.WordsAt;
        CudaAsm.EmitRef(
            "{\n" +
            ".reg .pred pa, pb, pc;\n" +
            ".reg .b32 f, cum, n, hi, slot, x1, xr, vb, va, t, ahead, wi;\n" +
            "setp.gt.s32 pa, %8, 0;\n" +
            "and.b32 f, %7, 2047;\n" +
            "bfe.u32 cum, %7, 11, 10;\n" +
            "bfe.u32 n, %7, 21, 3;\n" +
            "and.b32 slot, %6, 1023;\n" +
            "shr.u32 hi, %6, 10;\n" +
            "mad.lo.u32 x1, f, hi, slot;\n" +
            "sub.s32 x1, x1, cum;\n" +
            "mov.b32 %1, x1;\n" +
            "shr.u32 xr, x1, n;\n" +
            "setp.lt.and.u32 pb, x1, 65536, pa;\n" +
            "setp.lt.and.u32 pc, xr, 65536, pa;\n" +
            "and.pred pc, pc, !pb;\n" +
            "vote.sync.ballot.b32 vb, pb, -1;\n" +
            "vote.sync.ballot.b32 va, pc, -1;\n" +
            "and.b32 t, vb, %9;\n" +
            "shf.l.wrap.b32 ahead, va, va, 16;\n" +
            "and.b32 ahead, ahead, %11;\n" +
            "or.b32 ahead, ahead, t;\n" +
            "and.b32 t, vb, %10;\n" +
            "selp.b32 ahead, t, ahead, pb;\n" +
            "popc.b32 wi, ahead;\n" +
            "add.s32 wi, wi, %0;\n" +
            "min.s32 wi, wi, %12;\n" +
            "shl.b32 wi, wi, 1;\n" +
            "add.s32 %2, wi, %13;\n" +
            "or.b32 t, vb, va;\n" +
            "and.b32 t, t, %9;\n" +
            "popc.b32 t, t;\n" +
            "add.s32 %0, %0, t;\n" +
            "selp.b32 %3, 1, 0, pb;\n" +
            "selp.b32 %4, 1, 0, pc;\n" +
            "selp.b32 %5, 1, 0, pa;\n" +
            "}",
            ref next, ref decoded, ref at, ref before, ref after, ref active, ref stateIn, ref entry,
            ref left, ref segment, ref below, ref belowRotated, ref lastWord, ref wordsAt);
        // every lane loads a word (in the patch whatever its rank); only a reader's is used
        var wordBytes = rows.Patch.SubView(at.Value, DenseLayout.WordBytes);
        Input<int> word = wordBytes[0] | wordBytes[1] << 8;
        Output<uint> nextState = default, code = default, bad = default;
        Input<uint> decodedIn = decoded.Value, beforeIn = before.Value, afterIn = after.Value, activeIn = active.Value;
        Input<uint> never = rows.Never;
        CudaAsm.EmitRef(
            "{\n" +
            ".reg .pred pa, pb, pc, pz;\n" +
            ".reg .b32 n, xr, xw, mask, t, u, f;\n" +
            "setp.ne.u32 pb, %5, 0;\n" +
            "setp.ne.u32 pc, %6, 0;\n" +
            "setp.ne.u32 pa, %7, 0;\n" +
            "bfe.u32 n, %8, 21, 3;\n" +
            "shr.u32 xr, %4, n;\n" +
            "selp.b32 xw, %4, xr, pb;\n" +
            "shl.b32 xw, xw, 16;\n" +
            "or.b32 xw, xw, %9;\n" +
            "mov.b32 mask, 1;\n" +
            "shl.b32 mask, mask, n;\n" +
            "sub.s32 mask, mask, 1;\n" +
            "selp.b32 t, xw, %4, pb;\n" +
            "and.b32 t, t, mask;\n" +
            "shr.u32 u, %8, 24;\n" +
            "or.b32 t, u, t;\n" +
            "selp.b32 %1, t, 0, pa;\n" +
            "shr.u32 t, xw, n;\n" +
            "selp.b32 u, xw, xr, pc;\n" +
            "selp.b32 t, t, u, pb;\n" +
            "selp.b32 %0, t, %3, pa;\n" +
            "and.b32 f, %8, 2047;\n" +
            "setp.eq.and.u32 pz, f, 0, pa;\n" +
            "selp.b32 %2, 1, 0, pz;\n" +
            // the state depends on the code (never taken: %10 is 0), so that ptxas computes each
            // code here rather than sinking 24 steps' entries and states to the row's end
            "setp.ne.u32 pz, %10, 0;\n" +
            "@pz mov.b32 %0, %1;\n" +
            "}",
            ref nextState, ref code, ref bad, ref stateIn, ref decodedIn, ref beforeIn, ref afterIn, ref activeIn, ref entry, ref word,
            ref never);
        coder.State = nextState.Value;
        coder.Next = next.Value;
        coder.Bad |= bad.Value;
        return code.Value;
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
    private static uint ReadWord(ref int next, PatchRows rows, uint state, bool needs)
    {
        uint readers = Ballot(needs);
        if (needs) state = DenseCoding.WithWord(state, WordAt(rows, next + PopCount(readers & rows.Below)));
        next += PopCount(readers & rows.Segment);
        return state;
    }

    /// <summary>Word <paramref name="index"/> of the patch's stream; past its end, its last word (the
    /// segment's count then ends past the stream, and the patch fails).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WordAt(PatchRows rows, int index)
    {
        // a lane reads only in a coded row, so the patch has its states: word −1 is inside them
        int at = rows.WordsAt + 2 * Min(index, rows.LastWord);
        return rows.Patch[at] | rows.Patch[at + 1] << 8;
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

    private static int ReadU32(ArrayView<byte> data, int at) =>
        data[at] | data[at + 1] << 8 | data[at + 2] << 16 | data[at + 3] << 24;

    private static int Min(int a, int b) => a < b ? a : b;
    private static int Max(int a, int b) => a > b ? a : b;
}
