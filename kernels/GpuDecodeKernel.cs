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
    /// <summary>Byte offset of the payload from a file's start: 40 + 4 (PatchCount + 1).</summary>
    public int PayloadStart;
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
/// holds byte g of each plane's zero-row mask and bytes 2g, 2g + 1 of its predictor array. A lane
/// reads its own width nibble; one segmented scan of the nibbles of all planes (8 bits each) gives
/// each group's offset in the row. Memory is read ahead: row r + 2's nibbles and row r + 1's groups
/// are loaded while row r is decoded.</para>
/// <para>A row: the lane's 8 codes per plane land in their fields, are unzigzagged, summed along
/// the lane, and a segmented scan of the lane sums turns the row into one prefix sum (pixel = base
/// from the row above + running sum, <see cref="RowCoding"/>). The row above stays in registers;
/// its first pixel and the next lane's first pixel come by shuffle. Each lane writes its 8 × C
/// bytes with 8-byte stores when they are 8-byte aligned and whole, byte stores otherwise (edges).</para>
/// <para>Nothing here checks the file: the host validated every patch before the launch.</para>
/// </remarks>
public static class GpuDecodeKernel
{
    /// <summary>Threads per group the host launches with on a GPU.</summary>
    public const int GroupSize = 128;

    /// <summary>Patches one warp decodes side by side.</summary>
    public static int PatchesPerWarp(int patchSize) => 32 / LanesPerPatch(patchSize);

    public static int LanesPerPatch(int patchSize) => patchSize / RowCoding.GroupSize;

    /// <summary>Groups (of <paramref name="groupSize"/> threads) to launch for <paramref name="patches"/> patches.</summary>
    public static int GroupsFor(long patches, int patchSize, int groupSize)
    {
        long warps = (patches + PatchesPerWarp(patchSize) - 1) / PatchesPerWarp(patchSize);
        int warpsPerGroup = groupSize / 32;
        return (int)((warps + warpsPerGroup - 1) / warpsPerGroup);
    }

