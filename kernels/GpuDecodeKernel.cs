using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>What one decode launch covers: a run of images of one shape, each a whole L3 file
/// placed at a 4-byte-aligned word offset in the compressed buffer.</summary>
public struct GpuDecodeShape
{
    /// <summary>Image width and height in pixels.</summary>
    public int Width, Height;
    /// <summary>Patches across and in all, per image.</summary>
    public int PatchesX, PatchCount;
    /// <summary>Images in this launch.</summary>
    public int Images;
    /// <summary>Bytes of one decoded image (width × height × channels).</summary>
    public int ImageBytes;
    /// <summary>Byte offset of the payload from a file's start: <see cref="FileLayout.PayloadStart"/>(PatchCount).</summary>
    public int PayloadStart;
    /// <summary>Index of a 4-byte word of the compressed buffer that holds 0 (in the padding after
    /// the last file): rows without widths read their width from it.</summary>
    public int ZeroWord;
}

/// <summary>
/// The batched L3 decode kernel (docs/FORMAT.md, sections 2 and 3), written for a CUDA warp of 32.
/// </summary>
/// <remarks>
/// <para>Work: one warp decodes 32 / L patches side by side, L = N / 8 lanes per patch; lane g owns
/// width group g (8 columns) of every row, in every plane. The planes travel together: R, G, B
/// (or gray) in the fields of one 32-bit word per pixel (<see cref="SwarRowCoding"/>), alpha in a
/// second, so unzigzag, prefix sum, prediction and colour restore cost one instruction stream for
/// three channels.</para>
/// <para>Rows: the per-row headers (zero-row bit, predictor) come from registers by shuffle: lane g
/// holds rows 8g to 8g + 7 of each plane's zero-row mask and predictor array, 3 bits a row. A lane
/// reads its own width nibble; one segmented scan of the nibbles of all planes (8 bits each) gives
/// each group's offset in the row. Memory is read ahead and used a row later: row r + 2's nibble
/// words and row r + 1's group words are loaded while row r is decoded.</para>
/// <para>A row: the lane's 8 codes per plane are cut out of the group with shifts and
/// multiply-adds (code s = x_s − 2^b x_(s+1), x_s = group >> s·b), which run on the GPU's
/// multiply pipe beside the logic pipe, land in their fields, are unzigzagged, summed along the
/// lane, and a segmented scan of the lane sums turns the row into one prefix sum (pixel = base
/// from the row above + running sum, <see cref="RowCoding"/>). The row above stays in registers;
/// its first pixel and the next lane's first pixel come by shuffle.</para>
/// <para>Output, a separate step (<c>Store</c>, <c>StorePlanar</c>): each lane writes its 8 × C
/// bytes interleaved (HWC) or its 8 bytes of each plane (CHW), with 8-byte stores when they are
/// 8-byte aligned and whole, byte stores otherwise (edges).</para>
/// <para>The logic pipe is what bounds it on an H100 (bench/RESULTS.md): the code counts its
/// shifts and masks. Nothing here checks the file: the host validated every patch before the launch.</para>
/// </remarks>
public static partial class GpuDecodeKernel
{
    /// <summary>Threads per group the host launches with on a GPU.</summary>
    public const int ThreadsPerGroup = 128;

    /// <summary>Patches one warp decodes side by side.</summary>
    public static int PatchesPerWarp(int patchSize) => 32 / LanesPerPatch(patchSize);

    public static int LanesPerPatch(int patchSize) => patchSize / RowCoding.GroupSize;

    /// <summary>Groups (of <paramref name="threadsPerGroup"/> threads) to launch for <paramref name="patches"/> patches.</summary>
    public static int GroupsFor(long patches, int patchSize, int threadsPerGroup)
    {
        long warps = (patches + PatchesPerWarp(patchSize) - 1) / PatchesPerWarp(patchSize);
        int warpsPerGroup = threadsPerGroup / 32;
        return (int)((warps + warpsPerGroup - 1) / warpsPerGroup);
    }

    /// <summary>Output layouts: the pixels interleaved (HWC, as in the file's image) or one plane
    /// after another (CHW, as a training framework's tensor wants them).</summary>
    public const int Interleaved = 0, Planar = 1;

