using L3.Kernels;

namespace L3.Cpu;

/// <summary>
/// The reference encoder of one patch: it codes every plane (the channels, and R−G, B−G), per row
/// trying the four predictors, and makes <see cref="EncoderPolicy"/>'s choices.
/// </summary>
internal sealed class PatchEncoder
{
    private readonly int _channels;
    private readonly byte[] _plane;          // the plane being coded, width × height
    private readonly byte[][] _blocks;       // a coded block per coded plane (EncoderPolicy's numbering)
    private readonly int[] _blockLengths;
    private readonly byte[] _codes;          // zigzag codes of one row, per predictor
    private readonly byte[] _widths;         // the plane's width nibbles, one a byte, in order
    private readonly byte[] _payload;        // the plane's groups

    public PatchEncoder(int patchSize, int channels)
    {
        _channels = channels;
        int maxBlock = PatchLayout.MaxBlockBytes(patchSize, patchSize);
        _plane = new byte[patchSize * patchSize];
        _blocks = new byte[EncoderPolicy.PlaneCount(channels)][];
        for (int i = 0; i < _blocks.Length; i++) _blocks[i] = new byte[maxBlock];
        _blockLengths = new int[_blocks.Length];
        _codes = new byte[RowCoding.PredictorCount * patchSize];
        _widths = new byte[patchSize * RowCoding.GroupsPerRow(patchSize)];
        _payload = new byte[PatchLayout.MaxGroupBytes(patchSize, patchSize)];
    }

    /// <summary>
    /// Encodes the patch whose top-left pixel is at <paramref name="pixels"/>[0] (interleaved,
    /// <paramref name="stride"/> bytes a row) into <paramref name="output"/>; returns its length.
    /// </summary>
    public int Encode(ReadOnlySpan<byte> pixels, int stride, int width, int height, Span<byte> output)
    {
        for (int q = 0; q < _blocks.Length; q++)
        {
            ExtractPlane(pixels, stride, width, height, EncoderPolicy.SourceChannel(q, _channels), EncoderPolicy.IsDecorrelated(q, _channels));
            _blockLengths[q] = EncodePlane(width, height, _blocks[q]);
        }
        bool transform = EncoderPolicy.CanTransform(_channels) && EncoderPolicy.UseColorTransform(
            _blockLengths[PatchLayout.Red], _blockLengths[PatchLayout.Blue],
            _blockLengths[EncoderPolicy.RedMinusGreen(_channels)], _blockLengths[EncoderPolicy.BlueMinusGreen(_channels)]);

        output[PatchLayout.FlagsOffset] = (byte)(transform ? PatchLayout.ColorTransformFlag : 0);
        int at = PatchLayout.FlagsSize;
        for (int c = 0; c < _channels; c++)
        {
            int block = EncoderPolicy.BlockPlane(c, transform, _channels);
            _blocks[block].AsSpan(0, _blockLengths[block]).CopyTo(output[at..]);
            at += _blockLengths[block];
        }
        return at;
    }

    /// <summary>Copies channel <paramref name="channel"/> of the patch into the plane buffer, as
    /// its difference from green when <paramref name="decorrelate"/>.</summary>
    private void ExtractPlane(ReadOnlySpan<byte> pixels, int stride, int width, int height, int channel, bool decorrelate)
    {
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * stride, width * _channels);
            var plane = _plane.AsSpan(y * width, width);
            for (int x = 0; x < width; x++)
            {
                int v = row[x * _channels + channel];
                plane[x] = (byte)(decorrelate ? ColorTransform.Decorrelate(v, row[x * _channels + PatchLayout.Green]) : v);
            }
        }
    }

    /// <summary>Codes the plane buffer as one channel block; returns its length.</summary>
    private int EncodePlane(int width, int height, Span<byte> block)
    {
        int groups = RowCoding.GroupsPerRow(width);
        var zeroMask = block[..RowCoding.ZeroMaskBytes(height)];
        var predictors = block.Slice(zeroMask.Length, RowCoding.PredictorBytes(height));
        zeroMask.Clear();
        predictors.Clear();
        int widthStart = zeroMask.Length + predictors.Length;
        Span<byte> zeroRow = stackalloc byte[width];
        zeroRow.Clear();
        Span<byte> widths = _widths.AsSpan(0, height * groups);
        int nibbles = 0, payload = 0;

        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> top = y == 0 ? zeroRow : _plane.AsSpan((y - 1) * width, width);
            var row = _plane.AsSpan(y * width, width);
            int best = ChoosePredictor(row, top, width, groups);
            predictors[y >> 2] |= (byte)RowCoding.PredictorBits(best, y);
            var codes = _codes.AsSpan(best * width, width);
            if (IsZero(codes))
            {
                zeroMask[y >> 3] |= (byte)RowCoding.ZeroRowBit(y);
                continue;
            }
            for (int g = 0; g < groups; g++)
            {
                var group = GroupOf(codes, g);
                int groupWidth = WidthOf(group);
                widths[nibbles++] = (byte)groupWidth;
                ulong bits = 0;
                for (int s = 0; s < group.Length; s++) bits = RowCoding.PackSlot(bits, groupWidth, s, group[s]);
                for (int i = 0; i < groupWidth; i++) _payload[payload + i] = (byte)(bits >> (8 * i));
                payload += groupWidth;
            }
        }

        var widthArray = block.Slice(widthStart, RowCoding.WidthBytes(nibbles / Math.Max(groups, 1), groups));
        widthArray.Clear();
        for (int i = 0; i < nibbles; i++) widthArray[i >> 1] |= (byte)RowCoding.NibbleBits(widths[i], i);
        _payload.AsSpan(0, payload).CopyTo(block[(widthStart + widthArray.Length)..]);
        return widthStart + widthArray.Length + payload;
    }

    private static ReadOnlySpan<byte> GroupOf(ReadOnlySpan<byte> codes, int g) =>
        codes.Slice(g * RowCoding.GroupSize, Math.Min(RowCoding.GroupSize, codes.Length - g * RowCoding.GroupSize));

    private static int WidthOf(ReadOnlySpan<byte> group)
    {
        int any = 0;
        foreach (byte code in group) any |= code; // the OR has as many bits as the largest code
        return RowCoding.WidthOf(any);
    }

    private static bool IsZero(ReadOnlySpan<byte> codes) => !codes.ContainsAnyExcept((byte)0);

    /// <summary>Computes the row's codes under every predictor into _codes; returns the cheapest
    /// (<see cref="EncoderPolicy.RowBits"/>, <see cref="EncoderPolicy.PredictorKey"/>).</summary>
    private int ChoosePredictor(ReadOnlySpan<byte> row, ReadOnlySpan<byte> top, int width, int groups)
    {
        int bestKey = int.MaxValue;
        int topFirst = top[0];
        for (int p = 0; p < RowCoding.PredictorCount; p++)
        {
            var codes = _codes.AsSpan(p * width, width);
            int previousOffset = 0;
            for (int x = 0; x < width; x++)
            {
                int baseValue = RowCoding.Base(p, top[x], top[Math.Min(x + 1, width - 1)], topFirst);
                int offset = row[x] - baseValue;
                codes[x] = (byte)RowCoding.Zigzag(RowCoding.Residual(p, offset, previousOffset));
                previousOffset = offset;
            }
            int groupBytes = 0;
            for (int g = 0; g < groups; g++) groupBytes += WidthOf(GroupOf(codes, g));
            bestKey = Math.Min(bestKey, EncoderPolicy.PredictorKey(EncoderPolicy.RowBits(groupBytes, groups), p));
        }
        return EncoderPolicy.PredictorOfKey(bestKey);
    }
}
