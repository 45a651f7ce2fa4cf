using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using L3.Kernels;

namespace L3.Cpu;

/// <summary>
/// The vector decoder of one patch (Vector128 / Vector256 / Vector512 paths). It must give the
/// same bytes as <see cref="PatchDecoder"/>, and may only be run on a patch that
/// <see cref="PatchFormat.Validate"/> accepted: after validation it reads without bounds checks.
/// </summary>
/// <remarks>
/// Each plane is decoded into a scratch of 65 rows of <see cref="Stride"/> bytes: row 0 is the
/// zero row above the patch (never written), row y + 1 is the patch's row y. After each row its
/// byte [w] is set to byte [w − 1], so "top-right" is a plain load of the row above at +1.
/// A row is: unpack up to 8 groups into 64 codes, unzigzag, one prefix sum (predictors 1–3),
/// add the base from the row above. Bytes past w in a row are don't-care: nothing at x &lt; w reads
/// them. The reader needs <see cref="ReadPadding"/> readable bytes after the patch.
/// </remarks>
internal static unsafe class SimdPatchDecoder
{
    public const int Stride = 80;
    public const int PlaneBytes = 65 * Stride;
    /// <summary>Bytes a decoder may read past a patch's end (wide loads of the last rows).</summary>
    public const int ReadPadding = 80;

    /// <summary>Per-thread scratch: 4 planes, a 256-byte row staging buffer, 64 bytes of codes.</summary>
    public sealed class Scratch : IDisposable
    {
        public readonly byte* Planes;
        public readonly byte* Row;
        public readonly byte* Codes;
        /// <summary>Plane scratch of the scalar reference decoder.</summary>
        public readonly byte[] ScalarPlanes = new byte[4 * 64 * 64];
        private byte[]? _padded;

        public Scratch()
        {
            // The kernels' tables (static readonly vectors) are built before any kernel is compiled:
            // the kernels are compiled fully optimized on first call (AggressiveOptimization, so a
            // one-off decode never runs unoptimized SIMD code), and the JIT embeds a static readonly
            // vector as a constant only when its class is already initialized. (A static constructor
            // on SimdPatchDecoder itself would cost a class-initialization check on every call.)
            RuntimeHelpers.RunClassConstructor(typeof(V512).TypeHandle);
            RuntimeHelpers.RunClassConstructor(typeof(V256).TypeHandle);
            RuntimeHelpers.RunClassConstructor(typeof(V128).TypeHandle);
            Planes = (byte*)NativeMemory.AlignedAlloc(4 * PlaneBytes + 256 + 64 + 128, 64);
            NativeMemory.Clear(Planes, 4 * PlaneBytes + 256 + 64 + 128);
            Row = Planes + 4 * PlaneBytes;
            Codes = Row + 256;
        }

        /// <summary>A buffer with <see cref="ReadPadding"/> zero bytes after <paramref name="length"/>.</summary>
        public byte[] Padded(int length)
        {
            if (_padded is null || _padded.Length < length + ReadPadding) _padded = new byte[length + ReadPadding];
            return _padded;
        }