    /// <summary>
    /// The kernel. <paramref name="data"/>, <paramref name="dataWords"/> and <paramref name="dataBytes"/>
    /// are the same memory (as 8-byte words, 4-byte words and bytes): the files, file i starting at 4-byte word
    /// <paramref name="fileWords"/>[i], and at least 16 bytes of padding after the last.
    /// <paramref name="outLongs"/> and <paramref name="outBytes"/> are the same 8-byte-aligned output
    /// (images back to back, interleaved HWC).
    /// </summary>
    public static void Decode(
        ArrayView<ulong> data,
        ArrayView<uint> dataWords,
        ArrayView<byte> dataBytes,
        ArrayView<int> fileWords,
        ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes,
        GpuDecodeShape shape,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue)
    {
        int n = patchSizeValue.Value;
        int channels = channelsValue.Value;
        int lanes = n / RowCoding.GroupSize;
        int patchesPerWarp = 32 / lanes;

        int lane = Warp.LaneIdx;
        long globalWarp = (long)Grid.IdxX * (Group.DimX / 32) + Warp.WarpIdx;
        int seg = lane / lanes;
        int g = lane - seg * lanes;
        int segFirst = seg * lanes;
        int segLast = segFirst + lanes - 1;

        long slot = globalWarp * patchesPerWarp + seg;
        bool active = slot < (long)shape.Images * shape.PatchCount;
        int image = active ? (int)(slot / shape.PatchCount) : 0;
        int patch = active ? (int)(slot - (long)image * shape.PatchCount) : 0;
        int py = patch / shape.PatchesX;
        int px = patch - py * shape.PatchesX;
        int w = active ? Min(n, shape.Width - px * n) : 0;
        int h = active ? Min(n, shape.Height - py * n) : 0;
        int groups = RowCoding.GroupsPerRow(w);
        int valid = Max(0, Min(RowCoding.GroupSize, w - g * RowCoding.GroupSize));
        bool lastLane = (g + 1) * RowCoding.GroupSize >= w;

        int fileByte = fileWords[image] * 4;
        int patchStart = fileByte + shape.PayloadStart + (int)dataWords[fileWords[image] + 8 + patch];
        uint transform = active && channels >= 3 && (dataBytes[patchStart] & 1) != 0 ? SwarRowCoding.RestorePlanes : 0u;

        // where each plane's block starts: after the previous block's groups, whose total is the
        // sum of its width nibbles, which the patch's lanes add up together
        var planes = default(Planes);
        int at = patchStart + 1;
        for (int c = 0; c < channels; c++)
        {
            var plane = OpenPlane(data, dataBytes, at, h, groups, g, lanes);
            if (c == 0) planes.P0 = plane;
            else if (c == 1) planes.P1 = plane;
            else if (c == 2) planes.P2 = plane;
            else planes.P3 = plane;
            at = plane.End;
        }

        int rowStride = shape.Width * channels;
        int laneOut = image * shape.ImageBytes + (py * n * shape.Width + px * n + g * RowCoding.GroupSize) * channels;

        // the pipeline: row 0's groups and row 1's nibbles before the loop
        planes = ReadRowHeaders(dataWords, planes, 0, h, segFirst, lanes, groups, g, channels);
        planes = FetchGroups(dataWords, planes, channels, g, lanes, segLast);
        planes = ReadRowHeaders(dataWords, planes, 1, h, segFirst, lanes, groups, g, channels);

        var above = default(Row8);       // planes 0..2 (clean words); the row above row 0 is zero
        var aboveAlpha = default(Row8);  // plane 3
        for (int r = 0; r < n; r++)
        {
            // this row's codes and predictors, taken before the read-ahead overwrites them
            var codes = Codes(planes.P0, 0, default);
            uint predictors = (uint)PredictorOf(planes.P0);
            if (channels > 1) { codes = Codes(planes.P1, 1, codes); predictors |= SwarRowCoding.Field((uint)PredictorOf(planes.P1), 1); }
            if (channels > 2) { codes = Codes(planes.P2, 2, codes); predictors |= SwarRowCoding.Field((uint)PredictorOf(planes.P2), 2); }
            var alphaCodes = channels > 3 ? Codes(planes.P3, 0, default) : default;
            uint alphaPredictor = channels > 3 ? (uint)PredictorOf(planes.P3) : 0u;

            // read ahead: row r + 1's groups (its nibbles are in), then row r + 2's nibbles
            planes = FetchGroups(dataWords, planes, channels, g, lanes, segLast);
            planes = ReadRowHeaders(dataWords, planes, r + 2, h, segFirst, lanes, groups, g, channels);

            above = DecodeRow(above, codes, SwarRowCoding.Masks(predictors), g, lanes, segFirst, valid, lastLane);
            if (channels > 3)
                aboveAlpha = DecodeRow(aboveAlpha, alphaCodes, SwarRowCoding.Masks(alphaPredictor), g, lanes, segFirst, valid, lastLane);

            if (r < h && valid > 0)
                Store(outLongs, outBytes, laneOut + r * rowStride, above, aboveAlpha, transform, channels, valid);
        }
    }

    /// <summary>
    /// Opens one plane's channel block at byte <paramref name="at"/>: this lane's bytes of the
    /// zero-row mask and predictor array (in <see cref="PlaneCursor.Header"/>), where the widths and
    /// the groups start, and where the next block starts.
    /// </summary>
    private static PlaneCursor OpenPlane(ArrayView<ulong> data, ArrayView<byte> bytes, int at, int h, int groups, int g, int lanes)
    {
        int maskBytes = RowCoding.ZeroMaskBytes(h);
        int predictorBytes = RowCoding.PredictorBytes(h);
        int predictors = at + maskBytes;
        uint mask = g < maskBytes ? bytes[at + g] : 0u;
        uint header = mask
            | (2 * g < predictorBytes ? (uint)bytes[predictors + 2 * g] << 8 : 0u)
            | (2 * g + 1 < predictorBytes ? (uint)bytes[predictors + 2 * g + 1] << 16 : 0u);
        int zeroRows = SegmentSum(IntrinsicMath.BitOperations.PopCount(mask), lanes);
        int widths = predictors + predictorBytes;
        int widthBytes = RowCoding.WidthBytes(h - zeroRows, groups);
        int groupBytes = SegmentSum(NibbleSum(data, widths, widthBytes, g, lanes), lanes);
        return new PlaneCursor
        {
            Header = header, NibbleAt = 2 * widths, Groups = widths + widthBytes, End = widths + widthBytes + groupBytes,
        };
    }

