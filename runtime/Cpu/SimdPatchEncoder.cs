using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using L3.Kernels;

namespace L3.Cpu;

/// <summary>
/// The vector encoder of one patch. It makes <see cref="EncoderPolicy"/>'s choices, as the
/// reference (<see cref="PatchEncoder"/>) does, so its files are byte-identical; it only computes
/// them faster: each row's codes and group widths under all four predictors at once in vectors,
/// groups packed with pext.
/// </summary>
internal sealed unsafe class SimdPatchEncoder : IDisposable
{
    private const int Stride = SimdPatchDecoder.Stride;
    private const int PlaneBytes = SimdPatchDecoder.PlaneBytes;
    // planes in memory: R, G, B, A (as present) at 0..3 whatever the channel count, R−G and B−G at 4 and 5
    private const int PlaneCount = 6;
    private const int RedMinusGreenSlot = 4, BlueMinusGreenSlot = 5;

    private readonly CpuPath _path;
    private readonly int _patchSize;
    private readonly int _channels;
    private readonly int _maxBlock;
    private readonly int _groupsAt;   // where a block's groups start in its buffer: after the largest mask, predictor and width arrays
    private readonly byte* _memory;
    private readonly byte* _planes;   // PlaneCount planes of 65 rows (row 0 = zero row)
    private readonly byte* _stage;    // 256 bytes: one row of interleaved pixels, for edge patches
    private readonly byte* _codes;    // 64 bytes: the chosen codes of one row
    private readonly byte* _blocks;   // PlaneCount coded blocks of _maxBlock bytes
    private readonly int[] _lengths = new int[PlaneCount];        // whole channel block
    private readonly int[] _headerLengths = new int[PlaneCount];  // its mask, predictor and width arrays

    public SimdPatchEncoder(int patchSize, int channels, CpuPath path)
    {
        // tables first, then the (AggressiveOptimization) kernels: see SimdPatchDecoder.Scratch
        RuntimeHelpers.RunClassConstructor(path == CpuPath.Vector512 ? typeof(V512).TypeHandle : typeof(V128).TypeHandle);
        _path = path;
        _patchSize = patchSize;
        _channels = channels;
        _groupsAt = PatchLayout.BlockHeaderBytes(patchSize, patchSize);
        // 64 bytes of slack: a group is written as 8 bytes, whatever its width
        _maxBlock = PatchLayout.MaxBlockBytes(patchSize, patchSize) + 64;
        nuint size = (nuint)(PlaneCount * PlaneBytes + 256 + 64 + PlaneCount * _maxBlock + 64);
        _memory = (byte*)NativeMemory.AlignedAlloc(size, 64);
        NativeMemory.Clear(_memory, size);
        _planes = _memory;
        _stage = _planes + PlaneCount * PlaneBytes;
        _codes = _stage + 256;
        _blocks = _codes + 64;
    }

    [ThreadStatic] private static SimdPatchEncoder? t_cached;

    /// <summary>This thread's encoder for (patch size, channels, path), made on first use and kept.</summary>
    public static SimdPatchEncoder ForThread(int patchSize, int channels, CpuPath path)
    {
        var cached = t_cached;
        if (cached is not null && cached._patchSize == patchSize && cached._channels == channels && cached._path == path) return cached;
        cached?.Dispose();
        return t_cached = new SimdPatchEncoder(patchSize, channels, path);
    }

