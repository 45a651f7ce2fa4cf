using ILGPU;
using ILGPU.Runtime;

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
/// <para>A step of 6.5 is one instruction stream for the segment: every active lane decodes its
/// token from its table (context from the row above's codes, which the lane keeps packed in a
/// 64-bit word, its neighbours' edge codes by shuffle), then the lanes that must read a word find
/// their place in the stream by a prefix count over the segment (shuffle-up scan; the last lane's
/// count moves the segment's read position), and likewise for the raw bits. The row is then rebuilt
/// as in mode 0: base from the row above plus a prefix sum of the residuals (lane-local, then a scan
/// of the lane sums). Rows come in order, each row's channel blocks one after another (the stream's
/// order), so a lane keeps each block's row above in registers (8 pixels, 8 codes, packed); each
/// plane's bytes are written to their place in the interleaved image and the colour transform is
/// restored by a last pass over the patch.</para>
/// <para>Every loop runs the same count on every lane of the warp (rows up to N, 8 steps, C planes),
/// so the shuffles are warp-uniform. Bounds, whatever the stream: the host checked the header, the
/// tables and every patch's structure (DenseFileDecoder.Validate) before the launch; in the kernel
/// a word past the patch's stream is not read (the image is marked bad in <c>errors</c>), a slot of
/// an unused table is marked bad and decodes token 0, and at the end a state other than L or a
/// word left over marks it bad too. Writes stay inside the patch's rectangle of its image.</para>
/// </remarks>
public static class GpuDenseDecodeKernel
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
    /// The kernel. <paramref name="data"/>: the files, file i at byte <paramref name="fileStarts"/>[i];
    /// <paramref name="slotTokens"/> and <paramref name="frequencyCumulative"/>: each file's tables as
    /// DenseTables expands them (file i's at i × tables × M and i × tables × 32);
    /// <paramref name="output"/>: the images back to back, interleaved; <paramref name="errors"/>[i]
    /// is set to 1 when file i's stream is found corrupt.
    /// </summary>
    public static void Decode(
        ArrayView<byte> data,
        ArrayView<long> fileStarts,
        ArrayView<byte> slotTokens,
        ArrayView<uint> frequencyCumulative,
        ArrayView<byte> output,
        ArrayView<int> errors,
        GpuDenseShape shape)
    {
        int n = shape.PatchSize, channels = shape.Channels;
        int lanesPerPatch = n / DenseLayout.LaneColumns;
        long slot = Grid.GlobalIndex.X / 32 * (32 / lanesPerPatch) + Warp.LaneIdx / lanesPerPatch;
        bool live = slot < (long)shape.PatchCount * shape.Images;
        int image = live ? (int)(slot / shape.PatchCount) : 0;
        int patch = live ? (int)(slot % shape.PatchCount) : 0;
        int x0 = patch % shape.PatchesX * n, y0 = patch / shape.PatchesX * n;
        int w = IntrinsicMath.Min(n, shape.Width - x0);
        int h = live ? IntrinsicMath.Min(n, shape.Height - y0) : 0;

        long file = fileStarts[image];
        long table = file + FileLayout.TableEntryOffset(patch);
        int start = ReadU32(data, table), end = ReadU32(data, table + FileLayout.TableEntrySize);
        long tablesOfImage = (long)image * DenseLayout.TableCount(channels);
        bool bad = DecodePatch(data, file + shape.PayloadStart + start, end - start, w, h, channels, n, live,
            slotTokens, tablesOfImage * DenseLayout.ProbabilityTotal, frequencyCumulative, tablesOfImage * 32,
            output, (long)image * shape.ImageBytes + ((long)y0 * shape.Width + x0) * channels, shape.Width * channels);
        if (bad) errors[image] = 1;
    }

    /// <summary>
    /// The per-patch body, for this kernel and for any other that decodes dense patches (a loader's
    /// fused stage): called by the G = <paramref name="n"/> / 8 lanes of a segment together (every
    /// lane of the warp must call it, <paramref name="live"/> false for a slot without a patch). The
    /// patch of <paramref name="length"/> bytes at <paramref name="patchAt"/>, <paramref name="width"/> ×
    /// <paramref name="height"/> pixels, its file's tables at <paramref name="tokensBase"/> and
    /// <paramref name="entriesBase"/> (as DenseTables expands them), is written to
    /// <paramref name="output"/>: pixel (x, y), channel c at <paramref name="outAt"/> + y ×
    /// <paramref name="outRowStride"/> + x × channels + c. Returns whether the stream is corrupt.
    /// </summary>
    public static bool DecodePatch(
        ArrayView<byte> data, long patchAt, int length, int width, int height, int channels, int n, bool live,
        ArrayView<byte> slotTokens, long tokensBase, ArrayView<uint> frequencyCumulative, long entriesBase,
        ArrayView<byte> output, long outAt, int outRowStride)
    {
        int lanesPerPatch = n / DenseLayout.LaneColumns;
        int lane = Warp.LaneIdx;
        int inSegment = lane % lanesPerPatch, segmentFirst = lane - inSegment, segmentLast = segmentFirst + lanesPerPatch - 1;
        int w = width, h = live ? height : 0;
        int lanes = DenseLayout.Lanes(w);
        bool laneLive = live && inSegment < lanes;
        int maskBytes = RowCoding.ZeroMaskBytes(h), predictorBytes = RowCoding.PredictorBytes(h);
        int header = PatchLayout.FlagsSize + channels * (maskBytes + predictorBytes);
        bool anyCoded = live && length > header;
        uint state = anyCoded && laneLive ? (uint)ReadU32(data, patchAt + header + inSegment * DenseLayout.StateBytes) : DenseLayout.StateLow;
        long wordsAt = patchAt + header + lanes * DenseLayout.StateBytes;
        int wordCount = anyCoded ? (length - header - lanes * DenseLayout.StateBytes) / DenseLayout.WordBytes : 0;
        int next = 0;
        bool bad = false;
        // each channel block's row above (codes and pixels, 8 bytes a lane), kept across the rows
        ulong codes0 = 0, codes1 = 0, codes2 = 0, codes3 = 0, pixels0 = 0, pixels1 = 0, pixels2 = 0, pixels3 = 0;
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < channels; c++)
            {
                long mask = patchAt + PatchLayout.FlagsSize + c * (maskBytes + predictorBytes);
                ulong aboveCodes = c == 0 ? codes0 : c == 1 ? codes1 : c == 2 ? codes2 : codes3;
                ulong abovePixels = c == 0 ? pixels0 : c == 1 ? pixels1 : c == 2 ? pixels2 : pixels3;
                bool rowLive = r < h;
                int maskByte = rowLive ? data[mask + (r >> 3)] : 0xFF;
                int predictor = rowLive ? RowCoding.PredictorOf(data[mask + maskBytes + (r >> 2)], r) : 0;
                bool coded = anyCoded && rowLive && !RowCoding.IsZeroRow(maskByte, r);
                // the neighbours' edge codes of the row above, for the contexts of columns 8l and 8l + 7
                int leftCode = Warp.Shuffle((int)(aboveCodes >> 56), inSegment == 0 ? lane : lane - 1);
                int rightCode = Warp.Shuffle((int)(aboveCodes & 0xFF), inSegment == lanesPerPatch - 1 ? lane : lane + 1);
                if (inSegment == 0) leftCode = (int)(aboveCodes & 0xFF);
                ulong codes = 0;
                for (int s = 0; s < DenseLayout.LaneColumns; s++)
                {
                    int x = inSegment * DenseLayout.LaneColumns + s;
                    bool active = coded && laneLive && x < w;
                    int token = 0;
                    if (active)
                    {
                        int context = DenseLayout.FirstRowContext;
                        if (r > 0)
                        {
                            int above = CodeAt(aboveCodes, s);
                            int left = s == 0 ? leftCode : CodeAt(aboveCodes, s - 1);
                            int right = x + 1 >= w ? above : s == DenseLayout.LaneColumns - 1 ? rightCode : CodeAt(aboveCodes, s + 1);
                            context = DenseCoding.Context(false, left, above, right);
                        }
                        int tableIndex = DenseLayout.TableIndex(c, context);
                        int at = DenseCoding.Slot(state);
                        token = slotTokens[tokensBase + tableIndex * DenseLayout.ProbabilityTotal + at];
                        if (token >= DenseLayout.TokenCount) { bad = true; token = 0; }
                        uint entry = frequencyCumulative[entriesBase + tableIndex * 32 + token];
                        state = DenseCoding.AfterToken(state, at, (int)(entry & 0xFFFF), (int)(entry >> 16));
                    }
                    state = ReadWord(data, state, active && DenseCoding.NeedsWord(state), inSegment, lanesPerPatch - 1, segmentLast, wordsAt, wordCount, ref next, ref bad);
                    int rawBits = DenseCoding.RawBitCount(token);
                    int raw = DenseCoding.RawBits(state, rawBits);
                    if (active)
                    {
                        state = DenseCoding.AfterRaw(state, rawBits);
                        codes |= (ulong)DenseCoding.CodeOf(token, raw) << (8 * s);
                    }
                    state = ReadWord(data, state, active && DenseCoding.NeedsWord(state), inSegment, lanesPerPatch - 1, segmentLast, wordsAt, wordCount, ref next, ref bad);
                }

                // the row: base from the row above plus the residuals, summed along the row when the predictor does
                int laneSum = 0;
                for (int s = 0; s < DenseLayout.LaneColumns; s++) laneSum += RowCoding.Unzigzag(CodeAt(codes, s));
                int inclusive = laneSum;
                for (int d = 1; d < lanesPerPatch; d <<= 1)
                {
                    int up = Warp.ShuffleUp(inclusive, d);
                    if (inSegment >= d) inclusive += up;
                }
                int running = inclusive - laneSum;
                int topFirst = Warp.Shuffle((int)(abovePixels & 0xFF), segmentFirst);
                int nextFirst = Warp.Shuffle((int)(abovePixels & 0xFF), inSegment == lanesPerPatch - 1 ? lane : lane + 1);
                ulong pixels = 0;
                for (int s = 0; s < DenseLayout.LaneColumns; s++)
                {
                    int x = inSegment * DenseLayout.LaneColumns + s;
                    int top = CodeAt(abovePixels, s);
                    int topRight = x + 1 >= w ? top : s == DenseLayout.LaneColumns - 1 ? nextFirst : CodeAt(abovePixels, s + 1);
                    running = RowCoding.Accumulate(predictor, running, RowCoding.Unzigzag(CodeAt(codes, s)));
                    int value = RowCoding.Reconstruct(RowCoding.Base(predictor, top, topRight, topFirst), running);
                    pixels |= (ulong)value << (8 * s);
                    if (rowLive && laneLive && x < w)
                        output[outAt + (long)r * outRowStride + (long)x * channels + c] = (byte)value;
                }
                if (c == 0) { codes0 = codes; pixels0 = pixels; }
                else if (c == 1) { codes1 = codes; pixels1 = pixels; }
                else if (c == 2) { codes2 = codes; pixels2 = pixels; }
                else { codes3 = codes; pixels3 = pixels; }
            }
        }

        if (live && channels >= 3 && PatchLayout.HasColorTransform(data[patchAt + PatchLayout.FlagsOffset]))
            for (int r = 0; r < h; r++)
                for (int s = 0; s < DenseLayout.LaneColumns; s++)
                {
                    int x = inSegment * DenseLayout.LaneColumns + s;
                    if (!laneLive || x >= w) continue;
                    long at = outAt + (long)r * outRowStride + (long)x * channels;
                    int green = output[at + PatchLayout.Green];
                    output[at + PatchLayout.Red] = (byte)ColorTransform.Restore(output[at + PatchLayout.Red], green);
                    output[at + PatchLayout.Blue] = (byte)ColorTransform.Restore(output[at + PatchLayout.Blue], green);
                }

        if (laneLive && state != DenseLayout.StateLow) bad = true;
        if (live && inSegment == 0 && next != wordCount) bad = true;
        return bad;
    }

    /// <summary>Byte <paramref name="index"/> of 8 packed in a 64-bit word.</summary>
    private static int CodeAt(ulong packed, int index) => (int)((packed >> (8 * index)) & 0xFF);

    private static int ReadU32(ArrayView<byte> data, long at) =>
        data[at] | data[at + 1] << 8 | data[at + 2] << 16 | data[at + 3] << 24;

    /// <summary>Steps 2 and 4 of 6.5 for a segment: the lanes that <paramref name="needs"/> a word
    /// take the next ones in lane order (a prefix count over the segment), never past the stream.</summary>
    private static uint ReadWord(ArrayView<byte> data, uint state, bool needs, int inSegment, int inSegmentMask, int segmentLast,
        long wordsAt, int wordCount, ref int next, ref bool bad)
    {
        int count = needs ? 1 : 0;
        int inclusive = count;
        // the same count of steps on every lane: N is the launch's
        for (int d = 1; d <= inSegmentMask; d <<= 1)
        {
            int up = Warp.ShuffleUp(inclusive, d);
            if (inSegment >= d) inclusive += up;
        }
        int total = Warp.Shuffle(inclusive, segmentLast);
        if (needs)
        {
            int index = next + inclusive - 1;
            int word = 0;
            if (index < wordCount) word = data[wordsAt + 2L * index] | data[wordsAt + 2L * index + 1] << 8;
            else bad = true;
            state = DenseCoding.WithWord(state, word);
        }
        next += total;
        return state;
    }
}