        private bool _disposed;
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            NativeMemory.AlignedFree(Planes);
            GC.SuppressFinalize(this);
        }
        ~Scratch() => Dispose();
    }

    /// <summary>Decodes a validated patch; <paramref name="patch"/> must have ReadPadding readable bytes after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode<TShape>(CpuPath path, byte* patch, int width, int height, int channels, byte* dest, int destStride,
        Scratch scratch) where TShape : struct, IPatchShape
    {
        switch (path)
        {
            case CpuPath.Vector512: Decode<V512, TShape>(patch, width, height, channels, dest, destStride, scratch); break;
            case CpuPath.Vector256: Decode<V256, TShape>(patch, width, height, channels, dest, destStride, scratch); break;
            case CpuPath.Vector128: Decode<V128, TShape>(patch, width, height, channels, dest, destStride, scratch); break;
            default: throw new ArgumentOutOfRangeException(nameof(path));
        }
    }

    /// <summary>
    /// Decodes a patch with the row kernel <typeparamref name="K"/>. When the shape fixes N, a whole
    /// patch (N × N) takes a copy of the decoder in which its width, height, group count and mask
    /// widths are constants; edge patches and every patch of <see cref="AnyShape"/> take the other.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Decode<K, TShape>(byte* patch, int width, int height, int channels, byte* dest, int destStride, Scratch scratch)
        where K : struct, IRowKernel where TShape : struct, IPatchShape
    {
        channels = PatchShape.Channels<TShape>(channels);
        if (PatchShape.IsWhole<TShape>(width) && PatchShape.IsWhole<TShape>(height))
            DecodePatch<K>(patch, default(TShape).N, default(TShape).N, channels, dest, destStride, scratch);
        else
            DecodePatch<K>(patch, width, height, channels, dest, destStride, scratch);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DecodePatch<K>(byte* patch, int width, int height, int channels, byte* dest, int destStride, Scratch scratch)
        where K : struct, IRowKernel
    {
        byte* at = patch + 1;
        for (int c = 0; c < channels; c++)
            at = DecodePlane<K>(at, width, height, scratch.Planes + c * PlaneBytes, scratch.Codes);

        InterleavePatch<K>(width, height, channels, (patch[0] & PatchFormat.ColorTransformFlag) != 0, dest, destStride, scratch);
    }

    /// <summary>Writes the decoded planes of the scratch (the colour transform restored) as interleaved
    /// pixels; shared with the dense (mode 1) vector decoder, whose planes are laid out alike.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void InterleavePatch<K>(int width, int height, int channels, bool transform, byte* dest, int destStride, Scratch scratch)
        where K : struct, IRowKernel
    {
        byte* planes = scratch.Planes + Stride; // row 0 of the patch
        int rowBytes = width * channels;
        if (width == 64)
        {
            for (int y = 0; y < height; y++)
                K.Interleave(planes + y * Stride, channels, transform, dest + (long)y * destStride);
        }
        else
        {
            for (int y = 0; y < height; y++)
            {
                K.Interleave(planes + y * Stride, channels, transform, scratch.Row);
                Unsafe.CopyBlockUnaligned(dest + (long)y * destStride, scratch.Row, (uint)rowBytes);
            }
        }
    }

    /// <summary>Decodes one channel block ([zero-row mask][predictors][widths of the coded rows][groups]);
    /// returns the pointer after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* DecodePlane<K>(byte* at, int width, int height, byte* plane, byte* codes) where K : struct, IRowKernel
    {
        int groups = (width + 7) >> 3;
        int maskBytes = (height + 7) >> 3;
        // the mask, 1 to 8 bytes, as one integer (the bytes after it are the predictors: masked off)
        ulong zeroRows = Unsafe.ReadUnaligned<ulong>(at) & (height == 64 ? ~0UL : (1UL << height) - 1);
        int codedRows = height - BitOperations.PopCount(zeroRows);
        byte* predictors = at + maskBytes;
        byte* widths = predictors + ((height + 3) >> 2);
        byte* payload = widths + ((codedRows * groups + 1) >> 1);
        ulong groupMask = groups == 8 ? 0xFFFF_FFFFUL : (1UL << (4 * groups)) - 1;
        byte* top = plane;
        for (int y = 0, nibble = 0; y < height; y++, top += Stride)
        {
            int predictor = (predictors[y >> 2] >> ((y & 3) * 2)) & 3;
            byte* row = top + Stride;
            if ((zeroRows & (1UL << y)) != 0)
            {
                // every residual 0: the base alone
                K.ZeroRow(top, row, predictor);
            }
            else
            {
                ulong nibbles = (Unsafe.ReadUnaligned<ulong>(widths + (nibble >> 1)) >> ((nibble & 1) * 4)) & groupMask;
                ulong groupWidths = NibblesToBytes(nibbles);
                K.DecodeRow(payload, groupWidths, top, row, predictor, codes);
                payload += (int)((groupWidths * 0x0101010101010101UL) >> 56);
                nibble += groups;
            }
            row[width] = row[width - 1];
        }
        return payload;
    }

    /// <summary>8 nibbles (low 32 bits) to 8 bytes, nibble i to byte i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong NibblesToBytes(ulong x)
    {
        x = (x | (x << 16)) & 0x0000FFFF0000FFFFUL;
        x = (x | (x << 8)) & 0x00FF00FF00FF00FFUL;
        return (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FUL;
    }

    /// <summary>Byte masks for pdep/pext: the low b bits of each of 8 bytes.</summary>
    private static ReadOnlySpan<ulong> SlotMasks =>
    [
        0, 0x0101010101010101UL, 0x0303030303030303UL, 0x0707070707070707UL, 0x0F0F0F0F0F0F0F0FUL,
        0x1F1F1F1F1F1F1F1FUL, 0x3F3F3F3F3F3F3F3FUL, 0x7F7F7F7F7F7F7F7FUL, 0xFFFFFFFFFFFFFFFFUL,
    ];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SlotMask(int width) => Unsafe.Add(ref MemoryMarshal.GetReference(SlotMasks), width);

    /// <summary>A group's b-bit codes (little-endian in <paramref name="bits"/>) to 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong UnpackGroup(ulong bits, int width)
    {
        if (Bmi2.X64.IsSupported) return Bmi2.X64.ParallelBitDeposit(bits, SlotMask(width));
        return UnpackGroupPortable(bits, width);
    }

    /// <summary><see cref="UnpackGroup"/> without pdep (Arm, x86 without BMI2): halve the fields
    /// three times, 4 codes a 32-bit lane, then 2 a 16-bit lane, then 1 a byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong UnpackGroupPortable(ulong bits, int width)
    {
        ulong m4 = (1UL << (4 * width)) - 1;                               // width ≤ 8: 4·width ≤ 32
        ulong m2 = ((1UL << (2 * width)) - 1) * 0x0000000100000001UL;
        ulong m1 = ((1UL << width) - 1) * 0x0001000100010001UL;
        ulong x = (bits & m4) | ((bits >> (4 * width)) & m4) << 32;
        x = (x & m2) | ((x >> (2 * width)) & m2) << 16;
        return (x & m1) | ((x >> width) & m1) << 8;
    }

    /// <summary>Unpacks a row's 8 groups (widths in the bytes of <paramref name="groupWidths"/>) to 64 codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnpackRow(byte* payload, ulong groupWidths, byte* codes)
    {
        ulong* output = (ulong*)codes;
        for (int g = 0; g < 8; g++)
        {
            int b = (int)(groupWidths >> (8 * g)) & 0xFF;
            output[g] = UnpackGroup(Unsafe.ReadUnaligned<ulong>(payload), b);
            payload += b;
        }
    }

    internal interface IRowKernel
    {
        /// <summary>Rebuilds a row of up to 64 pixels from its 64 codes (section 3: unzigzag, the prefix
        /// sum for predictors 1–3, the base from the row above) into <paramref name="row"/> (64 bytes written).</summary>
        static abstract void RebuildRow(byte* codes, byte* top, byte* row, int predictor);

        /// <summary>Decodes a row of up to 64 pixels into <paramref name="row"/> (64 bytes written).</summary>
        static abstract void DecodeRow(byte* payload, ulong groupWidths, byte* top, byte* row, int predictor, byte* codes);

        /// <summary>Decodes a zero row (every residual 0) into <paramref name="row"/> (64 bytes written):
        /// the row above (Top, Gradient), its first pixel (Left), or the row above from +1 (TopRight).</summary>
        static abstract void ZeroRow(byte* top, byte* row, int predictor);

        /// <summary>Interleaves 64 pixels of the planes' row (plane c at + c·PlaneBytes) into 64·channels bytes.</summary>
        static abstract void Interleave(byte* planes, int channels, bool transform, byte* output);
    }

    // ---------------------------------------------------------------- 512 bits: AVX-512 VBMI

    internal struct V512 : IRowKernel
    {
        // byte i -> i / 8 (spreads byte g of a qword over qword g)
        private static readonly Vector512<byte> SpreadIndex = Vector512.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
            4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
        private static readonly Vector512<byte> Slot = Vector512.Create(0x0706050403020100UL).AsByte();
        private static readonly Vector512<byte> LastOfQword = Vector512.Create(
            (byte)7, 7, 7, 7, 7, 7, 7, 7, 15, 15, 15, 15, 15, 15, 15, 15, 23, 23, 23, 23, 23, 23, 23, 23, 31, 31, 31, 31, 31, 31, 31, 31,
            39, 39, 39, 39, 39, 39, 39, 39, 47, 47, 47, 47, 47, 47, 47, 47, 55, 55, 55, 55, 55, 55, 55, 55, 63, 63, 63, 63, 63, 63, 63, 63);
        // entry ((b - 1) & 7) * 8 + s = the bit offset of slot s in a group of width b
        private static readonly Vector512<byte> ShiftTable = MakeShiftTable();
        // (1 << b) - 1 for b = 0..8, repeated in each 128-bit lane (for vpshufb)
        private static readonly Vector512<byte> MaskTable = Vector512.Create(Vector128.Create(
            (byte)0, 1, 3, 7, 15, 31, 63, 127, 255, 0, 0, 0, 0, 0, 0, 0));
        private static readonly Vector512<byte>[] Interleave3 = MakeInterleave(3);
        private static readonly Vector512<byte>[] Interleave4 = MakeInterleave(4);

        private static Vector512<byte> MakeShiftTable()
        {
            var t = new byte[64];
            for (int k = 0; k < 8; k++)
                for (int s = 0; s < 8; s++) t[k * 8 + s] = (byte)((k + 1) * s);
            return Vector512.Create(t);
        }

        /// <summary>Index vectors for vpermt2b: for each output vector k, step A then step B.</summary>
        private static Vector512<byte>[] MakeInterleave(int channels)
        {
            var result = new Vector512<byte>[2 * channels];
            for (int k = 0; k < channels; k++)
            {
                var a = new byte[64];
                var b = new byte[64];
                for (int i = 0; i < 64; i++)
                {
                    int q = 64 * k + i, px = q / channels, ch = q % channels;
                    if (channels == 3)
                    {
                        a[i] = (byte)(ch == 0 ? px : ch == 1 ? 64 + px : 0);   // R | G
                        b[i] = (byte)(ch == 2 ? 64 + px : i);                   // keep | B
                    }
                    else
                    {
                        a[i] = (byte)((ch & 1) == 0 ? px : 64 + px);           // R|G and B|A alike
                        b[i] = (byte)(ch < 2 ? i : 64 + i);                     // RG | BA
                    }
                }
                result[2 * k] = Vector512.Create(a);
                result[2 * k + 1] = Vector512.Create(b);
            }
            return result;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void DecodeRow(byte* payload, ulong groupWidths, byte* top, byte* row, int predictor, byte* codes)
        {
            ulong offsets = (groupWidths << 8) * 0x0101010101010101UL;                        // exclusive prefix of widths
            ulong shiftRows = ((groupWidths + 0x0707070707070707UL) & 0x0707070707070707UL) << 3; // ((b-1)&7)*8
            var scalars = Vector128.Create(offsets, shiftRows).ToVector256Unsafe().ToVector512Unsafe().AsByte();
            var widthVec = Vector512.CreateScalarUnsafe(groupWidths).AsByte();

            var offsetSpread = Avx512Vbmi.PermuteVar64x8(scalars, SpreadIndex);
            var shiftIndex = Avx512Vbmi.PermuteVar64x8(scalars, SpreadIndex + Vector512.Create((byte)8)) | Slot;
            var data = Avx512Vbmi.PermuteVar64x8(Vector512.Load(payload), offsetSpread + Slot);
            var control = Avx512Vbmi.PermuteVar64x8(ShiftTable, shiftIndex);
            var code = Avx512Vbmi.MultiShift(control, data.AsUInt64()).AsByte();
            code &= Avx512BW.Shuffle(MaskTable, Avx512Vbmi.PermuteVar64x8(widthVec, SpreadIndex));
            Rebuild(code, top, row, predictor);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RebuildRow(byte* codes, byte* top, byte* row, int predictor) =>
            Rebuild(Vector512.Load(codes), top, row, predictor);

        /// <summary><see cref="RebuildRow(byte*, byte*, byte*, int)"/> from the row's 64 codes in a register.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RebuildRow(Vector512<byte> codes, byte* top, byte* row, int predictor) => Rebuild(codes, top, row, predictor);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Rebuild(Vector512<byte> code, byte* top, byte* row, int predictor)
        {
            // zigzag back: e = (k >> 1) ^ -(k & 1)
            var one = Vector512.Create((byte)1);
            var e = Vector512.ShiftRightLogical(code.AsUInt16(), 1).AsByte() & Vector512.Create((byte)0x7F);
            e ^= Vector512<byte>.Zero - (code & one);

            Vector512<byte> baseValue;
            if (predictor == 0)
            {
                baseValue = Vector512.Load(top);
            }
            else
            {
                // prefix sum: inside each qword, then the qword totals across
                var x = e + Vector512.ShiftLeft(e.AsUInt64(), 8).AsByte();
                x += Vector512.ShiftLeft(x.AsUInt64(), 16).AsByte();
                x += Vector512.ShiftLeft(x.AsUInt64(), 32).AsByte();
                var totals = Avx512Vbmi.PermuteVar64x8(x, LastOfQword).AsUInt64();
                var zero = Vector512<ulong>.Zero;
                var carry = Avx512F.AlignRight64(totals, zero, 7);
                carry = (carry.AsByte() + Avx512F.AlignRight64(carry, zero, 7).AsByte()).AsUInt64();
                carry = (carry.AsByte() + Avx512F.AlignRight64(carry, zero, 6).AsByte()).AsUInt64();
                carry = (carry.AsByte() + Avx512F.AlignRight64(carry, zero, 4).AsByte()).AsUInt64();
                e = x + carry.AsByte();
                baseValue = predictor == 1 ? Vector512.Create(*top) : predictor == 2 ? Vector512.Load(top) : Vector512.Load(top + 1);
            }
            (baseValue + e).Store(row);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ZeroRow(byte* top, byte* row, int predictor) =>
            (predictor == 1 ? Vector512.Create(*top) : Vector512.Load(predictor == 3 ? top + 1 : top)).Store(row);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Interleave(byte* planes, int channels, bool transform, byte* output)
        {
            var r = Vector512.Load(planes);
            if (channels == 1) { r.Store(output); return; }
            var g = Vector512.Load(planes + PlaneBytes);
            var b = Vector512.Load(planes + 2 * PlaneBytes);
            if (transform) { r += g; b += g; }
            if (channels == 3)
            {
                var t = Interleave3;
                Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(r, t[0], g), t[1], b).Store(output);
                Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(r, t[2], g), t[3], b).Store(output + 64);
                Avx512Vbmi.PermuteVar64x8x2(Avx512Vbmi.PermuteVar64x8x2(r, t[4], g), t[5], b).Store(output + 128);
            }
            else
            {
                var a = Vector512.Load(planes + 3 * PlaneBytes);
                var t = Interleave4;
                for (int k = 0; k < 4; k++)
                {
                    var rg = Avx512Vbmi.PermuteVar64x8x2(r, t[2 * k], g);
                    var ba = Avx512Vbmi.PermuteVar64x8x2(b, t[2 * k], a);
                    Avx512Vbmi.PermuteVar64x8x2(rg, t[2 * k + 1], ba).Store(output + 64 * k);
                }
            }
        }
    }

    // ---------------------------------------------------------------- 256 bits: AVX2

    internal struct V256 : IRowKernel
    {
        private static readonly Vector256<byte> LastOfQword = Vector256.Create(
            (byte)7, 7, 7, 7, 7, 7, 7, 7, 15, 15, 15, 15, 15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 7, 15, 15, 15, 15, 15, 15, 15, 15);
        private static readonly Vector256<ulong> KeepUpper3 = Vector256.Create(0UL, ~0UL, ~0UL, ~0UL);
        private static readonly Vector256<ulong> KeepUpper2 = Vector256.Create(0UL, 0UL, ~0UL, ~0UL);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<byte> Unzigzag(Vector256<byte> code) =>
            (Vector256.ShiftRightLogical(code.AsUInt16(), 1).AsByte() & Vector256.Create((byte)0x7F))
            ^ (Vector256<byte>.Zero - (code & Vector256.Create((byte)1)));

        /// <summary>Prefix sum of 32 bytes (mod 256).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<byte> Scan(Vector256<byte> e)
        {
            var x = e + Vector256.ShiftLeft(e.AsUInt64(), 8).AsByte();
            x += Vector256.ShiftLeft(x.AsUInt64(), 16).AsByte();
            x += Vector256.ShiftLeft(x.AsUInt64(), 32).AsByte();
            var totals = Avx2.Shuffle(x, LastOfQword).AsUInt64();
            var carry = Avx2.Permute4x64(totals, 0b10_01_00_00) & KeepUpper3;                  // [0, t0, t1, t2]
            carry = (carry.AsByte() + (Avx2.Permute4x64(carry, 0b10_01_00_00) & KeepUpper3).AsByte()).AsUInt64();
            carry = (carry.AsByte() + (Avx2.Permute4x64(carry, 0b01_00_00_00) & KeepUpper2).AsByte()).AsUInt64();
            return x + carry.AsByte();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void DecodeRow(byte* payload, ulong groupWidths, byte* top, byte* row, int predictor, byte* codes)
        {
            UnpackRow(payload, groupWidths, codes);
            RebuildRow(codes, top, row, predictor);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RebuildRow(byte* codes, byte* top, byte* row, int predictor)
        {
            var e0 = Unzigzag(Vector256.Load(codes));
            var e1 = Unzigzag(Vector256.Load(codes + 32));
            if (predictor == 0)
            {
                (Vector256.Load(top) + e0).Store(row);
                (Vector256.Load(top + 32) + e1).Store(row + 32);
                return;
            }
            e0 = Scan(e0);
            e1 = Scan(e1);
            // the low half's last byte carries into the high half
            var last = Avx2.Shuffle(Avx2.Permute4x64(e0.AsUInt64(), 0xFF).AsByte(), Vector256.Create((byte)15));
            e1 += last;
            if (predictor == 1)
            {
                var b = Vector256.Create(*top);
                (b + e0).Store(row);
                (b + e1).Store(row + 32);
            }
            else
            {
                byte* t = predictor == 2 ? top : top + 1;
                (Vector256.Load(t) + e0).Store(row);
                (Vector256.Load(t + 32) + e1).Store(row + 32);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ZeroRow(byte* top, byte* row, int predictor)
        {
            if (predictor == 1)
            {
                var b = Vector256.Create(*top);
                b.Store(row);
                b.Store(row + 32);
                return;
            }
            byte* t = predictor == 3 ? top + 1 : top;
            Vector256.Load(t).Store(row);
            Vector256.Load(t + 32).Store(row + 32);
        }

        // the 16-byte RGB masks of V128, in both lanes: each lane interleaves its own 16 pixels
        private static readonly Vector256<byte>[] Interleave3 = V128.Interleave3Masks.Select(m => Vector256.Create(m, m)).ToArray();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Interleave(byte* planes, int channels, bool transform, byte* output)
        {
            if (channels == 1)
            {
                Vector256.Load(planes).Store(output);
                Vector256.Load(planes + 32).Store(output + 32);
                return;
            }
            var m = Interleave3;
            for (int i = 0; i < 64; i += 32)
            {
                var r = Vector256.Load(planes + i);
                var g = Vector256.Load(planes + PlaneBytes + i);
                var b = Vector256.Load(planes + 2 * PlaneBytes + i);
                if (transform) { r += g; b += g; }
                if (channels == 3)
                {
                    // lane 0 holds bytes 0..47 of these 32 pixels (pixels 0..15), lane 1 bytes 48..95
                    var o0 = Avx2.Shuffle(r, m[0]) | Avx2.Shuffle(g, m[1]) | Avx2.Shuffle(b, m[2]);
                    var o1 = Avx2.Shuffle(r, m[3]) | Avx2.Shuffle(g, m[4]) | Avx2.Shuffle(b, m[5]);
                    var o2 = Avx2.Shuffle(r, m[6]) | Avx2.Shuffle(g, m[7]) | Avx2.Shuffle(b, m[8]);
                    byte* o = output + 3 * i;
                    Avx2.Permute2x128(o0, o1, 0x20).Store(o);
                    Avx2.Permute2x128(o2, o0, 0x30).Store(o + 32);
                    Avx2.Permute2x128(o1, o2, 0x31).Store(o + 64);
                }
                else
                {
                    var a = Vector256.Load(planes + 3 * PlaneBytes + i);
                    var rgLo = Avx2.UnpackLow(r, g).AsUInt16();   // pixels 0-7 | 16-23
                    var rgHi = Avx2.UnpackHigh(r, g).AsUInt16();  // pixels 8-15 | 24-31
                    var baLo = Avx2.UnpackLow(b, a).AsUInt16();
                    var baHi = Avx2.UnpackHigh(b, a).AsUInt16();
                    var q0 = Avx2.UnpackLow(rgLo, baLo).AsByte();  // pixels 0-3 | 16-19
                    var q1 = Avx2.UnpackHigh(rgLo, baLo).AsByte(); // 4-7 | 20-23
                    var q2 = Avx2.UnpackLow(rgHi, baHi).AsByte();  // 8-11 | 24-27
                    var q3 = Avx2.UnpackHigh(rgHi, baHi).AsByte(); // 12-15 | 28-31
                    byte* o = output + 4 * i;
                    Avx2.Permute2x128(q0, q1, 0x20).Store(o);
                    Avx2.Permute2x128(q2, q3, 0x20).Store(o + 32);
                    Avx2.Permute2x128(q0, q1, 0x31).Store(o + 64);
                    Avx2.Permute2x128(q2, q3, 0x31).Store(o + 96);
                }
            }
        }
    }

    // ---------------------------------------------------------------- 128 bits: SSSE3 / AdvSimd

    internal struct V128 : IRowKernel
    {
        private static readonly Vector128<byte> HighQwordGetsLow = Vector128.Create(
            (byte)0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 7, 7, 7, 7, 7, 7, 7, 7);
        private static readonly Vector128<byte>[] Interleave3 = MakeInterleave3();
        internal static Vector128<byte>[] Interleave3Masks => Interleave3;

        private static Vector128<byte>[] MakeInterleave3()
        {
            // output vector k (0..2), source channel c: byte i takes pixel q/3 of channel c when q % 3 == c
            var result = new Vector128<byte>[9];
            for (int k = 0; k < 3; k++)
                for (int c = 0; c < 3; c++)
                {
                    var m = new byte[16];
                    for (int i = 0; i < 16; i++)
                    {
                        int q = 16 * k + i;
                        m[i] = (byte)(q % 3 == c ? q / 3 : 0x80);
                    }
                    result[3 * k + c] = Vector128.Create(m);
                }
            return result;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector128<byte> Shuffle(Vector128<byte> v, Vector128<byte> indices)
        {
            if (Ssse3.IsSupported) return Ssse3.Shuffle(v, indices);
            if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.VectorTableLookup(v, indices);
            return Vector128.Shuffle(v, indices);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<byte> Unzigzag(Vector128<byte> code) =>
            (Vector128.ShiftRightLogical(code, 1)) ^ (Vector128<byte>.Zero - (code & Vector128.Create((byte)1)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<byte> Scan(Vector128<byte> e, Vector128<byte> carry)
        {
            var x = e + Vector128.ShiftLeft(e.AsUInt64(), 8).AsByte();
            x += Vector128.ShiftLeft(x.AsUInt64(), 16).AsByte();
            x += Vector128.ShiftLeft(x.AsUInt64(), 32).AsByte();
            return x + Shuffle(x, HighQwordGetsLow) + carry;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void DecodeRow(byte* payload, ulong groupWidths, byte* top, byte* row, int predictor, byte* codes)
        {
            UnpackRow(payload, groupWidths, codes);
            RebuildRow(codes, top, row, predictor);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RebuildRow(byte* codes, byte* top, byte* row, int predictor)
        {
            if (predictor == 0)
            {
                for (int i = 0; i < 64; i += 16)
                    (Vector128.Load(top + i) + Unzigzag(Vector128.Load(codes + i))).Store(row + i);
                return;
            }
            var carry = Vector128<byte>.Zero;
            var fifteen = Vector128.Create((byte)15);
            if (predictor == 1)
            {
                var b = Vector128.Create(*top);
                for (int i = 0; i < 64; i += 16)
                {
                    var s = Scan(Unzigzag(Vector128.Load(codes + i)), carry);
                    (b + s).Store(row + i);
                    carry = Shuffle(s, fifteen);
                }
            }
            else
            {
                byte* t = predictor == 2 ? top : top + 1;
                for (int i = 0; i < 64; i += 16)
                {
                    var s = Scan(Unzigzag(Vector128.Load(codes + i)), carry);
                    (Vector128.Load(t + i) + s).Store(row + i);
                    carry = Shuffle(s, fifteen);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ZeroRow(byte* top, byte* row, int predictor)
        {
            if (predictor == 1)
            {
                var b = Vector128.Create(*top);
                for (int i = 0; i < 64; i += 16) b.Store(row + i);
                return;
            }
            byte* t = predictor == 3 ? top + 1 : top;
            for (int i = 0; i < 64; i += 16) Vector128.Load(t + i).Store(row + i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Interleave(byte* planes, int channels, bool transform, byte* output)
        {
            if (channels == 1)
            {
                for (int i = 0; i < 64; i += 16) Vector128.Load(planes + i).Store(output + i);
                return;
            }
            var m = Interleave3;
            for (int i = 0; i < 64; i += 16)
            {
                var r = Vector128.Load(planes + i);
                var g = Vector128.Load(planes + PlaneBytes + i);
                var b = Vector128.Load(planes + 2 * PlaneBytes + i);
                if (transform) { r += g; b += g; }
                if (channels == 3)
                {
                    byte* o = output + 3 * i;
                    (Shuffle(r, m[0]) | Shuffle(g, m[1]) | Shuffle(b, m[2])).Store(o);
                    (Shuffle(r, m[3]) | Shuffle(g, m[4]) | Shuffle(b, m[5])).Store(o + 16);
                    (Shuffle(r, m[6]) | Shuffle(g, m[7]) | Shuffle(b, m[8])).Store(o + 32);
                }
                else
                {
                    var a = Vector128.Load(planes + 3 * PlaneBytes + i);
                    byte* o = output + 4 * i;
                    var (rgLo, rgHi) = Zip(r, g);
                    var (baLo, baHi) = Zip(b, a);
                    var (o0, o1) = Zip(rgLo.AsUInt16(), baLo.AsUInt16());
                    var (o2, o3) = Zip(rgHi.AsUInt16(), baHi.AsUInt16());
                    o0.AsByte().Store(o);
                    o1.AsByte().Store(o + 16);
                    o2.AsByte().Store(o + 32);
                    o3.AsByte().Store(o + 48);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector128<byte>, Vector128<byte>) Zip(Vector128<byte> a, Vector128<byte> b)
        {
            if (Sse2.IsSupported) return (Sse2.UnpackLow(a, b), Sse2.UnpackHigh(a, b));
            if (AdvSimd.Arm64.IsSupported) return (AdvSimd.Arm64.ZipLow(a, b), AdvSimd.Arm64.ZipHigh(a, b));
            throw new PlatformNotSupportedException();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector128<ushort>, Vector128<ushort>) Zip(Vector128<ushort> a, Vector128<ushort> b)
        {
            if (Sse2.IsSupported) return (Sse2.UnpackLow(a, b), Sse2.UnpackHigh(a, b));
            if (AdvSimd.Arm64.IsSupported) return (AdvSimd.Arm64.ZipLow(a, b), AdvSimd.Arm64.ZipHigh(a, b));
            throw new PlatformNotSupportedException();
        }
    }
}