    private bool _disposed;
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMemory.AlignedFree(_memory);
        GC.SuppressFinalize(this);
    }
    ~SimdPatchEncoder() => Dispose();

    /// <summary>Same contract as <see cref="PatchEncoder.Encode"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Encode(ReadOnlySpan<byte> pixels, int stride, int width, int height, Span<byte> output)
    {
        fixed (byte* source = pixels)
        {
            // rows 0..h-2 are read whole; the last row only to its w·C bytes (the stage covers the rest)
            if (_path == CpuPath.Vector512) Extract<V512>(source, stride, width, height, pixels.Length);
            else Extract<V128>(source, stride, width, height, pixels.Length);
        }

        int planes = EncoderPolicy.PlaneCount(_channels);
        for (int q = 0; q < planes; q++)
        {
            int plane = Slot(q);
            byte* block = _blocks + plane * _maxBlock;
            int groupBytes = _path == CpuPath.Vector512
                ? EncodePlane<V512>(_planes + plane * PlaneBytes, width, height, block, block + _groupsAt, out _headerLengths[plane])
                : EncodePlane<V128>(_planes + plane * PlaneBytes, width, height, block, block + _groupsAt, out _headerLengths[plane]);
            _lengths[plane] = _headerLengths[plane] + groupBytes;
        }
        bool transform = EncoderPolicy.CanTransform(_channels) && EncoderPolicy.UseColorTransform(
            _lengths[PatchLayout.Red], _lengths[PatchLayout.Blue], _lengths[RedMinusGreenSlot], _lengths[BlueMinusGreenSlot]);

        output[PatchLayout.FlagsOffset] = (byte)(transform ? PatchLayout.ColorTransformFlag : 0);
        int at = PatchLayout.FlagsSize;
        for (int c = 0; c < _channels; c++)
        {
            int plane = Slot(EncoderPolicy.BlockPlane(c, transform, _channels));
            // the block's arrays, then its groups (kept apart: the width array's length is known last)
            byte* block = _blocks + plane * _maxBlock;
            int header = _headerLengths[plane];
            new ReadOnlySpan<byte>(block, header).CopyTo(output[at..]);
            new ReadOnlySpan<byte>(block + _groupsAt, _lengths[plane] - header).CopyTo(output[(at + header)..]);
            at += _lengths[plane];
        }
        return at;
    }

    /// <summary>
    /// Dense mode's first pass over a patch (docs/FORMAT.md, end of 6.5): each coded plane's rows under
    /// the predictor of the lowest dense cost (<see cref="EncoderPolicy.DenseRowCost"/>), the colour
    /// transform by the same cost. Writes the patch's flags, zero-row masks and predictor arrays to
    /// <paramref name="header"/> (<see cref="DenseLayout.PatchHeaderBytes"/>) and channel block c's
    /// row r's codes to <paramref name="codes"/>[(c·h + r)·w]; returns whether any row is coded.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool CodeDense(ReadOnlySpan<byte> pixels, int stride, int width, int height, Span<byte> header, Span<byte> codes)
    {
        fixed (byte* source = pixels)
        {
            if (_path == CpuPath.Vector512) Extract<V512>(source, stride, width, height, pixels.Length);
            else Extract<V128>(source, stride, width, height, pixels.Length);
        }
        var costs = stackalloc int[PlaneCount];
        var zeroRows = stackalloc ulong[PlaneCount];
        var predictors = stackalloc byte[PlaneCount * 64];
        for (int q = 0; q < EncoderPolicy.PlaneCount(_channels); q++)
        {
            int plane = Slot(q);
            costs[plane] = _path == CpuPath.Vector512
                ? CodeDensePlane<V512>(_planes + plane * PlaneBytes, width, height, _blocks + plane * _maxBlock, predictors + plane * 64, out zeroRows[plane])
                : CodeDensePlane<V128>(_planes + plane * PlaneBytes, width, height, _blocks + plane * _maxBlock, predictors + plane * 64, out zeroRows[plane]);
        }
        bool transform = EncoderPolicy.CanTransform(_channels) && EncoderPolicy.UseColorTransform(
            costs[PatchLayout.Red], costs[PatchLayout.Blue], costs[RedMinusGreenSlot], costs[BlueMinusGreenSlot]);

        int maskBytes = RowCoding.ZeroMaskBytes(height), predictorBytes = RowCoding.PredictorBytes(height);
        ulong allRows = height == 64 ? ~0UL : (1UL << height) - 1;
        header[..DenseLayout.PatchHeaderBytes(height, _channels)].Clear();
        header[PatchLayout.FlagsOffset] = (byte)(transform ? PatchLayout.ColorTransformFlag : 0);
        bool anyCoded = false;
        for (int c = 0; c < _channels; c++)
        {
            int plane = Slot(EncoderPolicy.BlockPlane(c, transform, _channels));
            int mask = PatchLayout.FlagsSize + c * (maskBytes + predictorBytes);
            for (int i = 0; i < maskBytes; i++) header[mask + i] = (byte)(zeroRows[plane] >> (8 * i));
            for (int r = 0; r < height; r++) header[mask + maskBytes + (r >> 2)] |= (byte)RowCoding.PredictorBits(predictors[plane * 64 + r], r);
            new ReadOnlySpan<byte>(_blocks + plane * _maxBlock, width * height).CopyTo(codes[(c * width * height)..]);
            anyCoded |= zeroRows[plane] != allRows;
        }
        return anyCoded;
    }

    /// <summary>Codes one plane for dense mode: row y's codes to <paramref name="codes"/>[y·w], its
    /// predictor to <paramref name="predictors"/>[y], its zero-row bit to <paramref name="zeroRows"/>;
    /// returns the plane's cost.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CodeDensePlane<K>(byte* plane, int width, int height, byte* codes, byte* predictors, out ulong zeroRows)
        where K : struct, IEncodeKernel
    {
        byte* candidates = stackalloc byte[CandidateBytes];
        int total = 0;
        zeroRows = 0;
        byte* top = plane;
        for (int y = 0; y < height; y++, top += Stride)
        {
            byte* codesOfRow = codes + y * width;
            // a row equal to the row above: every code 0 under Top, the cheapest and lowest (see EncodePlane)
            if (new ReadOnlySpan<byte>(top + Stride, width).SequenceEqual(new ReadOnlySpan<byte>(top, width)))
            {
                predictors[y] = RowCoding.Top;
                zeroRows |= 1UL << y;
                total += EncoderPolicy.DenseRowCost(0, width);
                new Span<byte>(codesOfRow, width).Clear();
                continue;
            }
            int key = K.ChooseDenseRow(top + Stride, top, width, candidates);
            int predictor = EncoderPolicy.PredictorOfKey(key), cost = EncoderPolicy.CostOfKey(key);
            predictors[y] = (byte)predictor;
            total += cost;
            Unsafe.CopyBlockUnaligned(codesOfRow, CandidateCodes(candidates, predictor), (uint)width);
            if (cost == EncoderPolicy.DenseRowCost(0, width)) zeroRows |= 1UL << y; // every code 0
        }
        return total;
    }

    /// <summary>Where coded plane <paramref name="plane"/> (<see cref="EncoderPolicy"/>'s numbering) lies in memory.</summary>
    private int Slot(int plane) =>
        plane == EncoderPolicy.RedMinusGreen(_channels) ? RedMinusGreenSlot
        : plane == EncoderPolicy.BlueMinusGreen(_channels) ? BlueMinusGreenSlot
        : plane;

    /// <summary>Splits the patch into planes (and R−G, B−G); sets byte [w] of each row to byte [w−1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Extract<K>(byte* source, int stride, int width, int height, int sourceLength) where K : struct, IEncodeKernel
    {
        int rowBytes = width * _channels;
        for (int y = 0; y < height; y++)
        {
            byte* row = source + (long)y * stride;
            // a full-width row can be read as 64·C bytes; otherwise stage it (never read past the row)
            if (width != 64)
            {
                Unsafe.CopyBlockUnaligned(_stage, row, (uint)rowBytes);
                row = _stage;
            }
            byte* dest = _planes + (y + 1) * Stride;
            K.Deinterleave(row, _channels, dest);
            for (int q = 0; q < EncoderPolicy.PlaneCount(_channels); q++)
            {
                byte* plane = dest + Slot(q) * PlaneBytes;
                plane[width] = plane[width - 1];
            }
        }
    }

    /// <summary>Codes one plane as a channel block ([zero-row mask][predictors][widths of the coded
    /// rows][groups]): the arrays at <paramref name="block"/> (their length in
    /// <paramref name="headerLength"/>), the groups at <paramref name="groupsAt"/>; returns the groups' length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int EncodePlane<K>(byte* plane, int width, int height, byte* block, byte* groupsAt, out int headerLength)
        where K : struct, IEncodeKernel
    {
        int groups = RowCoding.GroupsPerRow(width);
        int maskBytes = RowCoding.ZeroMaskBytes(height);
        int predictorBytes = RowCoding.PredictorBytes(height);
        byte* predictors = block + maskBytes;
        byte* widthArray = predictors + predictorBytes;
        byte* payload = groupsAt;
        new Span<byte>(block, maskBytes + predictorBytes).Clear();
        ulong groupMask = groups == 8 ? 0xFFFF_FFFFUL : (1UL << (4 * groups)) - 1;
        // the four candidates' codes (64 bytes each) and group widths (8 bytes each)
        byte* candidates = stackalloc byte[CandidateBytes];
        // the width nibbles of the coded rows (at most 64 rows × 8 groups), and 8 bytes of slack
        byte* widths = stackalloc byte[256 + 8];
        new Span<byte>(widths, 256 + 8).Clear();
        ulong zeroRows = 0; // the zero-row mask as a little-endian integer: bit r for row r

        byte* top = plane;
        int nibble = 0;
        for (int y = 0; y < height; y++, top += Stride)
        {
            // A row equal to the row above is a zero row under predictor Top, which is what the
            // policy picks (no cheaper row than 0 bits, Top the lowest): skip the four candidates.
            if (new ReadOnlySpan<byte>(top + Stride, width).SequenceEqual(new ReadOnlySpan<byte>(top, width)))
            {
                predictors[y >> 2] |= (byte)RowCoding.PredictorBits(RowCoding.Top, y);
                zeroRows |= 1UL << y;
                continue;
            }
            int best = K.ChooseRow(top + Stride, top, width, candidates);
            predictors[y >> 2] |= (byte)RowCoding.PredictorBits(best, y);
            ulong groupWidths = CandidateWidths(candidates)[best];
            if (groupWidths == 0)
            {
                // every code 0: a zero row, no widths and no groups
                zeroRows |= 1UL << y;
                continue;
            }
            byte* codes = CandidateCodes(candidates, best);

            ulong nibbles = BytesToNibbles(groupWidths) & groupMask;
            // or the row's nibbles in at nibble index j·G, j = coded rows so far (the bytes past them are or-ed with 0)
            byte* w = widths + (nibble >> 1);
            uint shifted0 = (uint)(nibbles << ((nibble & 1) * 4));
            *(uint*)w |= shifted0;
            if ((nibble & 1) != 0 && groups == 8) w[4] |= (byte)(nibbles >> 28);
            nibble += groups;

            ulong* groupCodes = (ulong*)codes;
            for (int g = 0; g < groups; g++)
            {
                int b = (int)(groupWidths >> (8 * g)) & 0xFF;
                Unsafe.WriteUnaligned(payload, PackGroup(groupCodes[g], b));
                payload += b;
            }
        }
        for (int i = 0; i < maskBytes; i++) block[i] = (byte)(zeroRows >> (8 * i));
        int widthBytes = (nibble + 1) >> 1;
        Unsafe.CopyBlockUnaligned(widthArray, widths, (uint)widthBytes);
        headerLength = (int)(widthArray + widthBytes - block);
        return (int)(payload - groupsAt);
    }

    // K.ChooseRow's output: predictor p's 64 codes at 64·p (0 past the width), then its group
    // widths, a byte a group, as the ulong at 256 + 8·p
    private const int CandidateBytes = RowCoding.PredictorCount * (64 + 8) + 8;
    private static byte* CandidateCodes(byte* candidates, int predictor) => candidates + 64 * predictor;
    private static ulong* CandidateWidths(byte* candidates) => (ulong*)(candidates + 64 * RowCoding.PredictorCount);

    /// <summary>8 bytes (each 0..15) to 8 nibbles: the inverse of SimdPatchDecoder.NibblesToBytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong BytesToNibbles(ulong x)
    {
        if (Bmi2.X64.IsSupported) return Bmi2.X64.ParallelBitExtract(x, 0x0F0F0F0F0F0F0F0FUL);
        x = (x | (x >> 4)) & 0x00FF00FF00FF00FFUL;
        x = (x | (x >> 8)) & 0x0000FFFF0000FFFFUL;
        return (x | (x >> 16)) & 0xFFFFFFFFUL;
    }

    /// <summary>8 codes (one a byte, each &lt; 2^b) to a group of b-bit slots, little-endian.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong PackGroup(ulong codes, int width)
    {
        if (Bmi2.X64.IsSupported) return Bmi2.X64.ParallelBitExtract(codes, SimdPatchDecoder.SlotMask(width));
        return PackGroupPortable(codes, width);
    }

    /// <summary><see cref="PackGroup"/> without pext: the inverse of SimdPatchDecoder.UnpackGroupPortable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong PackGroupPortable(ulong codes, int width)
    {
        ulong x = (codes & 0x00FF00FF00FF00FFUL) | ((codes >> 8) & 0x00FF00FF00FF00FFUL) << width;
        x = (x & 0x0000FFFF0000FFFFUL) | ((x >> 16) & 0x0000FFFF0000FFFFUL) << (2 * width);
        return (x & 0xFFFFFFFFUL) | (x >> 32) << (4 * width);
    }

    private interface IEncodeKernel
    {
        /// <summary>Writes R, G, B, A (as present) and R−G, B−G of 64 pixels of an interleaved row to
        /// planes 0..5 at <paramref name="dest"/> (plane p at + p·PlaneBytes).</summary>
        static abstract void Deinterleave(byte* row, int channels, byte* dest);

        /// <summary>Computes the row's codes and group widths under the 4 predictors into
        /// <paramref name="candidates"/> (<see cref="CandidateCodes"/>, <see cref="CandidateWidths"/>)
        /// and returns the cheapest predictor (<see cref="Cheapest"/>).</summary>
        static abstract int ChooseRow(byte* row, byte* top, int width, byte* candidates);

        /// <summary>Computes the row's codes under the 4 predictors into <paramref name="candidates"/>
        /// (<see cref="CandidateCodes"/>) and returns the key (<see cref="EncoderPolicy.PredictorKey"/>)
        /// of the cheapest by dense mode's cost (<see cref="EncoderPolicy.DenseRowCost"/>).</summary>
        static abstract int ChooseDenseRow(byte* row, byte* top, int width, byte* candidates);
    }

    // ---------------------------------------------------------------- 512 bits

    private struct V512 : IEncodeKernel
    {
        private static readonly Vector512<byte> ShiftUp = MakeShiftUp();
        private static readonly Vector512<byte>[] Deinterleave3 = MakeDeinterleave(3);
        private static readonly Vector512<byte>[] Deinterleave4 = MakeDeinterleave(4);

        private static Vector512<byte> MakeShiftUp()
        {
            var t = new byte[64];
            t[0] = 64; // byte 0 of the zero vector
            for (int i = 1; i < 64; i++) t[i] = (byte)(i - 1);
            return Vector512.Create(t);
        }

        /// <summary>For channel c: step A picks from (in0, in1), step B from (stepA, in2 [, in3]).</summary>
        private static Vector512<byte>[] MakeDeinterleave(int channels)
        {
            var result = new Vector512<byte>[2 * channels];
            for (int c = 0; c < channels; c++)
            {
                var a = new byte[64];
                var b = new byte[64];
                for (int x = 0; x < 64; x++)
                {
                    int q = x * channels + c; // byte of the interleaved row
                    if (channels == 3)
                    {
                        a[x] = (byte)(q < 128 ? q : 0);
                        b[x] = (byte)(q < 128 ? x : 64 + (q - 128));
                    }
                    else
                    {
                        a[x] = (byte)(q & 127);                   // (in0,in1) or (in2,in3)
                        b[x] = (byte)(q < 128 ? x : 64 + x);
                    }
                }
                result[2 * c] = Vector512.Create(a);
                result[2 * c + 1] = Vector512.Create(b);
            }
            return result;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Deinterleave(byte* row, int channels, byte* dest)
        {
            if (channels == 1)
            {
                Vector512.Load(row).Store(dest);
                return;
            }
            var in0 = Vector512.Load(row);
            var in1 = Vector512.Load(row + 64);
            var in2 = Vector512.Load(row + 128);
            Vector512<byte> r, g, b;
            if (channels == 3)
            {
                var t = Deinterleave3;
                r = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[0], in1), t[1], in2);
                g = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[2], in1), t[3], in2);
                b = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[4], in1), t[5], in2);
            }
            else
            {
                var in3 = Vector512.Load(row + 192);
                var t = Deinterleave4;
                r = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[0], in1), t[1], Avx512Vbmi.PermuteVar64x8x2(in2, t[0], in3));
                g = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[2], in1), t[3], Avx512Vbmi.PermuteVar64x8x2(in2, t[2], in3));
                b = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[4], in1), t[5], Avx512Vbmi.PermuteVar64x8x2(in2, t[4], in3));
                var a = Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(in0, t[6], in1), t[7], Avx512Vbmi.PermuteVar64x8x2(in2, t[6], in3));
                a.Store(dest + 3 * PlaneBytes);
            }
            r.Store(dest);
            g.Store(dest + PlaneBytes);
            b.Store(dest + 2 * PlaneBytes);
            (r - g).Store(dest + 4 * PlaneBytes);
            (b - g).Store(dest + 5 * PlaneBytes);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<byte> Zigzag(Vector512<byte> e, Vector512<byte> keep) =>
            ((e + e) ^ Vector512.LessThan(e.AsSByte(), Vector512<sbyte>.Zero).AsByte()) & keep;

        /// <summary>Bits of the largest code of each group of 8 (one a qword).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<ulong> GroupWidths(Vector512<byte> codes)
        {
            var o = codes.AsUInt64();
            o |= Vector512.ShiftRightLogical(o, 32);
            o |= Vector512.ShiftRightLogical(o, 16);
            o |= Vector512.ShiftRightLogical(o, 8);
            o &= Vector512.Create(0xFFUL);
            return Vector512.Create(64UL) - Avx512CD.LeadingZeroCount(o);
        }

        /// <summary>The row's codes under the 4 predictors (0 past the width).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector512<byte> Top, Vector512<byte> Left, Vector512<byte> Gradient, Vector512<byte> TopRight) Candidates(
            byte* row, byte* top, int width)
        {
            var keep = Vector512.LessThan(Vector512<byte>.Indices, Vector512.Create((byte)width));
            var v = Vector512.Load(row);
            var t = Vector512.Load(top);
            var zero = Vector512<byte>.Zero;
            // offsets from each base (RowCoding.Base): T[x] for Top and Gradient, T[0], T[x + 1];
            // the summing predictors' residuals are the offsets' differences (RowCoding.Residual)
            var dTop = v - t;
            var dLeft = v - Vector512.Create(*top);
            var dTopRight = v - Vector512.Load(top + 1);
            return (Zigzag(dTop, keep),
                Zigzag(dLeft - Avx512Vbmi.PermuteVar64x8x2(dLeft, ShiftUp, zero), keep),
                Zigzag(dTop - Avx512Vbmi.PermuteVar64x8x2(dTop, ShiftUp, zero), keep),
                Zigzag(dTopRight - Avx512Vbmi.PermuteVar64x8x2(dTopRight, ShiftUp, zero), keep));
        }

        // bit length of a byte: of its high nibble + 4 when that is not 0, else of its low nibble
        private static readonly Vector512<byte> HighNibbleLength = Vector512.Create(Vector128.Create((byte)0, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8));
        private static readonly Vector512<byte> LowNibbleLength = Vector512.Create(Vector128.Create((byte)0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4));

        /// <summary>The sum of the codes' bit lengths, per qword (as vpsadbw leaves it).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<ulong> BitLengths(Vector512<byte> codes)
        {
            var lengths = Vector512.Max(Avx512BW.Shuffle(HighNibbleLength, Vector512.ShiftRightLogical(codes.AsUInt16(), 4).AsByte() & Vector512.Create((byte)15)),
                Avx512BW.Shuffle(LowNibbleLength, codes & Vector512.Create((byte)15)));
            return Avx512BW.SumAbsoluteDifferences(lengths, Vector512<byte>.Zero).AsUInt64();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int ChooseDenseRow(byte* row, byte* top, int width, byte* candidates)
        {
            var (kTop, kLeft, kGradient, kTopRight) = Candidates(row, top, width);
            kTop.Store(CandidateCodes(candidates, RowCoding.Top));
            kLeft.Store(CandidateCodes(candidates, RowCoding.Left));
            kGradient.Store(CandidateCodes(candidates, RowCoding.Gradient));
            kTopRight.Store(CandidateCodes(candidates, RowCoding.TopRight));
            // the four sums at once, predictor p's in bits 16p..16p + 15
            var packed = Vector512.ShiftLeft(BitLengths(kTop), 16 * RowCoding.Top) | Vector512.ShiftLeft(BitLengths(kLeft), 16 * RowCoding.Left)
                | Vector512.ShiftLeft(BitLengths(kGradient), 16 * RowCoding.Gradient) | Vector512.ShiftLeft(BitLengths(kTopRight), 16 * RowCoding.TopRight);
            return CheapestDense(Vector512.Sum(packed), width);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int ChooseRow(byte* row, byte* top, int width, byte* candidates)
        {
            var (kTop, kLeft, kGradient, kTopRight) = Candidates(row, top, width);
            var wTop = GroupWidths(kTop);
            var wLeft = GroupWidths(kLeft);
            var wGradient = GroupWidths(kGradient);
            var wTopRight = GroupWidths(kTopRight);
            // the four sums of group widths at once, predictor p's in bits 16p..16p + 15
            var packed = Vector512.ShiftLeft(wTop, 16 * RowCoding.Top) | Vector512.ShiftLeft(wLeft, 16 * RowCoding.Left)
                | Vector512.ShiftLeft(wGradient, 16 * RowCoding.Gradient) | Vector512.ShiftLeft(wTopRight, 16 * RowCoding.TopRight);
            ulong groupBytes = Vector512.Sum(packed);
            kTop.Store(CandidateCodes(candidates, RowCoding.Top));
            kLeft.Store(CandidateCodes(candidates, RowCoding.Left));
            kGradient.Store(CandidateCodes(candidates, RowCoding.Gradient));
            kTopRight.Store(CandidateCodes(candidates, RowCoding.TopRight));
            ulong* widths = CandidateWidths(candidates);
            widths[RowCoding.Top] = Avx512F.ConvertToVector128Byte(wTop).AsUInt64().ToScalar();
            widths[RowCoding.Left] = Avx512F.ConvertToVector128Byte(wLeft).AsUInt64().ToScalar();
            widths[RowCoding.Gradient] = Avx512F.ConvertToVector128Byte(wGradient).AsUInt64().ToScalar();
            widths[RowCoding.TopRight] = Avx512F.ConvertToVector128Byte(wTopRight).AsUInt64().ToScalar();
            return Cheapest(groupBytes, RowCoding.GroupsPerRow(width));
        }
    }

    /// <summary>The cheapest predictor by <see cref="EncoderPolicy"/>, from the four sums of group
    /// widths packed in <paramref name="groupBytes"/> (predictor p's in bits 16p..16p + 15): the
    /// minimum of the four keys, without branches (the choice is data-dependent and unpredictable).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Cheapest(ulong groupBytes, int groups)
    {
        static int Key(ulong packed, int predictor, int groups) =>
            EncoderPolicy.PredictorKey(EncoderPolicy.RowBits((int)(packed >> (16 * predictor)) & 0xFFFF, groups), predictor);
        int top = Key(groupBytes, RowCoding.Top, groups), left = Key(groupBytes, RowCoding.Left, groups);
        int gradient = Key(groupBytes, RowCoding.Gradient, groups), topRight = Key(groupBytes, RowCoding.TopRight, groups);
        return EncoderPolicy.PredictorOfKey(Math.Min(Math.Min(top, left), Math.Min(gradient, topRight)));
    }

    /// <summary>The key of the cheapest predictor by dense mode's cost, from the four sums of bit
    /// lengths packed in <paramref name="bitLengths"/> (predictor p's in bits 16p..16p + 15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CheapestDense(ulong bitLengths, int width)
    {
        static int Key(ulong packed, int predictor, int width) =>
            EncoderPolicy.PredictorKey(EncoderPolicy.DenseRowCost((int)(packed >> (16 * predictor)) & 0xFFFF, width), predictor);
        return Math.Min(Math.Min(Key(bitLengths, RowCoding.Top, width), Key(bitLengths, RowCoding.Left, width)),
            Math.Min(Key(bitLengths, RowCoding.Gradient, width), Key(bitLengths, RowCoding.TopRight, width)));
    }

    // ---------------------------------------------------------------- 128 bits (also used by the Vector256 path)

    private struct V128 : IEncodeKernel
    {
        private static readonly Vector128<byte> ShiftUp = Vector128.Create((byte)0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
        private static readonly Vector128<byte> LastToFirst = Vector128.Create((byte)15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
        // [channels][input vector k][plane c]: bytes of input k that belong to plane c, at their pixel
        private static readonly Vector128<byte>[] Deinterleave3 = MakeDeinterleave(3);
        private static readonly Vector128<byte>[] Deinterleave4 = MakeDeinterleave(4);

        private static Vector128<byte>[] MakeDeinterleave(int channels)
        {
            var result = new Vector128<byte>[channels * channels];
            for (int k = 0; k < channels; k++)
                for (int c = 0; c < channels; c++)
                {
                    var m = new byte[16];
                    for (int x = 0; x < 16; x++)
                    {
                        int q = x * channels + c - 16 * k;
                        m[x] = (byte)(q is >= 0 and < 16 ? q : 0x80);
                    }
                    result[k * channels + c] = Vector128.Create(m);
                }
            return result;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<byte> Shuffle(Vector128<byte> v, Vector128<byte> indices)
        {
            if (Ssse3.IsSupported) return Ssse3.Shuffle(v, indices);
            if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.VectorTableLookup(v, indices);
            return Vector128.Shuffle(v, indices);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Deinterleave(byte* row, int channels, byte* dest)
        {
            for (int i = 0; i < 64; i += 16)
            {
                if (channels == 1)
                {
                    Vector128.Load(row + i).Store(dest + i);
                    continue;
                }
                byte* src = row + i * channels;
                var m = channels == 3 ? Deinterleave3 : Deinterleave4;
                Vector128<byte> r = default, g = default, b = default, a = default;
                for (int k = 0; k < channels; k++)
                {
                    var input = Vector128.Load(src + 16 * k);
                    r |= Shuffle(input, m[k * channels]);
                    g |= Shuffle(input, m[k * channels + 1]);
                    b |= Shuffle(input, m[k * channels + 2]);
                    if (channels == 4) a |= Shuffle(input, m[k * channels + 3]);
                }
                r.Store(dest + i);
                g.Store(dest + PlaneBytes + i);
                b.Store(dest + 2 * PlaneBytes + i);
                if (channels == 4) a.Store(dest + 3 * PlaneBytes + i);
                (r - g).Store(dest + 4 * PlaneBytes + i);
                (b - g).Store(dest + 5 * PlaneBytes + i);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<byte> Zigzag(Vector128<byte> e, Vector128<byte> keep) =>
            ((e + e) ^ Vector128.LessThan(e.AsSByte(), Vector128<sbyte>.Zero).AsByte()) & keep;

        /// <summary>e = d − d shifted up one byte (the previous chunk's last byte entering at 0).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<byte> Difference(Vector128<byte> d, Vector128<byte> previous) =>
            d - (Shuffle(d, ShiftUp) | Shuffle(previous, LastToFirst));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Widths(Vector128<byte> codes, int shift, ref ulong widths)
        {
            var o = codes.AsUInt64();
            o |= Vector128.ShiftRightLogical(o, 32);
            o |= Vector128.ShiftRightLogical(o, 16);
            o |= Vector128.ShiftRightLogical(o, 8);
            int a = 32 - BitOperations.LeadingZeroCount((uint)o.GetElement(0) & 0xFF);
            int b = 32 - BitOperations.LeadingZeroCount((uint)o.GetElement(1) & 0xFF);
            widths |= ((ulong)a << shift) | ((ulong)b << (shift + 8));
            return a + b;
        }

        /// <summary>Codes 16·k..16·k + 15 of the row (<paramref name="i"/> = 16·k) under the 4 predictors
        /// (0 past the width); the previous chunk's offsets are taken again from memory.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector128<byte> Top, Vector128<byte> Left, Vector128<byte> Gradient, Vector128<byte> TopRight) Chunk(
            byte* row, byte* top, int i, int width)
        {
            var keep = Vector128.LessThan(Vector128<byte>.Indices + Vector128.Create((byte)i), Vector128.Create((byte)width));
            var tFirst = Vector128.Create(*top);
            // offsets from each base, as in V512.ChooseRow, of this chunk and of the one before (0 before the row)
            var v = Vector128.Load(row + i);
            var dTop = v - Vector128.Load(top + i);
            var dLeft = v - tFirst;
            var dTopRight = v - Vector128.Load(top + 1 + i);
            Vector128<byte> lastTop = default, lastLeft = default, lastTopRight = default;
            if (i > 0)
            {
                var u = Vector128.Load(row + i - 16);
                lastTop = u - Vector128.Load(top + i - 16);
                lastLeft = u - tFirst;
                lastTopRight = u - Vector128.Load(top + i - 15);
            }
            return (Zigzag(dTop, keep), Zigzag(Difference(dLeft, lastLeft), keep), Zigzag(Difference(dTop, lastTop), keep),
                Zigzag(Difference(dTopRight, lastTopRight), keep));
        }

        private static readonly Vector128<byte> HighNibbleLength = Vector128.Create((byte)0, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8);
        private static readonly Vector128<byte> LowNibbleLength = Vector128.Create((byte)0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4);

        /// <summary>The sum of 16 codes' bit lengths (at most 128).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int BitLengths(Vector128<byte> codes)
        {
            var lengths = Vector128.Max(Shuffle(HighNibbleLength, Vector128.ShiftRightLogical(codes, 4)),
                Shuffle(LowNibbleLength, codes & Vector128.Create((byte)15)));
            return Vector128.Sum(lengths);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int ChooseDenseRow(byte* row, byte* top, int width, byte* candidates)
        {
            int top0 = 0, left = 0, gradient = 0, topRight = 0;
            for (int i = 0; i < 64; i += 16)
            {
                var (kTop, kLeft, kGradient, kTopRight) = Chunk(row, top, i, width);
                kTop.Store(CandidateCodes(candidates, RowCoding.Top) + i);
                kLeft.Store(CandidateCodes(candidates, RowCoding.Left) + i);
                kGradient.Store(CandidateCodes(candidates, RowCoding.Gradient) + i);
                kTopRight.Store(CandidateCodes(candidates, RowCoding.TopRight) + i);
                top0 += BitLengths(kTop);
                left += BitLengths(kLeft);
                gradient += BitLengths(kGradient);
                topRight += BitLengths(kTopRight);
            }
            ulong packed = (ulong)(uint)top0 << (16 * RowCoding.Top) | (ulong)(uint)left << (16 * RowCoding.Left)
                | (ulong)(uint)gradient << (16 * RowCoding.Gradient) | (ulong)(uint)topRight << (16 * RowCoding.TopRight);
            return CheapestDense(packed, width);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int ChooseRow(byte* row, byte* top, int width, byte* candidates)
        {
            int bytesTop = 0, bytesLeft = 0, bytesGradient = 0, bytesTopRight = 0;
            ulong* widths = CandidateWidths(candidates);
            widths[RowCoding.Top] = widths[RowCoding.Left] = widths[RowCoding.Gradient] = widths[RowCoding.TopRight] = 0;
            for (int i = 0; i < 64; i += 16)
            {
                var (kTop, kLeft, kGradient, kTopRight) = Chunk(row, top, i, width);
                kTop.Store(CandidateCodes(candidates, RowCoding.Top) + i);
                kLeft.Store(CandidateCodes(candidates, RowCoding.Left) + i);
                kGradient.Store(CandidateCodes(candidates, RowCoding.Gradient) + i);
                kTopRight.Store(CandidateCodes(candidates, RowCoding.TopRight) + i);
                int shift = i; // 2 groups a chunk, a byte each: bit offset 8·(i/8)
                bytesTop += Widths(kTop, shift, ref widths[RowCoding.Top]);
                bytesLeft += Widths(kLeft, shift, ref widths[RowCoding.Left]);
                bytesGradient += Widths(kGradient, shift, ref widths[RowCoding.Gradient]);
                bytesTopRight += Widths(kTopRight, shift, ref widths[RowCoding.TopRight]);
            }
            ulong groupBytes = (ulong)(uint)bytesTop << (16 * RowCoding.Top) | (ulong)(uint)bytesLeft << (16 * RowCoding.Left)
                | (ulong)(uint)bytesGradient << (16 * RowCoding.Gradient) | (ulong)(uint)bytesTopRight << (16 * RowCoding.TopRight);
            return Cheapest(groupBytes, RowCoding.GroupsPerRow(width));
        }
    }
}
