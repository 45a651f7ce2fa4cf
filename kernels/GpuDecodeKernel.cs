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
/// One warp decodes 32 / L patches side by side, L = N / 8 lanes per patch: lane g of a patch owns
/// width group g, i.e. 8 columns, of every row, for every channel. Per row a lane reads its width
/// nibble of each channel; one segmented warp scan of the nibbles (all channels packed in one
/// word, 8 bits each) gives each group's byte offset in the row. Per channel the lane unpacks its
/// 8 codes (32-bit halves), sums them, and a segmented scan of the lane sums turns the row into one
/// prefix sum (<see cref="RowCoding"/>: pixel = base from the row above + running sum). The row
/// above is kept in registers, one plane at a time (<see cref="PlaneRow"/>); its first pixel and
/// the next lane's first pixel come by shuffle. Each finished row is packed to interleaved bytes,
/// staged in shared memory and written with coalesced 32-bit stores: one run of words per warp
/// when its patches are whole and adjacent, else per patch with byte stores at unaligned edges.
/// Measured on an H100 (bench/RESULTS.md, "GPU"): 464 GB/s of RGB output at batch 256.
/// Nothing here checks the file: the host validated every patch before the launch.
/// </remarks>
public static class GpuDecodeKernel
{
    /// <summary>Threads per group the host launches with on a GPU.</summary>
    public const int GroupSize = 128;

