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
/// width group g, i.e. 8 columns, of every row, and carries all channels of a pixel in one 32-bit
/// word. Per row and channel a lane reads its width nibble; a segmented warp scan of the nibbles
/// (all channels packed in one word) gives each group's byte offset in the row; the lane unpacks
/// its 8 codes, sums them, and a second segmented scan of the lane sums turns the row into one
/// prefix sum (<see cref="RowCoding"/>: pixel = base from the row above + running sum). The row
/// above is kept in registers; its first pixel and the next lane's first pixel come by shuffle.
/// Each finished row is staged in shared memory and written out with coalesced 32-bit stores.
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
        int predictorBytes = RowCoding.PredictorBytes(h);
        int widthBytes = RowCoding.WidthBytes(h, groups);
        Int4 predStart = default, widthStart = default, rowPtr = default;
        int at = patchStart + 1;
        for (int c = 0; c < channels; c++)
        {
            int ws = at + predictorBytes;
            predStart = predStart.With(c, at);
            widthStart = widthStart.With(c, ws);
            int sum = active ? NibbleSum(data, ws, widthBytes, g, lanesPerPatch) : 0;
            for (int d = 1; d < lanesPerPatch; d <<= 1)
                sum += Warp.ShuffleXor(sum, d);
            rowPtr = rowPtr.With(c, ws + widthBytes);
            at = ws + widthBytes + sum;
        }

        int rowBytes = w * channels;
        int rowStride = shape.Width * channels;
        int outRow = image * shape.ImageBytes + (py * n * shape.Width + px * n) * channels;
        int wordsPerPatchRow = n * channels / 4;
        int myWords = 2 * channels;

        uint t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        for (int r = 0; r < n; r++)
        {
            bool rowValid = r < h;

            // the row above: its first pixel and, for slot 7's top-right, the next lane's first
            uint tFirst = Warp.Shuffle(t0, segFirst);
            uint tNext = Warp.ShuffleDown(t0, 1);
            uint t8 = (g + 1) * RowCoding.GroupSize < w ? tNext : t7;

            // width nibbles of all channels, 8 bits each, and their segmented scan
            int nibbleIndex = r * groups + g;
            uint packedWidths = 0;
            if (rowValid && hasGroup)
            {
                for (int c = 0; c < channels; c++)
                {
                    int nib = RowCoding.NibbleOf(ByteAt(data, widthStart.Get(c) + (nibbleIndex >> 1)), nibbleIndex);
                    packedWidths |= (uint)nib << (8 * c);
                }
            }
            uint inclusiveWidths = packedWidths;
            for (int d = 1; d < lanesPerPatch; d <<= 1)
            {
                uint up = Warp.ShuffleUp(inclusiveWidths, d);
                if (g >= d) inclusiveWidths += up;
            }
            uint rowTotals = Warp.Shuffle(inclusiveWidths, segLast);
            uint exclusiveWidths = inclusiveWidths - packedWidths;

            uint v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0, v6 = 0, v7 = 0;
            for (int c = 0; c < channels; c++)
            {
                int shift = 8 * c;
                int width = (int)((packedWidths >> shift) & 0xFF);
                int ptr = rowPtr.Get(c);
                ulong bits = rowValid ? Load64(data, ptr + (int)((exclusiveWidths >> shift) & 0xFF)) : 0UL;
                int predictor = rowValid ? RowCoding.PredictorOf(ByteAt(data, predStart.Get(c) + (r >> 2)), r) : 0;
                rowPtr = rowPtr.With(c, ptr + (int)((rowTotals >> shift) & 0xFF));

                int e0 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 0));
                int e1 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 1));
                int e2 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 2));
                int e3 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 3));
                int e4 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 4));
                int e5 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 5));
                int e6 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 6));
                int e7 = RowCoding.Unzigzag(RowCoding.UnpackSlot(bits, width, 7));
                // the lane's inclusive running sums, then the segment's exclusive scan of lane sums
                int a0 = e0, a1 = a0 + e1, a2 = a1 + e2, a3 = a2 + e3;
                int a4 = a3 + e4, a5 = a4 + e5, a6 = a5 + e6, a7 = a6 + e7;
                int laneSum = a7 & 0xFF;
                int carry = laneSum;
                for (int d = 1; d < lanesPerPatch; d <<= 1)
                {
                    int up = Warp.ShuffleUp(carry, d);
                    if (g >= d) carry += up;
                }
                carry -= laneSum;

                int first = Channel(tFirst, shift);
                v0 |= Pixel(predictor, Channel(t0, shift), Channel(1 < valid ? t1 : t0, shift), first, carry + a0, e0) << shift;
                v1 |= Pixel(predictor, Channel(t1, shift), Channel(2 < valid ? t2 : t1, shift), first, carry + a1, e1) << shift;
                v2 |= Pixel(predictor, Channel(t2, shift), Channel(3 < valid ? t3 : t2, shift), first, carry + a2, e2) << shift;
                v3 |= Pixel(predictor, Channel(t3, shift), Channel(4 < valid ? t4 : t3, shift), first, carry + a3, e3) << shift;
                v4 |= Pixel(predictor, Channel(t4, shift), Channel(5 < valid ? t5 : t4, shift), first, carry + a4, e4) << shift;
                v5 |= Pixel(predictor, Channel(t5, shift), Channel(6 < valid ? t6 : t5, shift), first, carry + a5, e5) << shift;
                v6 |= Pixel(predictor, Channel(t6, shift), Channel(7 < valid ? t7 : t6, shift), first, carry + a6, e6) << shift;
                v7 |= Pixel(predictor, Channel(t7, shift), Channel(t8, shift), first, carry + a7, e7) << shift;
            }
            t0 = v0; t1 = v1; t2 = v2; t3 = v3; t4 = v4; t5 = v5; t6 = v6; t7 = v7;

            if ((flags & 1) != 0)
            {
                v0 = Restore(v0); v1 = Restore(v1); v2 = Restore(v2); v3 = Restore(v3);
                v4 = Restore(v4); v5 = Restore(v5); v6 = Restore(v6); v7 = Restore(v7);
            }

            // stage the lane's 8 × C bytes as 2C words, then store the rows coalesced
            int sb = stageBase + lane * myWords;
            if (channels == 4)
            {
                stage[sb] = v0; stage[sb + 1] = v1; stage[sb + 2] = v2; stage[sb + 3] = v3;
                stage[sb + 4] = v4; stage[sb + 5] = v5; stage[sb + 6] = v6; stage[sb + 7] = v7;
            }
            else if (channels == 3)
            {
                stage[sb] = v0 | (v1 << 24);
                stage[sb + 1] = (v1 >> 8) | (v2 << 16);
                stage[sb + 2] = (v2 >> 16) | (v3 << 8);
                stage[sb + 3] = v4 | (v5 << 24);
                stage[sb + 4] = (v5 >> 8) | (v6 << 16);
                stage[sb + 5] = (v6 >> 16) | (v7 << 8);
            }
            else
            {
                stage[sb] = v0 | (v1 << 8) | (v2 << 16) | (v3 << 24);
                stage[sb + 1] = v4 | (v5 << 8) | (v6 << 16) | (v7 << 24);
            }
            Warp.Barrier();

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
            Warp.Barrier();
        }
    }

    /// <summary>One pixel of one plane, by the rules of <see cref="RowCoding"/>.</summary>
    private static uint Pixel(int predictor, int top, int topRight, int topFirst, int sum, int residual) =>
        (uint)RowCoding.Reconstruct(RowCoding.Base(predictor, top, topRight, topFirst),
            RowCoding.Accumulates(predictor) ? sum : residual);

    private static int Channel(uint packed, int shift) => (int)((packed >> shift) & 0xFF);

    /// <summary>Planes R−G, G, B−G (and A) of a pixel back to R, G, B (and A).</summary>
    private static uint Restore(uint v)
    {
        int green = (int)((v >> 8) & 0xFF);
        uint r = (uint)ColorTransform.Restore((int)(v & 0xFF), green);
        uint b = (uint)ColorTransform.Restore((int)((v >> 16) & 0xFF), green);
        return (v & 0xFF00FF00u) | r | (b << 16);
    }

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

/// <summary>Four ints addressed by a channel number, kept in registers (no local array).</summary>
public struct Int4
{
    public int X, Y, Z, W;

    public readonly int Get(int i) => i == 0 ? X : i == 1 ? Y : i == 2 ? Z : W;

    public readonly Int4 With(int i, int value) => new()
    {
        X = i == 0 ? value : X,
        Y = i == 1 ? value : Y,
        Z = i == 2 ? value : Z,
        W = i == 3 ? value : W,
    };
}