    /// <summary>
    /// The kernel, generic over the files' shape (<see cref="IPatchShape"/>): the library launches
    /// <c>Decode&lt;AnyShape&gt;</c>, with N, the channel count and the layout fixed per launch by
    /// <see cref="SpecializedValue{T}"/>; a generated profile launches it with its own shape, whose
    /// N, width (so the columns of patches and the edge column) and, when fixed, height and channel
    /// count are constants ILGPU folds at compile time (a value the shape fixes wins over the
    /// argument). <paramref name="data"/> and <paramref name="dataWords"/> are the same memory (as
    /// 8-byte and 4-byte words): the files, file i starting at 4-byte word
    /// <paramref name="fileWords"/>[i], and at least 16 zero bytes after the last.
    /// <paramref name="outLongs"/> and <paramref name="outBytes"/> are the same 8-byte-aligned output:
    /// images back to back, each <see cref="Interleaved"/> or <see cref="Planar"/> by
    /// <paramref name="layoutValue"/>.
    /// </summary>
    /// <remarks>
    /// Bounds, whatever the file's bytes: the kernel trusts what L3GpuCodec.Prepare checked on the
    /// host before any launch (L3Header.Read, PatchFormat.Validate on every patch). Reads: table
    /// entry <c>index</c> &lt; PatchCount lies inside the file (its length was checked to be at least
    /// the table's end); every offset lies in the payload (0, non-decreasing, ending at L, L = the
    /// file's length after the header); inside a patch the mask, predictor and width arrays lie in
    /// its block (their lengths add up to the patch's exactly), and a group load reads at most 12
    /// bytes past a group's start, which lands in the next file or in the 16 zero bytes after the
    /// last (GpuDecodeLaunch.Padding); rows without widths read <see cref="GpuDecodeShape.ZeroWord"/>,
    /// in that padding. A slot past the last patch reads patch 0 of file 0 with height 0.
    /// Writes: only rows r &lt; h and the lane's <c>valid</c> columns of its patch, so inside image
    /// <c>image</c> &lt; Images, whose ImageBytes the output holds (8-byte stores only when whole and
    /// aligned). tests/L3.Gpu.Tests/HostileGpuTests.cs and bench/gpu/sanitize.sh check this.
    /// </remarks>
    public static void Decode<TShape>(
        ArrayView<ulong> data,
        ArrayView<uint> dataWords,
        ArrayView<int> fileWords,
        ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes,
        GpuDecodeShape shape,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue,
        SpecializedValue<int> layoutValue)
        where TShape : struct, IPatchShape =>
        DecodePatches<TShape>(data, dataWords, fileWords, outLongs, outBytes, shape, patchSizeValue.Value, channelsValue.Value,
            layoutValue.Value);

    /// <summary>The kernel's body: <paramref name="n"/>, <paramref name="channels"/> and the
    /// image's geometry in <paramref name="shape"/> are read through <typeparamref name="TShape"/>.</summary>
    private static void DecodePatches<TShape>(
        ArrayView<ulong> data,
        ArrayView<uint> dataWords,
        ArrayView<int> fileWords,
        ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes,
        GpuDecodeShape shape,
        int n,
        int channels,
        int layout)
        where TShape : struct, IPatchShape
    {
        n = PatchShape.N<TShape>(n);
        channels = PatchShape.Channels<TShape>(channels);
        int imageWidth = PatchShape.Width<TShape>(shape.Width), imageHeight = PatchShape.Height<TShape>(shape.Height);
        int patchesX = PatchShape.FixesColumns<TShape>() ? PatchShape.PatchesX<TShape>(imageWidth, n) : shape.PatchesX;
        int patchCount = PatchShape.FixesPatchCount<TShape>() ? patchesX * PatchShape.PatchesY<TShape>(imageHeight, n) : shape.PatchCount;
        int imageBytes = PatchShape.FixesPatchCount<TShape>() && default(TShape).Channels != 0
            ? imageWidth * imageHeight * channels : shape.ImageBytes;
        bool planar = layout == Planar;
        int lanes = n / RowCoding.GroupSize;
        int patchesPerWarp = 32 / lanes;

        int lane = Warp.LaneIdx;
        long globalWarp = (long)Grid.IdxX * (Group.DimX / 32) + Warp.WarpIdx;
        int seg = lane / lanes;
        var patch = new PatchLane { G = lane - seg * lanes, Lanes = lanes, SegFirst = seg * lanes, ZeroWord = shape.ZeroWord };

        var where = PatchSlot.Locate(globalWarp * patchesPerWarp + seg, shape.Images, patchCount, patchesX,
            imageWidth, imageHeight, n);
        bool active = where.Active;
        int image = where.Image, index = where.Index, px = where.Px, py = where.Py;

        // the table's entries are 4-byte words, so entry i is word FixedSize / 4 + i of the file
        int payloadStart = PatchShape.FixesPatchCount<TShape>() ? FileLayout.PayloadStart(patchCount) : shape.PayloadStart;
        int patchStart = fileWords[image] * 4 + payloadStart
            + (int)dataWords[fileWords[image] + FileLayout.FixedSize / FileLayout.TableEntrySize + index];

        // where the patch's pixels go: C bytes each (interleaved), or 1 byte each in C planes W × H
        // apart (planar)
        int pixelBytes = planar ? 1 : channels;
        int patchOut = image * imageBytes + (py * n * imageWidth + px * n) * pixelBytes;
        DecodePatch(data, dataWords, outLongs, outBytes, patch, active, where.Width, where.Height, patchStart,
            patchOut, imageWidth * pixelBytes, imageWidth * imageHeight, n, channels, planar);
    }