    /// <summary>Shared words per warp: 32 lanes × 8 pixels × at most 4 channels / 4 bytes.</summary>
    public const int StageWordsPerWarp = 256;

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
    /// The kernel. <paramref name="data"/> holds the files (each starting at word
    /// <paramref name="fileWords"/>[i]) and at least 16 bytes of padding after the last;
    /// <paramref name="outWords"/> and <paramref name="outBytes"/> are the same output memory
    /// (images back to back, interleaved HWC), as words and as bytes.
    /// </summary>
    public static void Decode(
        ArrayView<uint> data,
        ArrayView<int> fileWords,
        ArrayView<uint> outWords,
        ArrayView<byte> outBytes,
        GpuDecodeShape shape,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue)
    {
        int n = patchSizeValue.Value;
        int channels = channelsValue.Value;
        int lanesPerPatch = n / RowCoding.GroupSize;
        int patchesPerWarp = 32 / lanesPerPatch;

        var stage = SharedMemory.Allocate<uint>(GroupSize / 32 * StageWordsPerWarp);
        int lane = Warp.LaneIdx;
        int stageBase = Warp.WarpIdx * StageWordsPerWarp;
        int warpsPerGroup = Group.DimX / 32;
        long globalWarp = (long)Grid.IdxX * warpsPerGroup + Warp.WarpIdx;

        int seg = lane / lanesPerPatch;
        int g = lane - seg * lanesPerPatch;
        int segFirst = seg * lanesPerPatch;
        int segLast = segFirst + lanesPerPatch - 1;

        long slot = globalWarp * patchesPerWarp + seg;
        bool active = slot < (long)shape.Images * shape.PatchCount;
        int image = active ? (int)(slot / shape.PatchCount) : 0;
        int patch = active ? (int)(slot - (long)image * shape.PatchCount) : 0;
        int py = patch / shape.PatchesX;
        int px = patch - py * shape.PatchesX;
        int w = active ? IntrinsicMin(n, shape.Width - px * n) : 0;
        int h = active ? IntrinsicMin(n, shape.Height - py * n) : 0;
        int groups = RowCoding.GroupsPerRow(w);
        bool hasGroup = g < groups;
        int valid = IntrinsicMax(0, IntrinsicMin(RowCoding.GroupSize, w - g * RowCoding.GroupSize));

        int fileByte = fileWords[image] * 4;
        int patchStart = fileByte + shape.PayloadStart + (int)data[fileWords[image] + 8 + patch];
        int flags = active ? ByteAt(data, patchStart) : 0;

        // Channel starts: channel c + 1 begins after channel c's groups, whose total is the sum of
        // its width nibbles. The patch's lanes add them up together, a word at a time.
        int maskBytes = RowCoding.ZeroMaskBytes(h);
        int predictorBytes = RowCoding.PredictorBytes(h);
        PlaneRow p0 = default, p1 = default, p2 = default, p3 = default;
        int at = patchStart + 1;
        for (int c = 0; c < channels; c++)
        {
            // rows that are not zero rows (a clear bit of the zero-row mask) have widths and groups
            // the mask (at most 64 rows) is kept in registers: one bit a row
            ulong zeroRows = 0;
            for (int k = 0; k < maskBytes; k++)
                zeroRows |= (ulong)(uint)ByteAt(data, at + k) << (8 * k);
            int codedRows = h - IntrinsicMath.BitOperations.PopCount(zeroRows);
            int widthBytes = RowCoding.WidthBytes(codedRows, groups);
            int ws = at + maskBytes + predictorBytes;
            int sum = active ? NibbleSum(data, ws, widthBytes, g, lanesPerPatch) : 0;
            if (lanesPerPatch > 1) sum += Warp.ShuffleXor(sum, 1);
            if (lanesPerPatch > 2) sum += Warp.ShuffleXor(sum, 2);
            if (lanesPerPatch > 4) sum += Warp.ShuffleXor(sum, 4);
            var plane = new PlaneRow { ZeroRows = zeroRows, Predictors = at + maskBytes, Widths = ws, Groups = ws + widthBytes };
            if (c == 0) p0 = plane;
            else if (c == 1) p1 = plane;
            else if (c == 2) p2 = plane;
            else p3 = plane;
            at = ws + widthBytes + sum;
        }

        int rowBytes = w * channels;
        int rowStride = shape.Width * channels;
        int outRow = image * shape.ImageBytes + (py * n * shape.Width + px * n) * channels;
        int wordsPerPatchRow = n * channels / 4;
        int myWords = 2 * channels;

        // The fast store: the warp's patches are whole, side by side in one patch row of one image,
        // and rows start on word boundaries: the warp's row is one run of words.
        long firstSlot = globalWarp * patchesPerWarp;
        long lastSlot = firstSlot + patchesPerWarp - 1;
        int firstImage = (int)(firstSlot / shape.PatchCount);
        int firstPatch = (int)(firstSlot - (long)firstImage * shape.PatchCount);
        int firstPy = firstPatch / shape.PatchesX;
        int firstPx = firstPatch - firstPy * shape.PatchesX;
        bool fastStore = lastSlot < (long)shape.Images * shape.PatchCount
            && firstPx + patchesPerWarp <= shape.PatchesX
            && (firstPx + patchesPerWarp) * n <= shape.Width
            && (firstPy + 1) * n <= shape.Height
            && (rowStride & 3) == 0 && (shape.ImageBytes & 3) == 0;
        int fastWord = (firstImage * shape.ImageBytes + (firstPy * n * shape.Width + firstPx * n) * channels) >> 2;

        for (int r = 0; r < n; r++)
        {
            bool rowValid = r < h;

            // width nibbles of all channels, 8 bits each, and their segmented scan
            // (a zero row has none: its widths are 0, and the next coded row takes the next nibbles)
            uint packedWidths = 0;
            if (rowValid)
            {
                p0 = RowWidth(data, p0, r, groups, g, hasGroup);
                packedWidths = p0.RowWidth;
                if (channels > 1) { p1 = RowWidth(data, p1, r, groups, g, hasGroup); packedWidths |= p1.RowWidth << 8; }
                if (channels > 2) { p2 = RowWidth(data, p2, r, groups, g, hasGroup); packedWidths |= p2.RowWidth << 16; }
                if (channels > 3) { p3 = RowWidth(data, p3, r, groups, g, hasGroup); packedWidths |= p3.RowWidth << 24; }
            }
            uint inclusiveWidths = SegmentScan(packedWidths, g, lanesPerPatch);
            uint rowTotals = Warp.Shuffle(inclusiveWidths, segLast);
            uint exclusiveWidths = inclusiveWidths - packedWidths;

            p0 = DecodeRow(data, p0, packedWidths, exclusiveWidths, rowTotals, r, rowValid, g, lanesPerPatch, segFirst, valid, w);
            if (channels > 1)
                p1 = DecodeRow(data, p1, packedWidths >> 8, exclusiveWidths >> 8, rowTotals >> 8, r, rowValid, g, lanesPerPatch, segFirst, valid, w);
            if (channels > 2)
                p2 = DecodeRow(data, p2, packedWidths >> 16, exclusiveWidths >> 16, rowTotals >> 16, r, rowValid, g, lanesPerPatch, segFirst, valid, w);
            if (channels > 3)
                p3 = DecodeRow(data, p3, packedWidths >> 24, exclusiveWidths >> 24, rowTotals >> 24, r, rowValid, g, lanesPerPatch, segFirst, valid, w);

            // stage the lane's 8 × C bytes as 2C words, then store the rows coalesced
            int sb = stageBase + lane * myWords;
            if (channels == 1)
            {
                stage[sb] = (uint)(p0.T0 | (p0.T1 << 8) | (p0.T2 << 16) | (p0.T3 << 24));
                stage[sb + 1] = (uint)(p0.T4 | (p0.T5 << 8) | (p0.T6 << 16) | (p0.T7 << 24));
            }
            else
            {
                bool transform = (flags & 1) != 0;
                uint x0 = Pack(p0.T0, p1.T0, p2.T0, p3.T0, channels, transform);
                uint x1 = Pack(p0.T1, p1.T1, p2.T1, p3.T1, channels, transform);
                uint x2 = Pack(p0.T2, p1.T2, p2.T2, p3.T2, channels, transform);
                uint x3 = Pack(p0.T3, p1.T3, p2.T3, p3.T3, channels, transform);
                uint x4 = Pack(p0.T4, p1.T4, p2.T4, p3.T4, channels, transform);
                uint x5 = Pack(p0.T5, p1.T5, p2.T5, p3.T5, channels, transform);
                uint x6 = Pack(p0.T6, p1.T6, p2.T6, p3.T6, channels, transform);
                uint x7 = Pack(p0.T7, p1.T7, p2.T7, p3.T7, channels, transform);
                if (channels == 4)
                {
                    stage[sb] = x0; stage[sb + 1] = x1; stage[sb + 2] = x2; stage[sb + 3] = x3;
                    stage[sb + 4] = x4; stage[sb + 5] = x5; stage[sb + 6] = x6; stage[sb + 7] = x7;
                }
                else
                {
                    stage[sb] = x0 | (x1 << 24);
                    stage[sb + 1] = (x1 >> 8) | (x2 << 16);
                    stage[sb + 2] = (x2 >> 16) | (x3 << 8);
                    stage[sb + 3] = x4 | (x5 << 24);
                    stage[sb + 4] = (x5 >> 8) | (x6 << 16);
                    stage[sb + 5] = (x6 >> 16) | (x7 << 8);
                }
            }
            Warp.Barrier();

            if (fastStore)
            {
                int rowWord = fastWord + r * (rowStride >> 2);
                for (int k = 0; k < myWords; k++)
                    outWords[rowWord + lane + 32 * k] = stage[stageBase + lane + 32 * k];
            }
            else
            {
                int myRowStart = outRow + r * rowStride;
                int myRowBytes = rowValid ? rowBytes : 0;
                for (int k = 0; k < myWords; k++)
                {
                    int j = lane + 32 * k;
                    int owner = j / wordsPerPatchRow;
                    int byteInRow = (j - owner * wordsPerPatchRow) * 4;
                    int rowStart = Warp.Shuffle(myRowStart, owner * lanesPerPatch);
                    int limit = Warp.Shuffle(myRowBytes, owner * lanesPerPatch);
                    uint word = stage[stageBase + j];
                    int o = rowStart + byteInRow;
                    if (byteInRow + 4 <= limit && (o & 3) == 0)
                    {
                        outWords[o >> 2] = word;
                    }
                    else
                    {
                        for (int i = 0; i < 4; i++)
                            if (byteInRow + i < limit) outBytes[o + i] = (byte)(word >> (8 * i));
                    }
                }
            }
            Warp.Barrier();
        }
    }