    /// <summary>
    /// Reads ahead row <paramref name="r"/>'s header of one plane: its predictor, and the word that
    /// holds this lane's width nibble with the nibble's shift in it (8 × 4 = past the word's end for a
    /// zero row, a row past h, a lane past the last group, so that the width reads as 0). The nibble
    /// is taken out a row later (<see cref="FetchGroups"/>), when the load has landed; the cursor's
    /// nibble index moves past a coded row.
    /// </summary>
    private static PlaneCursor ReadRowHeader(ArrayView<uint> words, PlaneCursor plane, int r, int h,
        int segFirst, int lanes, int groups, int g)
    {
        uint header = Warp.Shuffle(plane.Header, segFirst + Min(r >> 3, lanes - 1));
        bool zero = r >= h || RowCoding.IsZeroRow((int)header, r);
        int index = plane.NibbleAt + g;
        plane.NextWord = words[index >> 3];
        int predictor = RowCoding.PredictorOf((int)(header >> 8) >> (((r >> 2) & 1) * 8), r);
        plane.NextInfo = (zero || g >= groups ? 32 : (index & 7) * 4) | predictor << 8;
        plane.NibbleAt += zero ? 0 : groups;
        return plane;
    }

    /// <summary>
    /// Loads the groups of the row whose nibbles were read last: one segmented scan of the lanes'
    /// nibbles (all planes, 8 bits each) gives each lane's offset and each plane's row length.
    /// </summary>
    private static Planes FetchGroups(ArrayView<uint> words, Planes planes, int channels, int g, int lanes, int segLast)
    {
        uint widths = NextWidth(planes.P0);
        if (channels > 1) widths |= NextWidth(planes.P1) << 8;
        if (channels > 2) widths |= NextWidth(planes.P2) << 16;
        if (channels > 3) widths |= NextWidth(planes.P3) << 24;
        uint inclusive = SegmentScan(widths, g, lanes);
        uint totals = Warp.Shuffle(inclusive, segLast);
        uint offsets = inclusive - widths;
        planes.P0 = Fetch(words, planes.P0, widths, offsets, totals);
        if (channels > 1) planes.P1 = Fetch(words, planes.P1, widths >> 8, offsets >> 8, totals >> 8);
        if (channels > 2) planes.P2 = Fetch(words, planes.P2, widths >> 16, offsets >> 16, totals >> 16);
        if (channels > 3) planes.P3 = Fetch(words, planes.P3, widths >> 24, offsets >> 24, totals >> 24);
        return planes;
    }

    /// <summary>The width nibble read ahead (0 when its shift is 32: see <see cref="ReadRowHeader"/>).</summary>
    private static uint NextWidth(PlaneCursor plane)
    {
        int shift = plane.NextInfo & 63;
        return shift >= 32 ? 0u : (plane.NextWord >> shift) & 0xF;
    }

    /// <summary>Row <paramref name="r"/>'s headers of every plane (<see cref="ReadRowHeader"/>).</summary>
    private static Planes ReadRowHeaders(ArrayView<uint> words, Planes planes, int r, int h,
        int segFirst, int lanes, int groups, int g, int channels)
    {
        planes.P0 = ReadRowHeader(words, planes.P0, r, h, segFirst, lanes, groups, g);
        if (channels > 1) planes.P1 = ReadRowHeader(words, planes.P1, r, h, segFirst, lanes, groups, g);
        if (channels > 2) planes.P2 = ReadRowHeader(words, planes.P2, r, h, segFirst, lanes, groups, g);
        if (channels > 3) planes.P3 = ReadRowHeader(words, planes.P3, r, h, segFirst, lanes, groups, g);
        return planes;
    }

    /// <summary>Starts loading this lane's group: the three words around it, taken apart a row later
    /// (<see cref="Codes"/>); <see cref="PlaneCursor.Info"/> keeps its byte shift, width and predictor.</summary>
    private static PlaneCursor Fetch(ArrayView<uint> words, PlaneCursor plane, uint width, uint offset, uint total)
    {
        int at = plane.Groups + (int)(offset & 0xFF);
        int word = at >> 2;
        plane.W0 = words[word];
        plane.W1 = words[word + 1];
        plane.W2 = words[word + 2];
        plane.Info = (at & 3) * 8 | (int)(width & 0xF) << 8 | (plane.NextInfo >> 8) << 16;
        plane.Groups += (int)(total & 0xFF);
        return plane;
    }

    private static int PredictorOf(PlaneCursor plane) => plane.Info >> 16;

