using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>What one encode launch covers: images of one shape, back to back, interleaved HWC.</summary>
public struct GpuEncodeShape
{
    public int Width, Height, PatchesX, PatchCount, Images;
    /// <summary>Bytes of one image (width × height × channels).</summary>
    public int ImageBytes;
    /// <summary>Scratch bytes per plane block (the largest a block of an N×N patch can be, rounded up to 4).</summary>
    public int BlockStride;
    /// <summary>Bytes reserved per output file (header, table and the largest payload), a multiple of 4.</summary>
    public int FileStride;
    /// <summary>Byte offset of the payload from a file's start: <see cref="FileLayout.PayloadStart"/>(PatchCount).</summary>
    public int PayloadStart;
    /// <summary>Where a block's groups start in its scratch slot: <see cref="PatchLayout.BlockHeaderBytes"/>(N, N).</summary>
    public int GroupsOffset;
}

/// <summary>
/// The GPU encoder, byte-identical to the CPU reference encoder (runtime/Cpu/PatchEncoder): it
/// makes <see cref="EncoderPolicy"/>'s choices (predictor per row and plane, colour transform and
/// block order per patch).
/// </summary>
/// <remarks>
/// Three launches. <see cref="EncodePlanes"/>: warps laid out as in the decoder (lane g of a patch
/// owns width group g of every row) code every plane of every patch, plain and decorrelated, into a
/// scratch slot of its own, and record each block's length. <see cref="ChooseAndScan"/>: one warp
/// per image picks each patch's transform, and a warp scan of the patch lengths gives the patch
/// table. <see cref="Assemble"/>: one warp per patch copies the chosen blocks into the file.
/// The fixed header and the two checksums are the host's.
/// <para>Public, as its parameter types are, because ILGPU's CPU accelerator builds the launcher of a
/// kernel in an assembly of its own, which must see them; the helpers inside stay private.</para>
/// </remarks>
public static class GpuEncodeKernel
{
    /// <summary>Threads per group the shared memory is sized for (at most).</summary>
    public const int MaxThreadsPerGroup = 128;

    /// <summary>Shared words per warp for the predictor and width arrays of its patches.</summary>
    public const int HeaderWordsPerWarp = 280;

    /// <summary>Scratch bytes a block of an N×N patch gets: the largest block, rounded up to 4. Its
    /// groups go after <see cref="PatchLayout.BlockHeaderBytes"/>(N, N) bytes, the largest header.</summary>
    public static int BlockStride(int patchSize) => (PatchLayout.MaxBlockBytes(patchSize, patchSize) + 3) / 4 * 4;