    /// <summary>
    /// Decodes one patch, the lanes of <paramref name="patch"/> together: the patch's bytes start at
    /// byte <paramref name="patchStart"/> of the data, its pixel (0, 0) goes to byte
    /// <paramref name="patchOut"/> of the output, rows <paramref name="rowStride"/> bytes apart
    /// (planes <paramref name="planeStride"/> apart when <paramref name="planar"/>). Every lane of the
    /// warp calls it (the rows are scanned across lanes); an inactive patch has width and height 0.
    /// </summary>
    internal static void DecodePatch(
        ArrayView<ulong> data,
        ArrayView<uint> dataWords,
        ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes,
        PatchLane patch,
        bool active,
        int w,
        int h,
        int patchStart,
        int patchOut,
        int rowStride,
        int planeStride,
        int n,
        int channels,
        bool planar)
    {
        patch.H = h;
        patch.Groups = RowCoding.GroupsPerRow(w);
        int valid = Max(0, Min(RowCoding.GroupSize, w - patch.G * RowCoding.GroupSize));
        bool lastLane = (patch.G + 1) * RowCoding.GroupSize >= w;

        uint transform = active && channels >= 3
            && PatchLayout.HasColorTransform((int)ByteAt(dataWords, patchStart + PatchLayout.FlagsOffset)) ? SwarRowCoding.RestorePlanes : 0u;

        // where each plane's block starts: after the previous block's groups, whose total is the
        // sum of its width nibbles, which the patch's lanes add up together
        var planes = default(Planes);
        int at = patchStart + PatchLayout.FlagsSize;
        for (int c = 0; c < channels; c++)
        {
            var plane = OpenPlane(data, dataWords, at, patch);
            if (c == 0) planes.P0 = plane;
            else if (c == 1) planes.P1 = plane;
            else if (c == 2) planes.P2 = plane;
            else planes.P3 = plane;
            at = plane.End;
        }

        int pixelBytes = planar ? 1 : channels;
        int rowOut = patchOut + patch.G * RowCoding.GroupSize * pixelBytes;

        // the pipeline: row 0's groups and row 1's nibbles before the loop
        planes = ReadRowHeaders(dataWords, planes, 0, patch, channels);
        planes = FetchGroups(dataWords, planes, patch, channels);
        planes = ReadRowHeaders(dataWords, planes, 1, patch, channels);

        var above = default(Row8);       // planes 0..2 (clean words); the row above row 0 is zero
        var aboveAlpha = default(Row8);  // plane 3
        for (int r = 0; r < n; r++)
        {
            // this row's codes and predictors, taken before the read-ahead overwrites them
            uint widths = planes.Widths, predictors = planes.Predictors;
            var codes = Codes(planes.P0, (int)widths & 0xF, 0, default);
            if (channels > 1) codes = Codes(planes.P1, (int)(widths >> 8) & 0xF, 1, codes);
            if (channels > 2) codes = Codes(planes.P2, (int)(widths >> 16) & 0xF, 2, codes);
            var alphaCodes = channels > 3 ? Codes(planes.P3, (int)(widths >> 24) & 0xF, 0, default) : default;
            uint alphaPredictor = planes.AlphaPredictor;

            // read ahead: row r + 1's groups (its nibbles are in), then row r + 2's nibbles
            planes = FetchGroups(dataWords, planes, patch, channels);
            planes = ReadRowHeaders(dataWords, planes, r + 2, patch, channels);

            above = DecodeRow(above, codes, SwarRowCoding.Masks(predictors), patch, valid, lastLane);
            if (channels > 3)
                aboveAlpha = DecodeRow(aboveAlpha, alphaCodes, SwarRowCoding.Masks(alphaPredictor), patch, valid, lastLane);

            if (r < patch.H && valid > 0)
            {
                if (planar) StorePlanar(outLongs, outBytes, rowOut, planeStride, above, aboveAlpha, transform, channels, valid);
                else Store(outLongs, outBytes, rowOut, above, aboveAlpha, transform, channels, valid);
            }
            rowOut += rowStride;
        }
    }

