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
/// every plane; the slot's token comes from the table's rank map (<see cref="RankWordsPerTable"/>:
/// in shared memory for the group's home file, so that the random lookups of 32 lanes do not each
/// take a pass of the L1 cache, which bounded the kernel) and its entry, all a step needs in one
/// 8-byte load, from the file's entries (in shared memory too, for the home file of up to 3 channels); the lanes that must read a word find their place in the
/// stream with two warp ballots and a popcount over their segment's bits (inline PTX
/// <c>vote.sync.ballot</c>; on other accelerators the same mask by butterfly shuffles). A column
/// that codes nothing steps with the identity table instead of testing whether it is active.</para>
/// <para>Rebuild and output are mode 0's (<see cref="GpuDecodeKernel"/>.DecodeRow and Store): the
/// codes of the three planes sit in the fields of one word per pixel, so unzigzag, the row's prefix
/// sum, the prediction and the colour restore are one instruction stream, and each lane writes its
/// 8 × C bytes interleaved, as 8-byte stores when aligned and whole.</para>
/// <para>Every loop runs the same count on every lane of the warp (rows up to N, 8 steps, C planes),
/// so the ballots and shuffles are warp-uniform. Bounds, whatever the stream: the host checked the
/// header, the tables and every patch's structure (DenseFileDecoder.Validate) before the launch; in
/// the kernel a word past the patch's stream is not read (the image is marked bad in
/// <c>errors</c>), a slot of an unused table is marked bad (its entry has frequency 0), and at the end a
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
    /// <paramref name="slotRanks"/>: each file's tables' slot → rank maps (<see cref="RankWordsPerTable"/>
    /// words a table, the identity table's last), 8-byte aligned, file i's at byte i × <see cref="RankBytesOfFile"/>;
    /// <paramref name="tokenEntries"/>: each table's entries by rank (<see cref="WriteEntry"/>), 8-byte
    /// aligned, file i's at word i × <see cref="EntryWordsOfFile"/>;
    /// <paramref name="outLongs"/> and <paramref name="output"/>: the same 8-byte-aligned buffer, the
    /// images back to back, interleaved (at most 2^31 bytes); <paramref name="errors"/>[i] is set to
    /// 1 when file i's stream is found corrupt.
    /// </summary>
    public static void DenseDecode(
        ArrayView<byte> data,
        ArrayView<long> fileStarts,
        ArrayView<byte> slotRanks,
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
        // the group's first patch's image has its tables in shared memory (every group's first slot has a patch)
        int homeImage = PatchSlot.Locate((long)Grid.IdxX * (Group.DimX / 32) * (32 / lanes), shape.Images, shape.PatchCount,
            shape.PatchesX, shape.Width, shape.Height, n).Image;

        long file = fileStarts[image];
        long table = file + FileLayout.TableEntryOffset(where.Index);
        int start = ReadU32(data, table), end = ReadU32(data, table + FileLayout.TableEntrySize);
        int patchOut = image * shape.ImageBytes + (where.Py * n * shape.Width + where.Px * n) * channels;
        bool bad = DecodePatch(data, file + shape.PayloadStart + start, end - start, where.Width, where.Height, channels, n,
            where.Active, slotRanks, tokenEntries, image, homeImage, outLongs, output, patchOut, shape.Width * channels);
        if (bad) errors[image] = 1;
    }

    /// <summary>
    /// The kernel's form of a file's tables, as <c>DenseKernelTables</c> writes it: the format's
    /// tables, then one more, the identity table, whose every slot has the identity entry.
    /// A step of a column that codes nothing (a row not coded, a column past the patch) reads it: its
    /// entry leaves a state at L or above as it is, reads no word and gives code 0, so the fast step
    /// needs no per-lane test of whether it is active.
    /// </summary>
    public static int TablesOfFile(int channels) => DenseLayout.TableCount(channels) + 1;

    /// <summary>The identity table's index (after the format's tables).</summary>
    public static int IdentityTable(int channels) => DenseLayout.TableCount(channels);

    /// <summary>
    /// A table's slot → rank map: word w holds, in its low half, a bit for each of slots 32w..32w+31
    /// where a token's range starts (at its cumulative frequency), and in its high half the starts
    /// before slot 32w, less one. The rank of slot s (its token's place among the table's used tokens,
    /// in token order) is the high half plus the low half's bits up to s. 256 bytes a table where a
    /// slot → token byte map takes 1 KB: a file's maps fit the shared memory of a group. A table with
    /// no token (unused) and the identity table have the one start at slot 0: rank 0 everywhere.
    /// </summary>
    public const int RankWordsPerTable = DenseLayout.ProbabilityTotal / 32;

    /// <summary>Words (8 bytes) and bytes of a file's rank maps.</summary>
    public static int RankWordsOfFile(int channels) => TablesOfFile(channels) * RankWordsPerTable;
    public static int RankBytesOfFile(int channels) => RankWordsOfFile(channels) * sizeof(ulong);

    /// <summary>A rank map word: <paramref name="starts"/>, its slots' range starts (bit s: a token's
    /// range starts at the word's slot s), and <paramref name="before"/>, the starts in the table's words before it.</summary>
    public static ulong RankWord(uint starts, int before) => starts | (ulong)(uint)(before - 1) << 32;

    /// <summary>Entries of a table, by rank: one for each token the format has.</summary>
    public const int TokensPerTable = DenseLayout.TokenCount;

    /// <summary>
    /// Words of a token's entry, all a step needs in one 8-byte load: frequency f (bits 0–10), the
    /// raw bit count (bits 11–15, read by shifts that take their count's low 5 bits) and the code of
    /// raw bits 0 (bits 16–23); then −cumulative (as an unsigned word: added to the slot). A token of
    /// frequency 0 (an unused table's rank 0) has 0 in both words.
    /// </summary>
    public const int EntryWords = 2;

    /// <summary>Words of a file's entries.</summary>
    public static int EntryWordsOfFile(int channels) => TablesOfFile(channels) * TokensPerTable * EntryWords;

    /// <summary>Channels up to which the home file's entries also go to shared memory (with 4, the
    /// group's 48 KB would not hold them: their entries stay in L1).</summary>
    private const int SharedEntryChannels = 3;

    /// <summary>
    /// The per-patch body, called by the G = <paramref name="n"/> / 8 lanes of a segment together
    /// (every thread of the group must call it, at its start: it fills the group's shared tables
    /// behind a barrier; <paramref name="live"/> false for a slot without a patch). The patch of
    /// <paramref name="length"/> bytes at <paramref name="patchAt"/>, <paramref name="width"/> ×
    /// <paramref name="height"/> pixels, its file's tables set <paramref name="tables"/> of
    /// <paramref name="slotRanks"/> and <paramref name="tokenEntries"/> (as <see cref="DenseDecode"/>
    /// takes them; the group's home set <paramref name="homeTables"/>, none if negative, is read from
    /// shared memory),
    /// is written interleaved: pixel (x, y), channel c at byte <paramref name="patchOut"/> + y ×
    /// <paramref name="rowStride"/> + x × channels + c of <paramref name="output"/>
    /// (<paramref name="outLongs"/> the same memory). Returns whether the stream is corrupt.
    /// </summary>
    internal static bool DecodePatch(
        ArrayView<byte> data, long patchAt, int length, int width, int height, int channels, int n, bool live,
        ArrayView<byte> slotRanks, ArrayView<uint> tokenEntries, long tables, long homeTables,
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
        if (!live) tables = 0;
        // a patch with no coded row reads (and uses) nothing: its word offsets stay at its start
        int wordsAt = anyCoded ? header + stateLanes * DenseLayout.StateBytes : 0;
        uint segment = ((1u << lanes) - 1) << segFirst;
        uint below = ((1u << inSegment) - 1) << segFirst;
        var coder = new Coder
        {
            State = anyCoded && valid > 0 ? (uint)ReadU32(patch, header + inSegment * DenseLayout.StateBytes) : DenseLayout.StateLow,
            LeastFrequency = uint.MaxValue,
        };
        int wordCount = anyCoded ? Max(0, length - wordsAt) / DenseLayout.WordBytes : 0;
        var rows = new PatchRows
        {
            WordsAt = wordsAt,
            LastWord = anyCoded ? wordCount - 1 : 0,
            Segment = segment,
            Below = below,
            BelowRotated = below << 16 | below >> 16,
            Ranks = slotRanks.SubView(tables * RankBytesOfFile(channels), RankBytesOfFile(channels)).Cast<ulong>().AsAligned(sizeof(ulong)),
            Home = live && tables == homeTables,
            EntriesShared = channels <= SharedEntryChannels,
            // a file's entries start 8-byte aligned: each is one vector load
            Entries = tokenEntries.SubView(tables * EntryWordsOfFile(channels), EntryWordsOfFile(channels)).Cast<Entry>().AsAligned(EntryWords * 4),
            Patch = patch, MaskBytes = maskBytes, BlockBytes = maskBytes + predictorBytes, Height = h, AnyCoded = anyCoded,
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
        var contexts = SharedMemory.Allocate<byte>((MaxChannels + 1) * ContextTableStride);
        rows.SharedRanks = SharedMemory.Allocate<ulong>((DenseLayout.TableCount(MaxChannels) + 1) * RankWordsPerTable);
        rows.SharedEntries = SharedMemory.Allocate<Entry>(TablesOfFile(SharedEntryChannels) * TokensPerTable).AsAligned(EntryWords * 4);
        long home = homeTables >= 0 ? homeTables : 0;
        FillSharedTables(contexts, rows.SharedRanks, slotRanks.SubView(home * RankBytesOfFile(channels), RankBytesOfFile(channels)).Cast<ulong>(),
            homeTables >= 0 ? RankWordsOfFile(channels) : 0, rows.SharedEntries,
            tokenEntries.SubView(home * EntryWordsOfFile(channels), EntryWordsOfFile(channels)).Cast<Entry>(),
            homeTables >= 0 && channels <= SharedEntryChannels ? EntryWordsOfFile(channels) / EntryWords : 0, channels);
        // a warp whose lanes all decode the home file (nearly every warp) reads the tables from shared
        // memory only, without the predicated L1 loads for other files' lanes
        if (Ballot(coder.State < DenseLayout.StateLow) != 0)
            DecodeRows<ExactSteps>(ref coder, rows, channels, n, outLongs, output, pixelsAbove, contexts);
        else if (Ballot(!rows.Home) == 0)
            DecodeRows<HomeSteps>(ref coder, rows, channels, n, outLongs, output, pixelsAbove, contexts);
        else
            DecodeRows<FastSteps>(ref coder, rows, channels, n, outLongs, output, pixelsAbove, contexts);

        bool bad = coder.LeastFrequency == 0;
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
        /// <summary>The file's tables (<see cref="DenseDecode"/>); its rank maps also in shared memory when
        /// it is the group's home file.</summary>
        public ArrayView<ulong> Ranks, SharedRanks;
        public ArrayView<Entry> Entries, SharedEntries;
        /// <summary>Whether the lane's file is the group's home file, and whether a home file's entries are in shared memory too.</summary>
        public bool Home, EntriesShared;
        public int MaskBytes, BlockBytes, Height, Valid, RowOut, RowStride;
        public bool AnyCoded, LastLane;
        public PatchLane Lane;
        public uint Transform;
    }

    /// <summary>How a step places its word reads (<see cref="FastSteps"/> or <see cref="ExactSteps"/>),
    /// and whether every lane of the warp decodes the group's home file (<see cref="HomeSteps"/>).</summary>
    private interface IStepKind
    {
        bool Exact { get; }
        bool AllHome { get; }
    }

    /// <summary>Every state starts at L or above: one word read at most a step, placed by two ballots.</summary>
    private struct FastSteps : IStepKind
    {
        public readonly bool Exact => false;
        public readonly bool AllHome => false;
    }

    /// <summary><see cref="FastSteps"/> in a warp whose lanes all decode the home file.</summary>
    private struct HomeSteps : IStepKind
    {
        public readonly bool Exact => false;
        public readonly bool AllHome => true;
    }

    /// <summary>Some state starts below L: the format's steps 2 and 4 one after the other.</summary>
    private struct ExactSteps : IStepKind
    {
        public readonly bool Exact => true;
        public readonly bool AllHome => false;
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
            Row8 codes = IdentityPastValid(r == 0 ? FirstRowSums : ContextSums(aboveCodes, rows.Lane, rows.LastLane), rows.Valid);
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
                Row8 alphaCodes = IdentityPastValid(r == 0 ? FirstRowSums : ContextSums(aboveAlphaCodes, rows.Lane, rows.LastLane), rows.Valid);
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
        // each column's table (c × 16 + k) from its context sum (the first row's sentinel included);
        // a block not coded takes the identity table in every column, as do columns past the patch
        // (their sums are IdentitySum)
        int tables = coded ? channel * ContextTableStride : IdentityContexts;
        int valid = rows.Valid;
        if (CudaAsm.IsSupported && !default(TKind).Exact)
        {
            codes.X0 = WithField(codes.X0, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X0, shift)), shift);
            codes.X1 = WithField(codes.X1, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X1, shift)), shift);
            codes.X2 = WithField(codes.X2, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X2, shift)), shift);
            codes.X3 = WithField(codes.X3, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X3, shift)), shift);
            codes.X4 = WithField(codes.X4, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X4, shift)), shift);
            codes.X5 = WithField(codes.X5, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X5, shift)), shift);
            codes.X6 = WithField(codes.X6, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X6, shift)), shift);
            codes.X7 = WithField(codes.X7, PtxStep<TKind>(ref coder, rows, TableOf(contexts, tables, codes.X7, shift)), shift);
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
    /// or <see cref="DenseLayout.FirstRowContext"/> for <see cref="FirstRowSum"/>, or the identity table
    /// for <see cref="IdentitySum"/>; at <see cref="IdentityContexts"/>, a block of identity tables for
    /// every sum (a block not coded). One shared-memory load a step in place of the rule's arithmetic.
    /// With them, the home file's rank maps (<paramref name="homeWords"/> words) and entries
    /// (<paramref name="homeEntryCount"/>). Every thread of the
    /// group must call it (a barrier ends it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillSharedTables(ArrayView<byte> contexts, ArrayView<ulong> sharedRanks, ArrayView<ulong> homeRanks, int homeWords,
        ArrayView<Entry> sharedEntries, ArrayView<Entry> homeEntries, int homeEntryCount, int channels)
    {
        for (int i = Group.IdxX; i < homeWords; i += Group.DimX)
            sharedRanks[i] = homeRanks[i];
        for (int i = Group.IdxX; i < homeEntryCount; i += Group.DimX)
            sharedEntries[i] = homeEntries[i];
        int identity = IdentityTable(channels);
        for (int i = Group.IdxX; i < (channels + 1) * ContextTableStride; i += Group.DimX)
        {
            int channel = i / ContextTableStride, sum = i % ContextTableStride;
            int table = channel == channels || sum == IdentitySum ? identity
                : DenseLayout.TableIndex(channel, sum == FirstRowSum ? DenseLayout.FirstRowContext : DenseCoding.ContextOfSum(sum));
            contexts[channel == channels ? IdentityContexts + sum : i] = (byte)table;
        }
        Group.Barrier();
    }

    /// <summary>Where the block of identity tables starts in the context tables.</summary>
    private const int IdentityContexts = MaxChannels * ContextTableStride;

    /// <summary>A sum no row reaches, in every field of a column past the patch: its table is the identity.</summary>
    private const uint IdentitySum = 0x3FE;

    /// <summary>The columns from <paramref name="valid"/> on (past the patch's right edge) take the
    /// identity table in every plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 IdentityPastValid(Row8 sums, int valid) =>
        valid < DenseLayout.LaneColumns ? ColumnsFrom(sums, valid, IdentitySum * SwarRowCoding.Ones) : sums;

    /// <summary>The row with columns <paramref name="from"/>..7 set to <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Row8 ColumnsFrom(Row8 row, int from, uint value)
    {
        if (from <= 0) row.X0 = value;
        if (from <= 1) row.X1 = value;
        if (from <= 2) row.X2 = value;
        if (from <= 3) row.X3 = value;
        if (from <= 4) row.X4 = value;
        if (from <= 5) row.X5 = value;
        if (from <= 6) row.X6 = value;
        if (from <= 7) row.X7 = value;
        return row;
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
        /// <summary>The least frequency of the tokens read: 0 once a step read a slot of an unused table.</summary>
        public uint LeastFrequency;
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
            codes = ColumnsFrom(codes, valid <= 1 ? 1 : valid, last);
        }
        return codes;
    }

    /// <summary>
    /// One step of 6.5 for every lane of the warp, with table <paramref name="table"/>. Returns the code.
    /// </summary>
    /// <remarks>
    /// Straight-line code. A column that codes nothing steps with the identity table (<see cref="TablesOfFile"/>):
    /// state kept, no word, code 0. Only <see cref="ExactSteps"/> tests <paramref name="active"/>
    /// instead: there a state may be below L, where the identity entry would read.
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
        var entry = new Entry();
        if (active || !default(TKind).Exact) entry = EntryOf<TKind>(rows, table, state);
        uint frequency = entry.Fields & FrequencyMask;
        if (active || !default(TKind).Exact) coder.LeastFrequency = Min(coder.LeastFrequency, frequency); // 0: a slot of an unused table
        uint decoded = frequency * (state >> DenseLayout.ProbabilityBits) + (uint)slot + entry.NegativeCumulative;
        int rawBits = (int)(entry.Fields >> RawBitsShift) & 31;
        uint code = entry.Fields >> CodeBaseShift;
        if (default(TKind).Exact)
        {
            decoded = ReadWord(ref coder.Next, rows, decoded, active && DenseCoding.NeedsWord(decoded));
            code |= (uint)DenseCoding.RawBits(decoded, rawBits);
            decoded = DenseCoding.AfterRaw(decoded, rawBits);
            decoded = ReadWord(ref coder.Next, rows, decoded, active && DenseCoding.NeedsWord(decoded));
            coder.State = active ? decoded : state;
            return code;
        }
        uint afterRaw = DenseCoding.AfterRaw(decoded, rawBits);
        bool before = DenseCoding.NeedsWord(decoded);
        bool after = !before & DenseCoding.NeedsWord(afterRaw);
        uint befores = Ballot(before), afters = Ballot(after);
        // a step-2 reader's rank: the segment's step-2 readers before it; a step-4 reader's: all the
        // segment's step-2 readers and its step-4 readers before it, as one popcount (the latter
        // rotated by 16 bits into another segment's place: a segment has at most 8 lanes)
        uint ahead = before ? befores & rows.Below
            : (befores & rows.Segment) | ((afters << 16 | afters >> 16) & rows.BelowRotated);
        int word = WordAt(rows, coder.Next + PopCount(ahead));
        coder.Next += PopCount((befores | afters) & rows.Segment);
        uint withRaw = before ? DenseCoding.WithWord(decoded, word) : decoded;
        code |= (uint)DenseCoding.RawBits(withRaw, rawBits);
        uint next = DenseCoding.AfterRaw(withRaw, rawBits);
        coder.State = after ? DenseCoding.WithWord(next, word) : next;
        return code;
    }

    /// <summary>
    /// <see cref="Step{TKind}"/> of <see cref="FastSteps"/> in inline PTX, on a CUDA device, the same
    /// rules line for line: straight-line, predicated code (ILGPU's branches around loads and
    /// selections made ptxas add reconvergence barriers and a divergent-warp path at every ballot),
    /// the word's bytes joined and shifted by multiply-adds (the FMA pipe: the integer ALU is the
    /// busy one). Every lane
    /// loads (in range whatever its state: the word's index is clamped at the stream's last); a lane
    /// that reads no word does not use it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PtxStep<TKind>(ref Coder coder, PatchRows rows, int table)
        where TKind : struct, IStepKind
    {
        uint state = coder.State;
        // every lane loads (in range whatever its state)
        var entry = EntryOf<TKind>(rows, table, state);
        Ref<int> next = coder.Next;
        Output<uint> decoded = default;
        Output<int> at = default;
        Output<bool> before = default, after = default;
        Input<uint> stateIn = state, fields = entry.Fields, negativeCumulative = entry.NegativeCumulative,
            segment = rows.Segment, below = rows.Below, belowRotated = rows.BelowRotated;
        Input<int> lastWord = rows.LastWord, wordsAt = rows.WordsAt;
        CudaAsm.EmitRef(
            "{\n" +
            ".reg .b32 t, f, n, xr, vb, va, ahead, wi;\n" +
            // the state after the token (%1) and after the raw bits (xr: a wrapping shift reads the
            // count's 5 bits); who reads in step 2 (%3) or 4 (%4)
            "and.b32 f, %6, 2047;\n" +
            "shr.u32 n, %6, 11;\n" +
            "and.b32 t, %5, 1023;\n" +
            "add.s32 t, t, %7;\n" +
            "shr.u32 xr, %5, 10;\n" +
            "mad.lo.u32 %1, f, xr, t;\n" +
            "shf.r.wrap.b32 xr, %1, 0, n;\n" +
            "setp.lt.u32 %3, %1, 65536;\n" +
            "setp.lt.and.u32 %4, xr, 65536, !%3;\n" +
            "vote.sync.ballot.b32 vb, %3, -1;\n" +
            "vote.sync.ballot.b32 va, %4, -1;\n" +
            // the word's rank in the segment, its byte in the patch (clamped at the stream's last), the count
            "and.b32 t, vb, %8;\n" +
            "shf.l.wrap.b32 ahead, va, va, 16;\n" +
            "and.b32 ahead, ahead, %10;\n" +
            "or.b32 ahead, ahead, t;\n" +
            "and.b32 wi, vb, %9;\n" +
            "selp.b32 ahead, wi, ahead, %3;\n" +
            "popc.b32 wi, ahead;\n" +
            "add.s32 wi, wi, %0;\n" +
            "min.s32 wi, wi, %11;\n" +
            "mad.lo.s32 %2, wi, 2, %12;\n" +
            "or.b32 t, vb, va;\n" +
            "and.b32 t, t, %8;\n" +
            "popc.b32 t, t;\n" +
            "add.s32 %0, %0, t;\n" +
            "}",
            ref next, ref decoded, ref at, ref before, ref after, ref stateIn, ref fields, ref negativeCumulative,
            ref segment, ref below, ref belowRotated, ref lastWord, ref wordsAt);
        // every lane loads a word (in the patch whatever its rank); only a reader's is used
        var wordBytes = rows.Patch.SubView(at.Value, DenseLayout.WordBytes);
        Input<uint> low = wordBytes[0], high = wordBytes[1];
        Output<uint> nextState = default, code = default;
        Ref<uint> least = coder.LeastFrequency;
        Input<uint> decodedIn = decoded.Value;
        Input<bool> beforeIn = before.Value, afterIn = after.Value;
        CudaAsm.EmitRef(
            "{\n" +
            ".reg .b32 w, v, s, t, n;\n" +
            // step 2's word, the raw bits and the code, step 4's word
            "shr.u32 n, %4, 11;\n" +
            "mad.lo.u32 w, %6, 256, %5;\n" +
            "mad.lo.u32 v, %3, 65536, w;\n" +
            "selp.b32 v, v, %3, %7;\n" +
            "shf.r.wrap.b32 s, v, 0, n;\n" +
            "shf.l.wrap.b32 t, 0, s, n;\n" +
            "sub.s32 t, v, t;\n" +
            "shr.u32 n, %4, 16;\n" +
            "add.s32 %1, n, t;\n" +
            "mad.lo.u32 t, s, 65536, w;\n" +
            "selp.b32 %0, t, s, %8;\n" +
            "and.b32 t, %4, 2047;\n" +
            "min.u32 %2, %2, t;\n" +
            "}",
            ref nextState, ref code, ref least, ref decodedIn, ref fields, ref low, ref high, ref beforeIn, ref afterIn);
        coder.State = nextState.Value;
        coder.Next = next.Value;
        coder.LeastFrequency = least.Value;
        return code.Value;
    }

    /// <summary>The entry of the token that <paramref name="state"/>'s slot decodes with table
    /// <paramref name="table"/>: its rank from the slot's word of the rank map, the starts up to the
    /// slot counted (both from shared memory for the home file).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Entry EntryOf<TKind>(PatchRows rows, int table, uint state)
        where TKind : struct, IStepKind
    {
        int at = table * RankWordsPerTable + (int)((state >> 5) & (RankWordsPerTable - 1));
        int index = table * TokensPerTable + RankOf(default(TKind).AllHome || rows.Home ? rows.SharedRanks[at] : rows.Ranks[at], state);
        bool shared = default(TKind).AllHome ? rows.EntriesShared : rows.Home && rows.EntriesShared;
        return shared ? rows.SharedEntries[index] : rows.Entries[index];
    }

    /// <summary>The rank of slot <paramref name="slot"/> (its low 5 bits are read) in the rank map word
    /// that holds it: the starts before the word, less one, and those up to the slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int RankOf(ulong word, uint slot) =>
        (int)((uint)(word >> 32) + (uint)PopCount((uint)word & ~(0xFFFFFFFEu << (int)(slot & 31))));

    /// <summary>Writes the entry (<see cref="EntryWords"/> words) of token <paramref name="token"/> of
    /// frequency <paramref name="frequency"/> and cumulative frequency <paramref name="cumulative"/>,
    /// from <see cref="DenseCoding"/>'s rules; all 0 for frequency 0.</summary>
    public static void WriteEntry(Span<uint> entry, int token, int frequency, int cumulative)
    {
        entry = entry[..EntryWords];
        if (frequency == 0) { entry.Clear(); return; }
        entry[0] = (uint)frequency | (uint)DenseCoding.RawBitCount(token) << RawBitsShift | (uint)DenseCoding.CodeOf(token, 0) << CodeBaseShift;
        entry[1] = (uint)-cumulative;
    }

    /// <summary>Writes the identity entry: frequency M and cumulative 0 (the state after the token is
    /// the state before), no raw bits, code 0.</summary>
    public static void WriteIdentityEntry(Span<uint> entry)
    {
        entry = entry[..EntryWords];
        entry.Clear();
        entry[0] = DenseLayout.ProbabilityTotal;
    }

    /// <summary>An entry's first word: frequency bits, and where the raw bit count and the code start.</summary>
    internal const uint FrequencyMask = 0x7FF;
    internal const int RawBitsShift = 11, CodeBaseShift = 16;

    /// <summary>A token's entry as a step uses it (<see cref="EntryWords"/> words, read as one).</summary>
    private struct Entry
    {
#pragma warning disable CS0649 // read from the entries' buffer (WriteEntry's words), never assigned here
        public uint Fields, NegativeCumulative;
#pragma warning restore CS0649
    }

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
    private static uint Min(uint a, uint b) => a < b ? a : b;
    private static int Max(int a, int b) => a > b ? a : b;
}