    /// <summary>Codes every plane of every patch into scratch; <paramref name="lengths"/>[patch × planes + q] gets block q's length.</summary>
    /// <remarks>Bounds: the input is pixels, not a file, and its shape passed L3Header.ValidateShape;
    /// <paramref name="pixels"/> holds Images × ImageBytes, so a patch reads only its w × h pixels; a
    /// block is at most <see cref="BlockStride"/> bytes (every group 8 bits wide), so it stays in its
    /// scratch slot (patches × planes × BlockStride bytes, allocated by the host).</remarks>
    public static void EncodePlanes(
        ArrayView<byte> pixels,
        ArrayView<byte> scratch,
        ArrayView<int> lengths,
        GpuEncodeShape shape,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue)
    {
        int n = patchSizeValue.Value;
        int channels = channelsValue.Value;
        int planes = EncoderPolicy.PlaneCount(channels);
        int lanesPerPatch = n / RowCoding.GroupSize;
        int patchesPerWarp = 32 / lanesPerPatch;

        var header = SharedMemory.Allocate<int>(MaxThreadsPerGroup / 32 * HeaderWordsPerWarp);
        int lane = Warp.LaneIdx;
        int headerBase = Warp.WarpIdx * HeaderWordsPerWarp;
        long globalWarp = GlobalWarp();

        int seg = lane / lanesPerPatch;
        int g = lane - seg * lanesPerPatch;
        int segFirst = seg * lanesPerPatch;
        long slot = globalWarp * patchesPerWarp + seg;
        var where = PatchSlot.Locate(slot, shape.Images, shape.PatchCount, shape.PatchesX, shape.Width, shape.Height, n);
        bool active = where.Active;
        int image = where.Image, px = where.Px, py = where.Py, w = where.Width, h = where.Height;
        int groups = RowCoding.GroupsPerRow(w);
        bool hasGroup = g < groups;
        int valid = Max(0, Min(RowCoding.GroupSize, w - g * RowCoding.GroupSize));
        int maskBytes = RowCoding.ZeroMaskBytes(h);
        int predictorBytes = RowCoding.PredictorBytes(h);
        int groupsAt = PatchLayout.BlockHeaderBytes(n, n);
        // this patch's header bytes in shared memory (laid out for a full patch)
        int segHeader = headerBase * 4 + seg * groupsAt;
        int pixelRow = image * shape.ImageBytes + (py * n * shape.Width + px * n + g * RowCoding.GroupSize) * channels;
        int rowStride = shape.Width * channels;

        for (int q = 0; q < planes; q++)
        {
            for (int i = lane; i < HeaderWordsPerWarp; i += 32) header[headerBase + i] = 0;
            // Group barriers, though each warp keeps to its own header words: every thread of the
            // group reaches them. With warp barriers here, ILGPU's CPU accelerator (a warp's lanes
            // run as threads) gave a rare byte mismatch under load, never seen since; the cause was
            // not pinned down. On the GPU this costs 3 barriers per plane.
            Group.Barrier();
            int channel = EncoderPolicy.SourceChannel(q, channels);
            bool decorrelate = EncoderPolicy.IsDecorrelated(q, channels);
            long blockBase = (slot * planes + q) * shape.BlockStride;
            int rowPtr = 0;
            int codedRows = 0;

            int t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
            for (int r = 0; r < n; r++)
            {
                bool rowValid = r < h && hasGroup;
                int at = pixelRow + r * rowStride;
                int v0 = Plane(pixels, rowValid && 0 < valid, at, 0, channels, channel, decorrelate);
                int v1 = Plane(pixels, rowValid && 1 < valid, at, 1, channels, channel, decorrelate);
                int v2 = Plane(pixels, rowValid && 2 < valid, at, 2, channels, channel, decorrelate);
                int v3 = Plane(pixels, rowValid && 3 < valid, at, 3, channels, channel, decorrelate);
                int v4 = Plane(pixels, rowValid && 4 < valid, at, 4, channels, channel, decorrelate);
                int v5 = Plane(pixels, rowValid && 5 < valid, at, 5, channels, channel, decorrelate);
                int v6 = Plane(pixels, rowValid && 6 < valid, at, 6, channels, channel, decorrelate);
                int v7 = Plane(pixels, rowValid && 7 < valid, at, 7, channels, channel, decorrelate);

                int first = Warp.Shuffle(t0, segFirst);
                int next = Warp.ShuffleDown(t0, 1);
                var top = new GroupSlots
                {
                    A0 = t0, A1 = t1, A2 = t2, A3 = t3, A4 = t4, A5 = t5, A6 = t6, A7 = t7,
                    R0 = 1 < valid ? t1 : t0, R1 = 2 < valid ? t2 : t1, R2 = 3 < valid ? t3 : t2, R3 = 4 < valid ? t4 : t3,
                    R4 = 5 < valid ? t5 : t4, R5 = 6 < valid ? t6 : t5, R6 = 7 < valid ? t7 : t6,
                    R7 = (g + 1) * RowCoding.GroupSize < w ? next : t7,
                };
                var row = new GroupSlots { A0 = v0, A1 = v1, A2 = v2, A3 = v3, A4 = v4, A5 = v5, A6 = v6, A7 = v7 };

                // the last offset of each summing predictor, for the next lane's first residual
                int lastLeft = (v7 - RowCoding.Base(RowCoding.Left, t7, top.R7, first)) & 0xFF;
                int lastGradient = (v7 - RowCoding.Base(RowCoding.Gradient, t7, top.R7, first)) & 0xFF;
                int lastTopRight = (v7 - RowCoding.Base(RowCoding.TopRight, t7, top.R7, first)) & 0xFF;
                int lastPacked = Warp.ShuffleUp(lastLeft | (lastGradient << 8) | (lastTopRight << 16), 1);
                if (g == 0) lastPacked = 0;

                // group width under each predictor (predictor p's in byte p), summed over the patch's groups
                var cTop = Codes(RowCoding.Top, row, top, first, 0, valid);
                var cLeft = Codes(RowCoding.Left, row, top, first, lastPacked & 0xFF, valid);
                var cGradient = Codes(RowCoding.Gradient, row, top, first, (lastPacked >> 8) & 0xFF, valid);
                var cTopRight = Codes(RowCoding.TopRight, row, top, first, (lastPacked >> 16) & 0xFF, valid);
                int groupBytes = RowCoding.WidthOf(cTop.Or()) << (8 * RowCoding.Top) | RowCoding.WidthOf(cLeft.Or()) << (8 * RowCoding.Left)
                    | RowCoding.WidthOf(cGradient.Or()) << (8 * RowCoding.Gradient) | RowCoding.WidthOf(cTopRight.Or()) << (8 * RowCoding.TopRight);
                if (lanesPerPatch > 1) groupBytes += Warp.ShuffleXor(groupBytes, 1);
                if (lanesPerPatch > 2) groupBytes += Warp.ShuffleXor(groupBytes, 2);
                if (lanesPerPatch > 4) groupBytes += Warp.ShuffleXor(groupBytes, 4);
                int bestKey = int.MaxValue;
                for (int p = 0; p < RowCoding.PredictorCount; p++)
                    bestKey = Min(bestKey, EncoderPolicy.PredictorKey(EncoderPolicy.RowBits((groupBytes >> (8 * p)) & 0xFF, groups), p));
                int best = EncoderPolicy.PredictorOfKey(bestKey);
                int bestBytes = (groupBytes >> (8 * best)) & 0xFF;

                var chosen = best == RowCoding.Top ? cTop : best == RowCoding.Left ? cLeft : best == RowCoding.Gradient ? cGradient : cTopRight;
                int width = RowCoding.WidthOf(chosen.Or());
                int offset = width;
                if (lanesPerPatch > 1) { int up = Warp.ShuffleUp(offset, 1); offset += g >= 1 ? up : 0; }
                if (lanesPerPatch > 2) { int up = Warp.ShuffleUp(offset, 2); offset += g >= 2 ? up : 0; }
                if (lanesPerPatch > 4) { int up = Warp.ShuffleUp(offset, 4); offset += g >= 4 ? up : 0; }
                offset -= width;

                bool zeroRow = bestBytes == 0;
                if (rowValid && !zeroRow)
                {
                    ulong bits = 0;
                    bits = RowCoding.PackSlot(bits, width, 0, chosen.A0);
                    bits = RowCoding.PackSlot(bits, width, 1, chosen.A1);
                    bits = RowCoding.PackSlot(bits, width, 2, chosen.A2);
                    bits = RowCoding.PackSlot(bits, width, 3, chosen.A3);
                    bits = RowCoding.PackSlot(bits, width, 4, chosen.A4);
                    bits = RowCoding.PackSlot(bits, width, 5, chosen.A5);
                    bits = RowCoding.PackSlot(bits, width, 6, chosen.A6);
                    bits = RowCoding.PackSlot(bits, width, 7, chosen.A7);
                    long to = blockBase + groupsAt + rowPtr + offset;
                    for (int i = 0; i < width; i++) scratch[to + i] = (byte)(bits >> (8 * i));

                    int nibble = codedRows * groups + g;
                    int nibbleByte = segHeader + maskBytes + predictorBytes + (nibble >> 1);
                    Atomic.Or(ref header[nibbleByte >> 2], RowCoding.NibbleBits(width, nibble) << (8 * (nibbleByte & 3)));
                }
                if (rowValid && g == 0)
                {
                    int predictorByte = segHeader + maskBytes + (r >> 2);
                    Atomic.Or(ref header[predictorByte >> 2], RowCoding.PredictorBits(best, r) << (8 * (predictorByte & 3)));
                    if (zeroRow)
                    {
                        int maskByte = segHeader + (r >> 3);
                        Atomic.Or(ref header[maskByte >> 2], RowCoding.ZeroRowBit(r) << (8 * (maskByte & 3)));
                    }
                }
                if (r < h)
                {
                    rowPtr += bestBytes;
                    if (!zeroRow) codedRows++;
                }
                t0 = v0; t1 = v1; t2 = v2; t3 = v3; t4 = v4; t5 = v5; t6 = v6; t7 = v7;
            }
            Group.Barrier();
            if (active)
            {
                int headerBytes = maskBytes + predictorBytes + RowCoding.WidthBytes(codedRows, groups);
                for (int i = g; i < headerBytes; i += lanesPerPatch)
                    scratch[blockBase + i] = (byte)(header[(segHeader + i) >> 2] >> (8 * ((segHeader + i) & 3)));
                // the block's length, and in the high half its header's (its groups lie at groupsAt)
                if (g == 0) lengths[slot * planes + q] = (headerBytes + rowPtr) | (headerBytes << 16);
            }
            Group.Barrier();
        }
    }