    /// <summary>
    /// Opens one plane's channel block at byte <paramref name="at"/>: this lane's rows of the
    /// zero-row mask and predictor array (<see cref="PlaneCursor.Header"/>), where the widths and
    /// the groups start, and where the next block starts.
    /// </summary>
    private static PlaneCursor OpenPlane(ArrayView<ulong> data, ArrayView<uint> words, int at, PatchLane patch)
    {
        int g = patch.G;
        int maskBytes = RowCoding.ZeroMaskBytes(patch.H);
        int predictorBytes = RowCoding.PredictorBytes(patch.H);
        int predictors = at + maskBytes;
        uint mask = g < maskBytes ? ByteAt(words, at + g) : 0u;
        uint rowPredictors = (2 * g < predictorBytes ? ByteAt(words, predictors + 2 * g) : 0u)
            | (2 * g + 1 < predictorBytes ? ByteAt(words, predictors + 2 * g + 1) << 8 : 0u);
        // rows 8g + i, i = 0..7: bit 3i the zero-row bit, bits 3i + 1, 3i + 2 the predictor
        uint header = 0;
        for (int i = 0; i < 8; i++)
            header |= ((mask >> i) & 1u) << (3 * i) | ((rowPredictors >> (2 * i)) & 3u) << (3 * i + 1);
        int zeroRows = SegmentSum(IntrinsicMath.BitOperations.PopCount(mask), patch.Lanes);
        int widths = predictors + predictorBytes;
        int widthBytes = RowCoding.WidthBytes(patch.H - zeroRows, patch.Groups);
        int groupBytes = SegmentSum(NibbleSum(data, widths, widthBytes, g, patch.Lanes), patch.Lanes);
        return new PlaneCursor
        {
            Header = header, NibbleAt = 2 * widths, Groups = widths + widthBytes, End = widths + widthBytes + groupBytes,
        };
    }

    /// <summary>Row <paramref name="r"/>'s headers of every plane (<see cref="ReadRowHeader"/>).</summary>
    private static Planes ReadRowHeaders(ArrayView<uint> words, Planes planes, int r, PatchLane patch, int channels)
    {
        int source = patch.SegFirst + Min(r >> 3, patch.Lanes - 1);
        int shift = 3 * (r & 7);
        bool past = r >= patch.H;
        planes.P0 = ReadRowHeader(words, planes.P0, source, shift, past, 0, patch);
        if (channels > 1) planes.P1 = ReadRowHeader(words, planes.P1, source, shift, past, 1, patch);
        if (channels > 2) planes.P2 = ReadRowHeader(words, planes.P2, source, shift, past, 2, patch);
        if (channels > 3) planes.P3 = ReadRowHeader(words, planes.P3, source, shift, past, 0, patch);
        return planes;
    }

    /// <summary>
    /// Reads ahead a row's header of one plane: the word that holds this lane's width nibble (the
    /// zero word for a zero row, a row past h, a lane past the last group, so that the width reads
    /// as 0), and <see cref="PlaneCursor.NextInfo"/>: the nibble's shift (bits 0–4) and the row's
    /// predictor placed at bit 8 + 11 × <paramref name="field"/>. The nibble is taken out a row
    /// later (<see cref="FetchGroups"/>), when the load has landed; the cursor's nibble index moves
    /// past a coded row.
    /// </summary>
    private static PlaneCursor ReadRowHeader(ArrayView<uint> words, PlaneCursor plane, int source, int shift,
        bool past, int field, PatchLane patch)
    {
        uint row = Warp.Shuffle(plane.Header, source) >> shift;
        bool zero = past || (row & 1) != 0;
        int index = plane.NibbleAt + patch.G;
        plane.NextWord = words[zero || patch.G >= patch.Groups ? patch.ZeroWord : index >> 3];
        plane.NextInfo = (index & 7) * 4 + (int)((row & 6) << (7 + SwarRowCoding.FieldBits * field));
        plane.NibbleAt += zero ? 0 : patch.Groups;
        return plane;
    }

    /// <summary>
    /// Loads the groups of the row whose nibbles were read last: one segmented scan of the lanes'
    /// nibbles (all planes, 8 bits each) gives each lane's offset and each plane's row length.
    /// </summary>
    private static Planes FetchGroups(ArrayView<uint> words, Planes planes, PatchLane patch, int channels)
    {
        uint widths = NextWidth(planes.P0);
        int info = planes.P0.NextInfo;
        if (channels > 1) { widths |= NextWidth(planes.P1) << 8; info |= planes.P1.NextInfo; }
        if (channels > 2) { widths |= NextWidth(planes.P2) << 16; info |= planes.P2.NextInfo; }
        if (channels > 3) widths |= NextWidth(planes.P3) << 24;
        planes.Widths = widths;
        planes.Predictors = (uint)info >> 8;
        planes.AlphaPredictor = channels > 3 ? (uint)planes.P3.NextInfo >> 8 : 0u;
        uint inclusive = SegmentScan(widths, patch.G, patch.Lanes);
        uint totals = Warp.Shuffle(inclusive, patch.SegFirst + patch.Lanes - 1);
        uint offsets = inclusive - widths;
        planes.P0 = Fetch(words, planes.P0, offsets, totals);
        if (channels > 1) planes.P1 = Fetch(words, planes.P1, offsets >> 8, totals >> 8);
        if (channels > 2) planes.P2 = Fetch(words, planes.P2, offsets >> 16, totals >> 16);
        if (channels > 3) planes.P3 = Fetch(words, planes.P3, offsets >> 24, totals >> 24);
        return planes;
    }