    /// <summary>
    /// Decodes one row of one plane: the lane's 8 pixels from its group (width and offset from the
    /// nibble scan, low 8 bits of the packed arguments) and the row above in <paramref name="plane"/>.
    /// Slots past the row's end are set to the last pixel, so that every slot's top-right is the
    /// next slot (the rule's clamp at w − 1).
    /// </summary>
    private static PlaneRow DecodeRow(ArrayView<uint> data, PlaneRow plane, uint widths, uint exclusive, uint totals,
        int r, bool rowValid, int g, int lanesPerPatch, int segFirst, int valid, int w)
    {
        int width = (int)(widths & 0xFF);
        int first = Warp.Shuffle(plane.T0, segFirst);
        int next = Warp.ShuffleDown(plane.T0, 1);
        int t8 = (g + 1) * RowCoding.GroupSize < w ? next : plane.T7;
        ulong bits = rowValid ? Load64(data, plane.Groups + (int)(exclusive & 0xFF)) : 0UL;
        int predictor = rowValid ? RowCoding.PredictorOf(ByteAt(data, plane.Predictors + (r >> 2)), r) : 0;
        uint low = (uint)bits;
        uint high = (uint)(bits >> (4 * width));

        int e0 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 0));
        int e1 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 1));
        int e2 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 2));
        int e3 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 3));
        int e4 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 4));
        int e5 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 5));
        int e6 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 6));
        int e7 = RowCoding.Unzigzag(RowCoding.UnpackSlot(low, high, width, 7));
        // the lane's inclusive running sums, then the segment's exclusive scan of lane sums
        int a0 = e0, a1 = a0 + e1, a2 = a1 + e2, a3 = a2 + e3;
        int a4 = a3 + e4, a5 = a4 + e5, a6 = a5 + e6, a7 = a6 + e7;
        int laneSum = a7 & 0xFF;
        int carry = (int)SegmentScan((uint)laneSum, g, lanesPerPatch) - laneSum;

        var row = new PlaneRow
        {
            ZeroRows = plane.ZeroRows,
            Coded = plane.Coded,
            Predictors = plane.Predictors,
            Widths = plane.Widths,
            Groups = plane.Groups + (int)(totals & 0xFF),
            T0 = Pixel(predictor, plane.T0, plane.T1, first, carry + a0, e0),
            T1 = Pixel(predictor, plane.T1, plane.T2, first, carry + a1, e1),
            T2 = Pixel(predictor, plane.T2, plane.T3, first, carry + a2, e2),
            T3 = Pixel(predictor, plane.T3, plane.T4, first, carry + a3, e3),
            T4 = Pixel(predictor, plane.T4, plane.T5, first, carry + a4, e4),
            T5 = Pixel(predictor, plane.T5, plane.T6, first, carry + a5, e5),
            T6 = Pixel(predictor, plane.T6, plane.T7, first, carry + a6, e6),
            T7 = Pixel(predictor, plane.T7, t8, first, carry + a7, e7),
        };
        if (valid < RowCoding.GroupSize)
        {
            int last = valid <= 1 ? row.T0 : valid == 2 ? row.T1 : valid == 3 ? row.T2 : valid == 4 ? row.T3
                : valid == 5 ? row.T4 : valid == 6 ? row.T5 : row.T6;
            if (valid <= 1) row.T1 = last;
            if (valid <= 2) row.T2 = last;
            if (valid <= 3) row.T3 = last;
            if (valid <= 4) row.T4 = last;
            if (valid <= 5) row.T5 = last;
            if (valid <= 6) row.T6 = last;
            row.T7 = last;
        }
        return row;
    }

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

    /// <summary>A pixel's channels (planes restored when the patch is colour-transformed) in one word.</summary>
    private static uint Pack(int c0, int c1, int c2, int c3, int channels, bool transform)
    {
        if (transform)
        {
            c0 = ColorTransform.Restore(c0, c1);
            c2 = ColorTransform.Restore(c2, c1);
        }
        uint x = (uint)(c0 | (c1 << 8) | (c2 << 16));
        return channels == 4 ? x | (uint)(c3 << 24) : x;
    }

    private static int Nibble(ArrayView<uint> data, int widthArray, int index) =>
        RowCoding.NibbleOf(ByteAt(data, widthArray + (index >> 1)), index);

    /// <summary>Row <paramref name="r"/>'s width nibble of group <paramref name="g"/> (0 for a zero
    /// row), and the plane with its count of coded rows advanced past a coded row.</summary>
    private static PlaneRow RowWidth(ArrayView<uint> data, PlaneRow plane, int r, int groups, int g, bool hasGroup)
    {
        plane.RowWidth = 0;
        if (RowCoding.IsZeroRow((int)(plane.ZeroRows >> (r & ~7)), r)) return plane;
        if (hasGroup) plane.RowWidth = (uint)Nibble(data, plane.Widths, plane.Coded * groups + g);
        plane.Coded++;
        return plane;
    }

    /// <summary>One pixel of one plane, by the rules of <see cref="RowCoding"/>.</summary>
    private static int Pixel(int predictor, int top, int topRight, int topFirst, int sum, int residual) =>
        RowCoding.Reconstruct(RowCoding.Base(predictor, top, topRight, topFirst),
            RowCoding.Accumulates(predictor) ? sum : residual);

    /// <summary>Byte <paramref name="offset"/> of the word buffer.</summary>
    private static int ByteAt(ArrayView<uint> data, int offset) =>
        (int)((data[offset >> 2] >> ((offset & 3) << 3)) & 0xFF);

    /// <summary>The 8 bytes from <paramref name="offset"/> as a little-endian integer.</summary>
    private static ulong Load64(ArrayView<uint> data, int offset)
    {
        int word = offset >> 2;
        int shift = (offset & 3) << 3;
        ulong low = data[word] | ((ulong)data[word + 1] << 32);
        ulong high = data[word + 2];
        return (low >> shift) | ((high << 32) << (32 - shift));
    }

    /// <summary>This lane's share of the sum of the nibbles in bytes [start, start + length).</summary>
    private static int NibbleSum(ArrayView<uint> data, int start, int length, int lane, int lanes)
    {
        if (length <= 0) return 0;
        int firstWord = start >> 2;
        int lastWord = (start + length - 1) >> 2;
        int sum = 0;
        for (int k = firstWord + lane; k <= lastWord; k += lanes)
        {
            int byteStart = k * 4;
            int from = IntrinsicMax(0, start - byteStart);
            int to = IntrinsicMin(4, start + length - byteStart);
            uint mask = (to >= 4 ? 0xFFFFFFFFu : (1u << (to * 8)) - 1) & ~((1u << (from * 8)) - 1);
            uint x = data[k] & mask;
            uint nibbles = (x & 0x0F0F0F0Fu) + ((x >> 4) & 0x0F0F0F0Fu);
            sum += (int)((nibbles * 0x01010101u) >> 24);
        }
        return sum;
    }

    private static int IntrinsicMin(int a, int b) => a < b ? a : b;
    private static int IntrinsicMax(int a, int b) => a > b ? a : b;
}

/// <summary>One plane of a patch as a lane decodes it: where its arrays are, where its next row's
/// groups start, and the lane's 8 pixels of the row last decoded.</summary>
public struct PlaneRow
{
    public int Predictors, Widths, Groups;
    /// <summary>The zero-row mask, bit r for row r.</summary>
    public ulong ZeroRows;
    /// <summary>Coded (not zero) rows decoded so far: the next coded row's index in the width array.</summary>
    public int Coded;
    /// <summary>This lane's width nibble of the row being decoded.</summary>
    public uint RowWidth;
    public int T0, T1, T2, T3, T4, T5, T6, T7;
}