    /// <summary>
    /// One warp per image: each patch's transform choice and length, then the patch table by a warp
    /// scan. <paramref name="table"/>[image × (P + 1) + i] = offset of patch i; entry P = payload length.
    /// <paramref name="flags"/>[patch] = the patch's flags byte.
    /// </summary>
    /// <remarks>Bounds: image &lt; Images (checked here); every index is below Images × PatchCount
    /// × planes (lengths), Images × (PatchCount + 1) (table), Images × PatchCount (flags), the sizes
    /// the host allocates.</remarks>
    public static void ChooseAndScan(
        ArrayView<int> lengths,
        ArrayView<int> table,
        ArrayView<int> flags,
        GpuEncodeShape shape,
        SpecializedValue<int> channelsValue)
    {
        int channels = channelsValue.Value;
        int planes = EncoderPolicy.PlaneCount(channels);
        long image = GlobalWarp();
        if (image >= shape.Images) return;
        int lane = Warp.LaneIdx;
        int carry = 0;
        int patches = shape.PatchCount;
        for (int chunk = 0; chunk < patches; chunk += 32)
        {
            int p = chunk + lane;
            int length = 0;
            if (p < patches)
            {
                long at = ((long)image * patches + p) * planes;
                bool transform = EncoderPolicy.CanTransform(channels) && EncoderPolicy.UseColorTransform(
                    L(lengths[at + PatchLayout.Red]), L(lengths[at + PatchLayout.Blue]),
                    L(lengths[at + EncoderPolicy.RedMinusGreen(channels)]), L(lengths[at + EncoderPolicy.BlueMinusGreen(channels)]));
                length = PatchLayout.FlagsSize;
                for (int c = 0; c < channels; c++) length += L(lengths[at + EncoderPolicy.BlockPlane(c, transform, channels)]);
                flags[(long)image * patches + p] = transform ? PatchLayout.ColorTransformFlag : 0;
            }
            int sum = length;
            for (int d = 1; d < 32; d <<= 1)
            {
                int up = Warp.ShuffleUp(sum, d);
                if (lane >= d) sum += up;
            }
            if (p < patches) table[(long)image * (patches + 1) + p] = carry + sum - length;
            carry += Warp.Shuffle(sum, 31);
        }
        if (lane == 0) table[(long)image * (patches + 1) + patches] = carry;
    }