    /// <summary>The width nibble read ahead: a 32-bit shift takes the low 5 bits of its count, so
    /// the predictor bits above them do not disturb it.</summary>
    private static uint NextWidth(PlaneCursor plane) => (plane.NextWord >> plane.NextInfo) & 0xF;

    /// <summary>Starts loading this lane's group: the three words around it, taken apart a row later
    /// (<see cref="Codes"/>).</summary>
    private static PlaneCursor Fetch(ArrayView<uint> words, PlaneCursor plane, uint offset, uint total)
    {
        int at = plane.Groups + (int)(offset & 0xFF);
        var group = words.SubView(at >> 2, 3);   // one address, three loads at fixed offsets
        plane.W0 = group[0];
        plane.W1 = group[1];
        plane.W2 = group[2];
        plane.At = at;
        plane.Groups += (int)(total & 0xFF);
        return plane;
    }

    /// <summary>
    /// The lane's 8 codes of one plane (<see cref="RowCoding.UnpackSlot(ulong, int, int)"/>), added
    /// into field <paramref name="field"/> of <paramref name="codes"/>. With x_s the group shifted
    /// right by s·b, code s is x_s − 2^b·x_(s+1): one shift and multiply-adds, no mask.
    /// </summary>
    private static Row8 Codes(PlaneCursor plane, int width, int field, Row8 codes)
    {
        int byteShift = (plane.At << 3) & 24;
        uint low = Funnel(plane.W0, plane.W1, byteShift);    // slots 0..3 (4 × width ≤ 32 bits)
        uint mid = Funnel(plane.W1, plane.W2, byteShift);
        uint high = Funnel(low, mid, 4 * width);             // slots 4..7
        uint scale = 1u << (SwarRowCoding.FieldBits * field);
        uint step = 0u - (scale << width);                   // −2^(b + 11·field)
        int w2 = width + width, w3 = w2 + width;
        uint x1 = low >> width, x2 = low >> w2, x3 = low >> w3, x4 = x3 >> width;
        uint y1 = high >> width, y2 = high >> w2, y3 = high >> w3, y4 = y3 >> width;
        codes.X0 += low * scale + x1 * step;
        codes.X1 += x1 * scale + x2 * step;
        codes.X2 += x2 * scale + x3 * step;
        codes.X3 += x3 * scale + x4 * step;
        codes.X4 += high * scale + y1 * step;
        codes.X5 += y1 * scale + y2 * step;
        codes.X6 += y2 * scale + y3 * step;
        codes.X7 += y3 * scale + y4 * step;
        return codes;
    }

    /// <summary>The 32 bits of (<paramref name="high"/>:<paramref name="low"/>) from bit
    /// <paramref name="shift"/> (0..32).</summary>
    private static uint Funnel(uint low, uint high, int shift) => (uint)((((ulong)high << 32) | low) >> shift);

