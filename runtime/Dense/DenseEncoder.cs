using System.Buffers.Binary;
using L3.Kernels;

namespace L3.Dense;

/// <summary>
/// The reference encoder of coding mode 1 (docs/FORMAT.md, section 6), in two passes: every patch's
/// planes are row-coded as in mode 0 (predictor and colour transform chosen by
/// <see cref="EncoderPolicy.DenseCodeCost"/>) and their tokens counted per table; then the tables are
/// built from the counts and every patch's codes are rANS-coded with them.
/// </summary>
internal static class DenseEncoder
{
    /// <summary>A patch after the first pass: its flags, masks and predictor arrays as stored, and
    /// the codes of its channel blocks (block c's row r at [(c·h + r)·w]).</summary>
    private sealed record CodedPatch(byte[] Header, byte[] Codes, bool AnyCodedRow);

    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels, L3EncodeOptions options)
    {
        int n = options.PatchSize;
        int patchesX = FileLayout.PatchesAlong(width, n), patchesY = FileLayout.PatchesAlong(height, n);
        int stride = width * channels;
        var coded = new CodedPatch[patchesX * patchesY];
        var rowCounts = new long[patchesY][];
        ForEachPatchRow(pixels, patchesY, options.MaxDegreeOfParallelism, (source, py) =>
        {
            var coder = new PatchCoder(n, channels);
            var counts = rowCounts[py] = new long[DenseLayout.TableCount(channels) * DenseLayout.TokenCount];
            int y = py * n, h = Math.Min(n, height - y);
            for (int px = 0; px < patchesX; px++)
            {
                int x = px * n, w = Math.Min(n, width - x);
                var patch = coded[py * patchesX + px] = coder.Code(source[(y * stride + x * channels)..], stride, w, h);
                CountTokens(patch, w, h, channels, counts);
            }
        });
        var totals = new long[DenseLayout.TableCount(channels) * DenseLayout.TokenCount];
        foreach (var counts in rowCounts)
            for (int i = 0; i < totals.Length; i++) totals[i] += counts[i];
        var tableBytes = DenseTables.Write(totals, channels);
        // the encoder codes with the tables as a decoder reads them back: one construction of the
        // frequencies and cumulative frequencies
        var tables = DenseTables.Read(tableBytes, channels, 0);

        var patches = new ArraySegment<byte>[coded.Length];
        ForEachPatchRow(pixels, patchesY, options.MaxDegreeOfParallelism, (_, py) =>
        {
            var words = new List<ushort>();
            int y = py * n, h = Math.Min(n, height - y);
            for (int px = 0; px < patchesX; px++)
            {
                int index = py * patchesX + px, w = Math.Min(n, width - px * n);
                patches[index] = EncodePatch(coded[index], w, h, channels, tables, words);
                coded[index] = null!; // its codes are no longer needed
            }
        });
        return L3Header.Assemble(width, height, channels, n, patches, L3CodingMode.Dense, tableBytes);
    }

    private delegate void PatchRowAction(ReadOnlySpan<byte> pixels, int py);

    private static unsafe void ForEachPatchRow(ReadOnlySpan<byte> pixels, int patchesY, int maxDegreeOfParallelism, PatchRowAction action)
    {
        if (maxDegreeOfParallelism <= 1)
        {
            for (int py = 0; py < patchesY; py++) action(pixels, py);
            return;
        }
        // a span cannot cross into the worker lambdas: pin the pixels and pass the address
        fixed (byte* p = pixels)
        {
            nint address = (nint)p;
            int length = pixels.Length;
            Parallel.For(0, patchesY, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism },
                py => action(new ReadOnlySpan<byte>((byte*)address, length), py));
        }
    }

    /// <summary>Adds a patch's tokens to the counts of their tables.</summary>
    private static void CountTokens(CodedPatch patch, int w, int h, int channels, long[] counts)
    {
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < h; r++)
            {
                if (IsZeroRow(patch.Header, h, c, r)) continue;
                var codes = patch.Codes.AsSpan((c * h + r) * w, w);
                var above = r == 0 ? codes : patch.Codes.AsSpan((c * h + r - 1) * w, w);
                for (int x = 0; x < w; x++)
                {
                    int context = ContextAt(above, r, x, w);
                    counts[DenseLayout.TableIndex(c, context) * DenseLayout.TokenCount + DenseCoding.TokenOf(codes[x])]++;
                }
            }
    }

    /// <summary>The context of column x of row r, from the row above's codes.</summary>
    private static int ContextAt(ReadOnlySpan<byte> above, int r, int x, int w) =>
        r == 0 ? DenseLayout.FirstRowContext
        : DenseCoding.Context(false, above[Math.Max(x - 1, 0)], above[x], above[Math.Min(x + 1, w - 1)]);

    private static bool IsZeroRow(byte[] header, int h, int c, int r)
    {
        int mask = PatchLayout.FlagsSize + c * (RowCoding.ZeroMaskBytes(h) + RowCoding.PredictorBytes(h));
        return RowCoding.IsZeroRow(header[mask + (r >> 3)], r);
    }

    /// <summary>
    /// rANS-codes a patch: the lanes' symbols in the reverse of the decoder's order (docs/FORMAT.md,
    /// 6.5), each step's raw bits before its tokens and the lanes from the last, so that the words,
    /// reversed at the end, come out in the order the decoder reads them.
    /// </summary>
    private static byte[] EncodePatch(CodedPatch patch, int w, int h, int channels, DenseTables tables, List<ushort> words)
    {
        if (!patch.AnyCodedRow) return patch.Header;
        int lanes = DenseLayout.Lanes(w);
        Span<uint> states = stackalloc uint[lanes];
        states.Fill(DenseLayout.StateLow);
        words.Clear();
        for (int r = h - 1; r >= 0; r--)
            for (int c = channels - 1; c >= 0; c--)
            {
                if (IsZeroRow(patch.Header, h, c, r)) continue;
                var codes = patch.Codes.AsSpan((c * h + r) * w, w);
                var above = r == 0 ? codes : patch.Codes.AsSpan((c * h + r - 1) * w, w);
                for (int s = DenseLayout.LaneColumns - 1; s >= 0; s--)
                {
                    for (int l = lanes - 1; l >= 0; l--)
                    {
                        int x = l * DenseLayout.LaneColumns + s;
                        if (x >= w) continue;
                        int token = DenseCoding.TokenOf(codes[x]), rawBits = DenseCoding.RawBitCount(token);
                        if (rawBits == 0) continue;
                        if (states[l] >= DenseCoding.RawStateLimit(rawBits)) { words.Add((ushort)states[l]); states[l] >>= DenseLayout.WordBits; }
                        states[l] = DenseCoding.EncodeRaw(states[l], DenseCoding.RawOf(codes[x], token), rawBits);
                    }
                    for (int l = lanes - 1; l >= 0; l--)
                    {
                        int x = l * DenseLayout.LaneColumns + s;
                        if (x >= w) continue;
                        int token = DenseCoding.TokenOf(codes[x]);
                        uint entry = tables.FrequencyCumulative[DenseLayout.TableIndex(c, ContextAt(above, r, x, w)) * DenseTables.TokenStride + token];
                        int frequency = (int)(entry & 0xFFFF), cumulative = (int)(entry >> 16);
                        if (states[l] >= DenseCoding.TokenStateLimit(frequency)) { words.Add((ushort)states[l]); states[l] >>= DenseLayout.WordBits; }
                        states[l] = DenseCoding.EncodeToken(states[l], frequency, cumulative);
                    }
                }
            }
        int header = patch.Header.Length;
        var bytes = new byte[header + lanes * DenseLayout.StateBytes + words.Count * DenseLayout.WordBytes];
        patch.Header.CopyTo(bytes, 0);
        for (int l = 0; l < lanes; l++)
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(header + l * DenseLayout.StateBytes), states[l]);
        int at = header + lanes * DenseLayout.StateBytes;
        for (int i = words.Count - 1; i >= 0; i--, at += DenseLayout.WordBytes)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), words[i]);
        return bytes;
    }

    /// <summary>Row-codes a patch's planes (the first pass), one per thread.</summary>
    private sealed class PatchCoder
    {
        private readonly int _channels;
        private readonly byte[] _plane;
        private readonly byte[][] _codes;       // per coded plane (EncoderPolicy's numbering), h × w
        private readonly int[][] _predictors;   // per coded plane, per row
        private readonly long[] _costs;         // per coded plane
        private readonly byte[] _candidate;     // one row's codes under one predictor

        public PatchCoder(int n, int channels)
        {
            _channels = channels;
            int planes = EncoderPolicy.PlaneCount(channels);
            _plane = new byte[n * n];
            _codes = new byte[planes][];
            _predictors = new int[planes][];
            for (int q = 0; q < planes; q++) { _codes[q] = new byte[n * n]; _predictors[q] = new int[n]; }
            _costs = new long[planes];
            _candidate = new byte[n];
        }

        public CodedPatch Code(ReadOnlySpan<byte> pixels, int stride, int w, int h)
        {
            for (int q = 0; q < _codes.Length; q++)
            {
                int channel = EncoderPolicy.SourceChannel(q, _channels);
                bool decorrelate = EncoderPolicy.IsDecorrelated(q, _channels);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        int at = y * stride + x * _channels;
                        int v = pixels[at + channel];
                        _plane[y * w + x] = (byte)(decorrelate ? ColorTransform.Decorrelate(v, pixels[at + PatchLayout.Green]) : v);
                    }
                _costs[q] = CodePlane(w, h, _codes[q], _predictors[q]);
            }
            bool transform = EncoderPolicy.CanTransform(_channels) && EncoderPolicy.UseColorTransform(
                (int)_costs[PatchLayout.Red], (int)_costs[PatchLayout.Blue],
                (int)_costs[EncoderPolicy.RedMinusGreen(_channels)], (int)_costs[EncoderPolicy.BlueMinusGreen(_channels)]);

            int maskBytes = RowCoding.ZeroMaskBytes(h), predictorBytes = RowCoding.PredictorBytes(h);
            var header = new byte[DenseLayout.PatchHeaderBytes(h, _channels)];
            var codes = new byte[_channels * w * h];
            header[PatchLayout.FlagsOffset] = (byte)(transform ? PatchLayout.ColorTransformFlag : 0);
            bool anyCoded = false;
            for (int c = 0; c < _channels; c++)
            {
                int q = EncoderPolicy.BlockPlane(c, transform, _channels);
                int mask = PatchLayout.FlagsSize + c * (maskBytes + predictorBytes), predictors = mask + maskBytes;
                _codes[q].AsSpan(0, w * h).CopyTo(codes.AsSpan(c * w * h));
                for (int r = 0; r < h; r++)
                {
                    header[predictors + (r >> 2)] |= (byte)RowCoding.PredictorBits(_predictors[q][r], r);
                    if (_codes[q].AsSpan(r * w, w).ContainsAnyExcept((byte)0)) anyCoded = true;
                    else header[mask + (r >> 3)] |= (byte)RowCoding.ZeroRowBit(r);
                }
            }
            return new CodedPatch(header, codes, anyCoded);
        }

        /// <summary>Codes the plane buffer row by row, each row under its cheapest predictor; returns the plane's cost.</summary>
        private long CodePlane(int w, int h, byte[] codes, int[] predictors)
        {
            long total = 0;
            for (int y = 0; y < h; y++)
            {
                int bestCost = int.MaxValue;
                int topFirst = y == 0 ? 0 : _plane[(y - 1) * w];
                for (int p = 0; p < RowCoding.PredictorCount; p++)
                {
                    int previousOffset = 0, cost = 0;
                    for (int x = 0; x < w; x++)
                    {
                        int top = y == 0 ? 0 : _plane[(y - 1) * w + x];
                        int topRight = y == 0 ? 0 : _plane[(y - 1) * w + Math.Min(x + 1, w - 1)];
                        int offset = _plane[y * w + x] - RowCoding.Base(p, top, topRight, topFirst);
                        int code = RowCoding.Zigzag(RowCoding.Residual(p, offset, previousOffset));
                        _candidate[x] = (byte)code;
                        cost += EncoderPolicy.DenseCodeCost(code);
                        previousOffset = offset;
                    }
                    if (cost < bestCost)
                    {
                        bestCost = cost;
                        predictors[y] = p;
                        _candidate.AsSpan(0, w).CopyTo(codes.AsSpan(y * w));
                    }
                }
                total += bestCost;
            }
            return total;
        }
    }
}