    /// <summary>One warp per patch: writes the patch (flags, then the chosen blocks) into its file,
    /// and the patch's table entry into the file's table.</summary>
    /// <remarks>Bounds: slot &lt; Images × PatchCount (checked here); a file's writes stay in its
    /// FileStride bytes, which the host sizes for the header, table and the largest payload
    /// (every block at most BlockStride), so offsets from the table never pass them.</remarks>
    public static void Assemble(
        ArrayView<byte> scratch,
        ArrayView<int> lengths,
        ArrayView<int> table,
        ArrayView<int> flags,
        ArrayView<byte> files,
        GpuEncodeShape shape,
        SpecializedValue<int> channelsValue)
    {
        int channels = channelsValue.Value;
        int planes = EncoderPolicy.PlaneCount(channels);
        long slot = GlobalWarp();
        long total = (long)shape.Images * shape.PatchCount;
        if (slot >= total) return;
        int lane = Warp.LaneIdx;
        int image = (int)(slot / shape.PatchCount);
        int patch = (int)(slot - (long)image * shape.PatchCount);
        long file = (long)image * shape.FileStride;
        int tableAt = image * (shape.PatchCount + 1);
        int offset = table[tableAt + patch];
        // the table entry, little-endian (and the final entry, by the last patch)
        const int entry = FileLayout.TableEntrySize;
        if (lane < entry)
            files[file + FileLayout.TableEntryOffset(patch) + lane] = (byte)(offset >> (8 * lane));
        if (patch == shape.PatchCount - 1 && lane >= entry && lane < 2 * entry)
            files[file + FileLayout.TableEntryOffset(shape.PatchCount) + lane - entry] = (byte)(table[tableAt + shape.PatchCount] >> (8 * (lane - entry)));

        int flag = flags[slot];
        long to = file + shape.PayloadStart + offset;
        if (lane == 0) files[to + PatchLayout.FlagsOffset] = (byte)flag;
        to += PatchLayout.FlagsSize;
        for (int c = 0; c < channels; c++)
        {
            int q = EncoderPolicy.BlockPlane(c, PatchLayout.HasColorTransform(flag), channels);
            long from = (slot * planes + q) * shape.BlockStride;
            int packed = lengths[slot * planes + q];
            int length = L(packed), headerLength = packed >> 16;
            for (int i = lane; i < headerLength; i += 32) files[to + i] = scratch[from + i];
            long groupsFrom = from + shape.GroupsOffset - headerLength;
            for (int i = headerLength + lane; i < length; i += 32) files[to + i] = scratch[groupsFrom + i];
            to += length;
        }
    }