    /// <summary>
    /// Decodes the lane's 8 pixels of one row (SWAR words) from its codes and the row above. Slots
    /// past the row's end repeat the last pixel, so that every slot's top-right is the next slot
    /// (the rule's clamp at w − 1).
    /// </summary>
    internal static Row8 DecodeRow(Row8 above, Row8 codes, RowMasks masks, PatchLane patch, int valid, bool lastLane)
    {
        uint first = Warp.Shuffle(above.X0, patch.SegFirst);
        uint next = Warp.ShuffleDown(above.X0, 1);
        uint t8 = lastLane ? above.X7 : next;

        uint e0 = SwarRowCoding.Unzigzag(codes.X0), e1 = SwarRowCoding.Unzigzag(codes.X1);
        uint e2 = SwarRowCoding.Unzigzag(codes.X2), e3 = SwarRowCoding.Unzigzag(codes.X3);
        uint e4 = SwarRowCoding.Unzigzag(codes.X4), e5 = SwarRowCoding.Unzigzag(codes.X5);
        uint e6 = SwarRowCoding.Unzigzag(codes.X6), e7 = SwarRowCoding.Unzigzag(codes.X7);
        // the lane's running sums, cleaned half way so that no field passes 1,275
        uint a0 = e0, a1 = a0 + e1, a2 = a1 + e2, a3 = SwarRowCoding.Clean(a2 + e3);
        uint a4 = a3 + e4, a5 = a4 + e5, a6 = a5 + e6, a7 = a6 + e7;
        uint laneSum = SwarRowCoding.Clean(a7);
        // the sums of the lanes before this one (at most 7 × 255 a field: no carry between fields)
        uint carry = SwarRowCoding.Clean(SegmentScan(laneSum, patch.G, patch.Lanes) - laneSum);

        var row = new Row8
        {
            X0 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X0, above.X1, first), carry, a0, e0),
            X1 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X1, above.X2, first), carry, a1, e1),
            X2 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X2, above.X3, first), carry, a2, e2),
            X3 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X3, above.X4, first), carry, a3, e3),
            X4 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X4, above.X5, first), carry, a4, e4),
            X5 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X5, above.X6, first), carry, a5, e5),
            X6 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X6, above.X7, first), carry, a6, e6),
            X7 = SwarRowCoding.Pixel(masks, SwarRowCoding.Base(masks, above.X7, t8, first), carry, a7, e7),
        };
        if (valid < RowCoding.GroupSize)
        {
            uint last = valid <= 1 ? row.X0 : valid == 2 ? row.X1 : valid == 3 ? row.X2 : valid == 4 ? row.X3
                : valid == 5 ? row.X4 : valid == 6 ? row.X5 : row.X6;
            if (valid <= 1) row.X1 = last;
            if (valid <= 2) row.X2 = last;
            if (valid <= 3) row.X3 = last;
            if (valid <= 4) row.X4 = last;
            if (valid <= 5) row.X5 = last;
            if (valid <= 6) row.X6 = last;
            row.X7 = last;
        }
        return row;
    }

    /// <summary>Writes the lane's <paramref name="valid"/> pixels of a row at byte
    /// <paramref name="offset"/>: 8-byte stores when all 8 are there and aligned, else byte stores.</summary>
    /// <remarks>Pixel words first, then the words joined: measured on the H100, this keeps the
    /// kernel at 72 registers, where building the output words byte by byte from
    /// <see cref="Channels"/> took 90 (fewer groups per SM) for the same speed.</remarks>
    internal static void Store(ArrayView<ulong> outLongs, ArrayView<byte> outBytes, int offset, Row8 row, Row8 alpha,
        uint transform, int channels, int valid)
    {
        uint q0 = Pixel(row.X0, alpha.X0, transform, channels), q1 = Pixel(row.X1, alpha.X1, transform, channels);
        uint q2 = Pixel(row.X2, alpha.X2, transform, channels), q3 = Pixel(row.X3, alpha.X3, transform, channels);
        uint q4 = Pixel(row.X4, alpha.X4, transform, channels), q5 = Pixel(row.X5, alpha.X5, transform, channels);
        uint q6 = Pixel(row.X6, alpha.X6, transform, channels), q7 = Pixel(row.X7, alpha.X7, transform, channels);
        if (valid == RowCoding.GroupSize && (offset & 7) == 0)
        {
            int at = offset >> 3;
            if (channels == 1)
            {
                outLongs[at] = Join(q0 | q1 << 8 | q2 << 16 | q3 << 24, q4 | q5 << 8 | q6 << 16 | q7 << 24);
            }
            else if (channels == 3)
            {
                outLongs[at] = Join(q0 | q1 << 24, q1 >> 8 | q2 << 16);
                outLongs[at + 1] = Join(q2 >> 16 | q3 << 8, q4 | q5 << 24);
                outLongs[at + 2] = Join(q5 >> 8 | q6 << 16, q6 >> 16 | q7 << 8);
            }
            else
            {
                outLongs[at] = Join(q0, q1);
                outLongs[at + 1] = Join(q2, q3);
                outLongs[at + 2] = Join(q4, q5);
                outLongs[at + 3] = Join(q6, q7);
            }
            return;
        }
        StorePixel(outBytes, offset, q0, channels);
        if (valid > 1) StorePixel(outBytes, offset + channels, q1, channels);
        if (valid > 2) StorePixel(outBytes, offset + 2 * channels, q2, channels);
        if (valid > 3) StorePixel(outBytes, offset + 3 * channels, q3, channels);
        if (valid > 4) StorePixel(outBytes, offset + 4 * channels, q4, channels);
        if (valid > 5) StorePixel(outBytes, offset + 5 * channels, q5, channels);
        if (valid > 6) StorePixel(outBytes, offset + 6 * channels, q6, channels);
        if (valid > 7) StorePixel(outBytes, offset + 7 * channels, q7, channels);
    }

    /// <summary>A pixel's interleaved bytes from its planes' word (and alpha's), colours restored.</summary>
    private static uint Pixel(uint planes, uint alpha, uint transform, int channels)
    {
        if (channels == 1) return planes & 0xFF;
        uint rgb = SwarRowCoding.RestoreInterleaved(planes, transform);
        return channels == 4 ? rgb | (alpha & 0xFF) << 24 : rgb;
    }

    private static void StorePixel(ArrayView<byte> outBytes, int offset, uint pixel, int channels)
    {
        outBytes[offset] = (byte)pixel;
        if (channels > 1)
        {
            outBytes[offset + 1] = (byte)(pixel >> 8);
            outBytes[offset + 2] = (byte)(pixel >> 16);
        }
        if (channels > 3) outBytes[offset + 3] = (byte)(pixel >> 24);
    }

    /// <summary>
    /// Writes the lane's <paramref name="valid"/> pixels of a row into the planes, plane c at
    /// <paramref name="offset"/> + c × <paramref name="planeStride"/>: one 8-byte store a plane when
    /// all 8 are there and aligned, else byte stores.
    /// </summary>
    private static void StorePlanar(ArrayView<ulong> outLongs, ArrayView<byte> outBytes, int offset, int planeStride,
        Row8 row, Row8 alpha, uint transform, int channels, int valid)
    {
        var c = Channels(row, alpha, transform, channels);
        bool whole = valid == RowCoding.GroupSize && (offset & 7) == 0 && (planeStride & 7) == 0;
        for (int k = 0; k < channels; k++)
        {
            var plane = k == 0 ? c.R : k == 1 ? c.G : k == 2 ? c.B : c.A;
            int at = offset + k * planeStride;
            if (whole)
            {
                outLongs[at >> 3] = Join(Bytes4(plane.X0, plane.X1, plane.X2, plane.X3), Bytes4(plane.X4, plane.X5, plane.X6, plane.X7));
                continue;
            }
            outBytes[at] = (byte)plane.X0;
            if (valid > 1) outBytes[at + 1] = (byte)plane.X1;
            if (valid > 2) outBytes[at + 2] = (byte)plane.X2;
            if (valid > 3) outBytes[at + 3] = (byte)plane.X3;
            if (valid > 4) outBytes[at + 4] = (byte)plane.X4;
            if (valid > 5) outBytes[at + 5] = (byte)plane.X5;
            if (valid > 6) outBytes[at + 6] = (byte)plane.X6;
            if (valid > 7) outBytes[at + 7] = (byte)plane.X7;
        }
    }

    /// <summary>
    /// The output channels of the lane's 8 pixels for the planar store, each in the low byte of a
    /// word (higher bits are whatever is left: the store takes the low byte), colours restored
    /// (<see cref="SwarRowCoding.RedBlue"/>).
    /// </summary>
    private static Channels8 Channels(Row8 row, Row8 alpha, uint transform, int channels)
    {
        if (channels == 1) return new Channels8 { R = row };
        var c = new Channels8
        {
            A = alpha,
            G = new Row8
            {
                X0 = SwarRowCoding.Green(row.X0), X1 = SwarRowCoding.Green(row.X1), X2 = SwarRowCoding.Green(row.X2),
                X3 = SwarRowCoding.Green(row.X3), X4 = SwarRowCoding.Green(row.X4), X5 = SwarRowCoding.Green(row.X5),
                X6 = SwarRowCoding.Green(row.X6), X7 = SwarRowCoding.Green(row.X7),
            },
            R = new Row8
            {
                X0 = SwarRowCoding.RedBlue(row.X0, transform), X1 = SwarRowCoding.RedBlue(row.X1, transform),
                X2 = SwarRowCoding.RedBlue(row.X2, transform), X3 = SwarRowCoding.RedBlue(row.X3, transform),
                X4 = SwarRowCoding.RedBlue(row.X4, transform), X5 = SwarRowCoding.RedBlue(row.X5, transform),
                X6 = SwarRowCoding.RedBlue(row.X6, transform), X7 = SwarRowCoding.RedBlue(row.X7, transform),
            },
        };
        c.B = new Row8
        {
            X0 = SwarRowCoding.Blue(c.R.X0), X1 = SwarRowCoding.Blue(c.R.X1), X2 = SwarRowCoding.Blue(c.R.X2),
            X3 = SwarRowCoding.Blue(c.R.X3), X4 = SwarRowCoding.Blue(c.R.X4), X5 = SwarRowCoding.Blue(c.R.X5),
            X6 = SwarRowCoding.Blue(c.R.X6), X7 = SwarRowCoding.Blue(c.R.X7),
        };
        return c;
    }

    /// <summary>Four low bytes side by side.</summary>
    private static uint Bytes4(uint b0, uint b1, uint b2, uint b3) =>
        (b0 & 0xFF) | (b1 & 0xFF) << 8 | (b2 & 0xFF) << 16 | b3 << 24;

    private static ulong Join(uint low, uint high) => low | (ulong)high << 32;

    /// <summary>Inclusive scan over the <paramref name="lanes"/> lanes of a patch (1, 2, 4 or 8,
    /// a compile-time constant: written out, so that no loop is left). Lanes of the patch below
    /// the distance add 0: a multiply-add by a 0/1 flag, not a select.</summary>
    private static uint SegmentScan(uint x, int g, int lanes)
    {
        if (lanes > 1) x += Warp.ShuffleUp(x, 1) * (g >= 1 ? 1u : 0u);
        if (lanes > 2) x += Warp.ShuffleUp(x, 2) * (g >= 2 ? 1u : 0u);
        if (lanes > 4) x += Warp.ShuffleUp(x, 4) * (g >= 4 ? 1u : 0u);
        return x;
    }

    /// <summary>The sum over the patch's lanes, in every lane.</summary>
    private static int SegmentSum(int x, int lanes)
    {
        if (lanes > 1) x += Warp.ShuffleXor(x, 1);
        if (lanes > 2) x += Warp.ShuffleXor(x, 2);
        if (lanes > 4) x += Warp.ShuffleXor(x, 4);
        return x;
    }

    /// <summary>This lane's share of the sum of the nibbles in bytes [start, start + length),
    /// 8 bytes a load (the patch's lanes take turns).</summary>
    private static int NibbleSum(ArrayView<ulong> data, int start, int length, int lane, int lanes)
    {
        int end = start + length;
        int sum = 0;
        for (int k = (start >> 3) + lane; k * 8 < end; k += lanes)
        {
            ulong x = data[k];
            int from = start - k * 8, to = end - k * 8;  // the bytes of word k inside the range
            if (from > 0) x &= ~0UL << (8 * from);
            if (to < 8) x &= (1UL << (8 * to)) - 1;
            sum += NibbleTotal((uint)x) + NibbleTotal((uint)(x >> 32));
        }
        return sum;
    }

    private static int NibbleTotal(uint x)
    {
        uint bytes = (x & 0x0F0F0F0Fu) + ((x >> 4) & 0x0F0F0F0Fu);
        return (int)((bytes * 0x01010101u) >> 24);
    }

    /// <summary>Byte <paramref name="offset"/> of the word buffer.</summary>
    private static uint ByteAt(ArrayView<uint> words, int offset) => (words[offset >> 2] >> ((offset & 3) << 3)) & 0xFF;

    private static int Min(int a, int b) => a < b ? a : b;
    private static int Max(int a, int b) => a > b ? a : b;
}