    /// <summary>The lane's 8 codes of one plane (<see cref="RowCoding.UnpackSlot(ulong, int, int)"/>)
    /// placed in field <paramref name="field"/> of <paramref name="codes"/>.</summary>
    private static Row8 Codes(PlaneCursor plane, int field, Row8 codes)
    {
        int width = (plane.Info >> 8) & 0xF;
        int byteShift = plane.Info & 31;
        // the group's first 8 bytes, from the three words around it
        ulong bits = (ulong)(uint)((((ulong)plane.W1 << 32) | plane.W0) >> byteShift)
            | (ulong)(uint)((((ulong)plane.W2 << 32) | plane.W1) >> byteShift) << 32;
        int shift = field * SwarRowCoding.FieldBits;
        uint mask = ((1u << width) - 1) << shift;
        // each half shifted up to the field first, so a code needs one funnel shift and one mask
        ulong low = (ulong)(uint)bits << shift;
        ulong high = (ulong)(uint)(bits >> (4 * width)) << shift;
        int w2 = width + width, w3 = w2 + width;
        codes.X0 |= (uint)low & mask;
        codes.X1 |= (uint)(low >> width) & mask;
        codes.X2 |= (uint)(low >> w2) & mask;
        codes.X3 |= (uint)(low >> w3) & mask;
        codes.X4 |= (uint)high & mask;
        codes.X5 |= (uint)(high >> width) & mask;
        codes.X6 |= (uint)(high >> w2) & mask;
        codes.X7 |= (uint)(high >> w3) & mask;
        return codes;
    }

    /// <summary>
    /// Decodes the lane's 8 pixels of one row (SWAR words) from its codes and the row above. Slots
    /// past the row's end repeat the last pixel, so that every slot's top-right is the next slot
    /// (the rule's clamp at w − 1).
    /// </summary>
    private static Row8 DecodeRow(Row8 above, Row8 codes, RowMasks masks, int g, int lanes, int segFirst, int valid, bool lastLane)
    {
        uint first = Warp.Shuffle(above.X0, segFirst);
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
        uint carry = SwarRowCoding.Clean(SegmentScan(laneSum, g, lanes) - laneSum);

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
    private static void Store(ArrayView<ulong> outLongs, ArrayView<byte> outBytes, int offset, Row8 row, Row8 alpha,
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

    private static ulong Join(uint low, uint high) => low | (ulong)high << 32;

    /// <summary>Inclusive scan over the <paramref name="lanes"/> lanes of a patch (1, 2, 4 or 8,
    /// a compile-time constant: written out, so that no loop is left).</summary>
    private static uint SegmentScan(uint x, int g, int lanes)
    {
        if (lanes > 1)
        {
            uint up = Warp.ShuffleUp(x, 1);
            x += g >= 1 ? up : 0u;
        }
        if (lanes > 2)
        {
            uint up = Warp.ShuffleUp(x, 2);
            x += g >= 2 ? up : 0u;
        }
        if (lanes > 4)
        {
            uint up = Warp.ShuffleUp(x, 4);
            x += g >= 4 ? up : 0u;
        }
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

    private static int Min(int a, int b) => a < b ? a : b;
    private static int Max(int a, int b) => a > b ? a : b;
}

/// <summary>One plane of a patch as a lane decodes it.</summary>
public struct PlaneCursor
{
    /// <summary>This lane's byte of the plane's zero-row mask (bits 0–7) and two bytes of its
    /// predictor array (bits 8–23): rows 8g to 8g + 7.</summary>
    public uint Header;
    /// <summary>Nibble index (from byte 0 of the data) of the next coded row's first width.</summary>
    public int NibbleAt;
    /// <summary>Byte offset of the next fetched row's groups; where the plane's block ends.</summary>
    public int Groups, End;
    /// <summary>The row last read ahead: the word holding this lane's width nibble; the nibble's
    /// shift (bits 0–5) and the row's predictor (bits 8–9).</summary>
    public uint NextWord;
    public int NextInfo;
    /// <summary>The row fetched: the three words around this lane's group; its byte shift × 8
    /// (bits 0–4), width (bits 8–11) and the row's predictor (bits 16–17).</summary>
    public uint W0, W1, W2;
    public int Info;
}

/// <summary>The planes of a patch (as many as it has channels).</summary>
public struct Planes
{
    public PlaneCursor P0, P1, P2, P3;
}

/// <summary>A lane's 8 slots of a row: SWAR words of codes or of pixels.</summary>
public struct Row8
{
    public uint X0, X1, X2, X3, X4, X5, X6, X7;
}