    /// <summary>Plane value of pixel <paramref name="s"/> of a group: a channel, or its difference from G.</summary>
    private static int Plane(ArrayView<byte> pixels, bool valid, int at, int s, int channels, int channel, bool decorrelate)
    {
        if (!valid) return 0;
        int p = at + s * channels;
        int v = pixels[p + channel];
        return decorrelate ? ColorTransform.Decorrelate(v, pixels[p + PatchLayout.Green]) : v;
    }

    /// <summary>The zigzag codes of a group under predictor <paramref name="p"/> (0 for slots past the row's end).</summary>
    private static GroupSlots Codes(int p, GroupSlots v, GroupSlots t, int first, int previous, int valid)
    {
        int o0 = v.A0 - RowCoding.Base(p, t.A0, t.R0, first);
        int o1 = v.A1 - RowCoding.Base(p, t.A1, t.R1, first);
        int o2 = v.A2 - RowCoding.Base(p, t.A2, t.R2, first);
        int o3 = v.A3 - RowCoding.Base(p, t.A3, t.R3, first);
        int o4 = v.A4 - RowCoding.Base(p, t.A4, t.R4, first);
        int o5 = v.A5 - RowCoding.Base(p, t.A5, t.R5, first);
        int o6 = v.A6 - RowCoding.Base(p, t.A6, t.R6, first);
        int o7 = v.A7 - RowCoding.Base(p, t.A7, t.R7, first);
        return new GroupSlots
        {
            A0 = 0 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o0, previous)) : 0,
            A1 = 1 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o1, o0)) : 0,
            A2 = 2 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o2, o1)) : 0,
            A3 = 3 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o3, o2)) : 0,
            A4 = 4 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o4, o3)) : 0,
            A5 = 5 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o5, o4)) : 0,
            A6 = 6 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o6, o5)) : 0,
            A7 = 7 < valid ? RowCoding.Zigzag(RowCoding.Residual(p, o7, o6)) : 0,
        };
    }

    /// <summary>This warp's index in the launch.</summary>
    private static long GlobalWarp() => (long)Grid.IdxX * (Group.DimX / 32) + Warp.WarpIdx;

    /// <summary>A block's length from its entry in the lengths array (low 16 bits).</summary>
    private static int L(int packed) => packed & 0xFFFF;

    private static int Min(int a, int b) => a < b ? a : b;
    private static int Max(int a, int b) => a > b ? a : b;

    /// <summary>A lane's eight slots of a row (A: values or codes) and, for the row above, the
    /// top-right of each (R).</summary>
    private struct GroupSlots
    {
        public int A0, A1, A2, A3, A4, A5, A6, A7;
        public int R0, R1, R2, R3, R4, R5, R6, R7;

        public readonly int Or() => A0 | A1 | A2 | A3 | A4 | A5 | A6 | A7;
    }
}