/// <summary>Where a lane sits in its patch, and the patch's shape.</summary>
internal struct PatchLane
{
    /// <summary>The lane's width group, the patch's lanes and its first lane in the warp.</summary>
    public int G, Lanes, SegFirst;
    /// <summary>Patch height and width groups per row.</summary>
    public int H, Groups;
    /// <summary><see cref="GpuDecodeShape.ZeroWord"/>.</summary>
    public int ZeroWord;
}

/// <summary>One plane of a patch as a lane decodes it.</summary>
internal struct PlaneCursor
{
    /// <summary>This lane's 8 rows (8g to 8g + 7) of the zero-row mask and predictor array: row
    /// 8g + i in bits 3i (zero row) and 3i + 1, 3i + 2 (predictor).</summary>
    public uint Header;
    /// <summary>Nibble index (from byte 0 of the data) of the next coded row's first width.</summary>
    public int NibbleAt;
    /// <summary>Byte offset of the next fetched row's groups; where the plane's block ends.</summary>
    public int Groups, End;
    /// <summary>The row last read ahead: the word holding this lane's width nibble, and the
    /// nibble's shift with the row's predictor (<see cref="GpuDecodeKernel"/>.ReadRowHeader).</summary>
    public uint NextWord;
    public int NextInfo;
    /// <summary>The row fetched: the three words around this lane's group and the group's byte offset.</summary>
    public uint W0, W1, W2;
    public int At;
}

/// <summary>The planes of a patch (as many as it has channels) and the fetched row's widths
/// (this lane's, 8 bits a plane) and predictors (SWAR fields; alpha's apart).</summary>
internal struct Planes
{
    public PlaneCursor P0, P1, P2, P3;
    public uint Widths, Predictors, AlphaPredictor;
}

/// <summary>The output channels of a lane's 8 pixels, one word per channel and pixel (low byte).</summary>
internal struct Channels8
{
    public Row8 R, G, B, A;
}

/// <summary>A lane's 8 slots of a row: SWAR words of codes or of pixels.</summary>
internal struct Row8
{
    public uint X0, X1, X2, X3, X4, X5, X6, X7;
}
