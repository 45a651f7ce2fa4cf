using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using L3.Cpu;
using L3.Kernels;
using K512 = L3.Cpu.SimdPatchDecoder.V512;

namespace L3.Dense;

/// <summary>
/// The vector decoder of a dense patch (docs/FORMAT.md, 6.3–6.5), for the Vector256 and Vector512
/// paths (both have AVX2). It must give the bytes of <see cref="DensePatchDecoder"/>, the reference,
/// and reject exactly the patches the reference rejects (its messages may differ: <see cref="DenseFileDecoder"/>
/// then has the reference state the fault, so every path refuses a file with the same words).
/// </summary>
/// <remarks>
/// The 8 lanes of a patch are the 8 elements of one <see cref="Vector256{T}"/> of states, so a
/// step (one column of every lane) is a handful of vector instructions: one gather of each lane's
/// slot entry (frequency, slot offset, raw bit count and code
/// in one word, <see cref="DenseTables.WriteSlotEntries"/>), the state update, and each renormalization as one load of the next 8 words spread
/// over the lanes that need one (a permute picked by the lanes' mask). Codes stay in step order
/// (element l of step s is column 8l + s), where the next row's contexts are computed; each row is
/// transposed once to column order and rebuilt, and the patch interleaved, by mode 0's vector row
/// kernels (<see cref="SimdPatchDecoder"/>), whose plane layout it shares.
/// The two renormalizations of a step (6.5, steps 2 and 4) are done as one: while every state lies
/// in [L, 2^32) before its token (true from valid initial states on; a patch whose initial states are
/// not is left to the reference), a state that falls below L after its token is at least 2^22
/// after its word and stays above L after its raw bits, so each lane reads at most one word a step,
/// and which lanes read in step 4 is known before step 2's words arrive: one load and one permute.
/// A fault (a symbol from an unused table) is collected per row; a word read past the stream's end
/// is caught after each step (the stream is read with <see cref="ReadPadding"/> bytes of slack,
/// copied to a padded buffer near the file's end), so the decoder never reads outside the file.
/// On the Vector512 path whole images go through <see cref="DecodeGroup"/>: up to four patches in
/// flight, each patch's words placed by AVX-512 expands rather than the permute, the codes kept as
/// bytes, the stream's end checked after each row's 8 steps (within the same slack).
/// </remarks>
internal static unsafe class DenseSimdDecoder
{
    /// <summary>Whether <paramref name="path"/> (resolved) decodes dense patches with this decoder.</summary>
    public static bool Serves(CpuPath path) => (path is CpuPath.Vector256 or CpuPath.Vector512) && Avx2.IsSupported;

    /// <summary>Bytes the decoder may read past a patch's end: a step loads 8 words from the next
    /// word and, in a group, 8 more from up to 8 words further; a group checks the stream's end after
    /// a block's 8 steps, by then up to 7 × 8 words past it (2 × (56 + 16) = 144 bytes).</summary>
    public const int ReadPadding = 144;

    /// <summary>Per-thread scratch: mode 0's plane scratch, the codes of the row above per channel
    /// (step order, as u32), and a padded copy of a patch near the end of the file.</summary>
    public sealed class Scratch : IDisposable
    {
        public readonly SimdPatchDecoder.Scratch Rows = new();
        public readonly uint* Above = (uint*)NativeMemory.AlignedAlloc(4 * 64 * sizeof(uint), 32);
        private byte[]? _padded;
        private uint[]? _entries;

        /// <summary>Scratch of the reference decoder, for the patches it decodes.</summary>
        public readonly byte[] Reference = new byte[DensePatchDecoder.ScratchBytes(64, 4)];
        private DenseTables? _entriesOf;

        /// <summary>The slot entries of <paramref name="tables"/> (<see cref="DenseTables.WriteSlotEntries"/>),
        /// built once per file and thread into a buffer the thread keeps (no large allocation per file).</summary>
        public uint[] Entries(DenseTables tables)
        {
            if (ReferenceEquals(_entriesOf, tables)) return _entries!;
            int length = DenseTables.SlotEntryCount(tables.Channels);
            if (_entries is null || _entries.Length < length) _entries = new uint[DenseTables.SlotEntryCount(4)];
            tables.WriteSlotEntries(_entries);
            _entriesOf = tables;
            return _entries;
        }

        /// <summary>A copy of a patch with <see cref="ReadPadding"/> zero bytes after it, in a buffer the
        /// thread keeps (pinned: its address stays valid).</summary>
        public byte* PaddedCopy(byte* patch, int length)
        {
            if (_padded is null || _padded.Length < length + ReadPadding)
                _padded = GC.AllocateUninitializedArray<byte>(Math.Max(length + ReadPadding, 4096), pinned: true);
            var padded = _padded.AsSpan(0, length + ReadPadding);
            new ReadOnlySpan<byte>(patch, length).CopyTo(padded);
            padded[length..].Clear();
            return (byte*)Unsafe.AsPointer(ref padded[0]);
        }

        private bool _disposed;
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            NativeMemory.AlignedFree(Above);
            Rows.Dispose();
            GC.SuppressFinalize(this);
        }
        ~Scratch() => Dispose();
    }

    [ThreadStatic] private static Scratch? t_scratch;

    /// <summary>This thread's scratch.</summary>
    public static Scratch ThreadScratch => t_scratch ??= new Scratch();

    /// <summary>
    /// Decodes patch bytes [0, <paramref name="length"/>) at <paramref name="patch"/>, of which
    /// <paramref name="readable"/> bytes may be read, into interleaved pixels at <paramref name="dest"/>.
    /// Throws <see cref="L3FormatException"/> where the reference does; pixels may have been written by then.
    /// </summary>
    public static void Decode(CpuPath path, byte* patch, int length, long readable, int width, int height, int channels,
        DenseTables tables, byte* dest, int destStride, Scratch scratch, long fileOffset)
    {
        bool anyCoded = DensePatchDecoder.ValidateStructure(new ReadOnlySpan<byte>(patch, length), width, height, channels, fileOffset);
        if (anyCoded && readable - length < ReadPadding) patch = scratch.PaddedCopy(patch, length);
        Decode(path, patch, length, width, height, channels, tables, dest, destStride, scratch, fileOffset, anyCoded);
    }

    private static void Decode(CpuPath path, byte* patch, int length, int width, int height, int channels,
        DenseTables tables, byte* dest, int destStride, Scratch scratch, long fileOffset, bool anyCoded)
    {
        switch (path)
        {
            case CpuPath.Vector512: Decode<SimdPatchDecoder.V512>(patch, length, width, height, channels, tables, dest, destStride, scratch, fileOffset, anyCoded); break;
            case CpuPath.Vector256: Decode<SimdPatchDecoder.V256>(patch, length, width, height, channels, tables, dest, destStride, scratch, fileOffset, anyCoded); break;
            default: throw new ArgumentOutOfRangeException(nameof(path));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Decode<K>(byte* patch, int length, int width, int height, int channels, DenseTables tables,
        byte* dest, int destStride, Scratch scratch, long fileOffset, bool anyCoded) where K : struct, SimdPatchDecoder.IRowKernel
    {
        const int Stride = SimdPatchDecoder.Stride;
        int maskBytes = RowCoding.ZeroMaskBytes(height), predictorBytes = RowCoding.PredictorBytes(height);
        int header = DenseLayout.PatchHeaderBytes(height, channels);
        int lanes = DenseLayout.Lanes(width);
        byte* planes = scratch.Rows.Planes;

        // lane l is active at step s when its column 8l + s lies in the row
        var active = stackalloc Vector256<uint>[DenseLayout.LaneColumns];
        var columns = Vector256.Create(0u, 8, 16, 24, 32, 40, 48, 56);
        for (int s = 0; s < DenseLayout.LaneColumns; s++)
            active[s] = Vector256.LessThan(columns + Vector256.Create((uint)s), Vector256.Create((uint)width));

        var state = Vector256.Create(DenseLayout.StateLow);
        int wordCount = 0;
        ushort* words = null;
        if (anyCoded)
        {
            var initial = stackalloc uint[8];
            for (int l = 0; l < 8; l++) initial[l] = l < lanes ? Unsafe.ReadUnaligned<uint>(patch + header + l * DenseLayout.StateBytes) : DenseLayout.StateLow;
            state = Vector256.Load(initial);
            // the merged renormalization holds for states in [L, 2^32): a patch whose initial states
            // are not (only a crafted file) is decoded by the reference
            if (!Vector256.GreaterThanOrEqualAll(state, Vector256.Create(DenseLayout.StateLow)))
            {
                long destLength = (long)(height - 1) * destStride + width * channels;
                DensePatchDecoder.Decode(new ReadOnlySpan<byte>(patch, length), width, height, channels, tables,
                    new Span<byte>(dest, checked((int)destLength)), destStride, scratch.Reference, fileOffset);
                return;
            }
            int wordsAt = header + lanes * DenseLayout.StateBytes;
            words = (ushort*)(patch + wordsAt);
            wordCount = (length - wordsAt) / DenseLayout.WordBytes;
        }
        int next = 0;
        var contexts = stackalloc Vector256<int>[DenseLayout.LaneColumns];
        var aboveIsZero = stackalloc bool[4];

        fixed (uint* entries = scratch.Entries(tables))
        fixed (int* spread = SpreadIndices)
            for (int r = 0; r < height; r++)
                for (int c = 0; c < channels; c++)
                {
                    byte* mask = patch + PatchLayout.FlagsSize + c * (maskBytes + predictorBytes);
                    int predictor = RowCoding.PredictorOf(mask[maskBytes + (r >> 2)], r);
                    byte* top = planes + c * SimdPatchDecoder.PlaneBytes + r * Stride;
                    byte* row = top + Stride;
                    uint* above = scratch.Above + c * 64;
                    if (RowCoding.IsZeroRow(mask[r >> 3], r))
                    {
                        K.ZeroRow(top, row, predictor);
                        aboveIsZero[c] = true;
                    }
                    else
                    {
                        RowContexts(r, aboveIsZero[c], above, DenseLayout.TableIndex(c, 0) << DenseLayout.ProbabilityBits, contexts, 1);

                        var fault = Vector256<uint>.Zero;
                        for (int s = 0; s < DenseLayout.LaneColumns; s++)
                        {
                            var on = active[s];
                            // 1. the token: one entry per lane from its context's table and its slot
                            var slot = (state & Vector256.Create((uint)DenseLayout.ProbabilityTotal - 1)).AsInt32();
                            var entry = Avx2.GatherVector256(entries, contexts[s] + slot, sizeof(uint)) & on;
                            var frequency = entry & Vector256.Create(0x7FFu);
                            fault |= Vector256.Equals(frequency, Vector256<uint>.Zero) & on;
                            var decoded = Vector256.ConditionalSelect(on,
                                frequency * (state >> DenseLayout.ProbabilityBits) + ((entry >> 11) & Vector256.Create(0x3FFu)), state);
                            // 2.–4. both renormalizations at once (see the class remarks): a lane below L
                            // after its token reads in step 2 and then stays above L; one above L reads in
                            // step 4 when its raw bits take it below (entry is 0 on inactive lanes: no bits)
                            var rawBits = (entry >> 21) & Vector256.Create(7u);
                            var rawMask = Avx2.ShiftLeftLogicalVariable(Vector256<uint>.AllBitsSet, rawBits);
                            var shifted = Avx2.ShiftRightLogicalVariable(decoded, rawBits);
                            var first = Vector256.Equals(decoded >> DenseLayout.WordBits, Vector256<uint>.Zero) & on;
                            var second = Avx2.AndNot(first, Vector256.Equals(shifted >> DenseLayout.WordBits, Vector256<uint>.Zero)) & on;
                            var word = Words(words, next, first.ExtractMostSignificantBits(), second.ExtractMostSignificantBits(), first, spread, out int read);
                            next += read;
                            if (next > wordCount) throw StreamEndsEarly(length, fileOffset);
                            var raw = Avx2.AndNot(rawMask, Vector256.ConditionalSelect(first, word, decoded));
                            var refilled = Vector256.ConditionalSelect(first,
                                Avx2.ShiftRightLogicalVariable((decoded << DenseLayout.WordBits) | word, rawBits),
                                (shifted << DenseLayout.WordBits) | word);
                            state = Vector256.ConditionalSelect(first | second, refilled, shifted);
                            // 5. the code
                            ((entry >> 24) | raw).Store(above + s * 8);
                        }
                        if (fault != Vector256<uint>.Zero) throw Fault(c, r, fileOffset);
                        FinishRow<K>(above, width, scratch, top, row, predictor);
                        aboveIsZero[c] = false;
                    }
                    row[width] = row[width - 1];
                }

        if (anyCoded) CheckEnd(state, next, wordCount, fileOffset, header, lanes);
        SimdPatchDecoder.InterleavePatch<K>(width, height, channels, PatchLayout.HasColorTransform(patch[PatchLayout.FlagsOffset]), dest, destStride, scratch.Rows);
    }

    /// <summary>Patches <see cref="DecodeGroup"/> decodes at once at most: two per Vector512 of states
    /// (one patch's 8 lanes in each half), two such vectors with their steps interleaved (four measured
    /// no faster on the H200 host's Xeon, and slower on this project's Zen 4).</summary>
    public const int GroupSize = 4;

    /// <summary>Whether <see cref="DecodeGroup"/> takes a group of <paramref name="count"/> patches.</summary>
    public static bool IsGroupSize(int count) => count is 2 or GroupSize;

    /// <summary>One patch of a group: its bytes, of which <see cref="Readable"/> may be read from
    /// <see cref="Bytes"/> on, where it lies in the file, and where its top-left pixel goes.</summary>
    public readonly struct GroupPatch(byte* bytes, int length, long readable, long fileOffset, byte* dest)
    {
        public byte* Bytes { get; } = bytes;
        public int Length { get; } = length;
        public long Readable { get; } = readable;
        public long FileOffset { get; } = fileOffset;
        public byte* Dest { get; } = dest;
    }

    [ThreadStatic] private static Scratch[]? t_group;
    [ThreadStatic] private static byte[]? t_groupAbove;

    /// <summary>This thread's scratch for each patch of a group (the first is <see cref="ThreadScratch"/>).</summary>
    private static Scratch[] GroupScratch
    {
        get
        {
            if (t_group is null)
            {
                t_group = new Scratch[GroupSize];
                t_group[0] = ThreadScratch;
                for (int q = 1; q < GroupSize; q++) t_group[q] = new Scratch();
            }
            return t_group;
        }
    }

    /// <summary>
    /// The codes of the row above of a group's patches, for every channel, in step order as a step
    /// makes them: pair p, channel c at 512p + 128c, its 16 bytes of step s at 16s (patch 2p's lanes,
    /// then patch 2p + 1's). One block, so that a step reaches every pair's row from one pointer.
    /// </summary>
    private static byte[] GroupAbove => t_groupAbove ??= GC.AllocateArray<byte>(GroupSize / 2 * AbovePerPair, pinned: true);

    private const int AboveRowOfPair = 2 * 64, AbovePerPair = 4 * AboveRowOfPair;

    /// <summary>For each half of a pair's row above (<see cref="GroupAbove"/>), byte x the index of
    /// column x's code in the row's 128 bytes: 16 (x mod 8) + 8 half + x / 8.</summary>
    private static readonly Vector512<byte>[] ColumnsOfHalf = [ColumnOrder(0), ColumnOrder(1)];

    private static Vector512<byte> ColumnOrder(int half)
    {
        var index = new byte[64];
        for (int x = 0; x < 64; x++) index[x] = (byte)(16 * (x & 7) + 8 * half + (x >> 3));
        return Vector512.Create(index);
    }

    /// <summary>
    /// Decodes 2 or 4 patches of the same size at once on the Vector512 path. Each step is a chain
    /// of dependent instructions (gather of the slot entries, multiply, renormalize) that waits for
    /// the last step, so one patch alone leaves the core idle most of the time: here patches 2p and
    /// 2p + 1 are the halves of vector p of states, and each step of one vector is followed by the
    /// same step of the next, so the core runs up to four patches' chains side by side. A row coded
    /// in one patch and zero in another runs with the other's lanes inactive. The same results as
    /// <see cref="Decode(CpuPath, byte*, int, long, int, int, int, DenseTables, byte*, int, Scratch, long)"/>
    /// on each patch; a group with a patch whose initial states lie below L is decoded patch by patch.
    /// </summary>
    public static void DecodeGroup(ReadOnlySpan<GroupPatch> group, int width, int height, int channels, DenseTables tables, int destStride)
    {
        if (!IsGroupSize(group.Length)) throw new ArgumentOutOfRangeException(nameof(group));
        var scratches = GroupScratch;
        int header = DenseLayout.PatchHeaderBytes(height, channels), lanes = DenseLayout.Lanes(width);
        var coded = stackalloc bool[GroupSize];
        bool statesValid = true;
        for (int q = 0; q < group.Length; q++)
        {
            var patch = group[q];
            coded[q] = DensePatchDecoder.ValidateStructure(new ReadOnlySpan<byte>(patch.Bytes, patch.Length), width, height, channels, patch.FileOffset);
            statesValid &= !coded[q] || InitialStatesValid(patch.Bytes + header, lanes);
        }
        if (!statesValid)
        {
            foreach (var patch in group)
                Decode(CpuPath.Vector512, patch.Bytes, patch.Length, patch.Readable, width, height, channels, tables, patch.Dest, destStride, ThreadScratch, patch.FileOffset);
            return;
        }
        var bytes = stackalloc byte*[GroupSize];
        for (int q = 0; q < group.Length; q++)
        {
            var patch = group[q];
            bytes[q] = coded[q] && patch.Readable - patch.Length < ReadPadding ? scratches[q].PaddedCopy(patch.Bytes, patch.Length) : patch.Bytes;
        }
        fixed (byte* groupAbove = GroupAbove)
            DecodeGroup(group, bytes, coded, width, height, channels, tables, destStride, scratches, groupAbove);
    }

    private static bool InitialStatesValid(byte* states, int lanes)
    {
        for (int l = 0; l < lanes; l++)
            if (Unsafe.ReadUnaligned<uint>(states + l * DenseLayout.StateBytes) < DenseLayout.StateLow) return false;
        return true;
    }

    /// <summary>The words of a patch with no coded row: never used, but each step loads words of every patch.</summary>
    private static readonly ushort* NoWords = (ushort*)NativeMemory.AllocZeroed(2 * ReadPadding);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeGroup(ReadOnlySpan<GroupPatch> group, byte** bytes, bool* coded, int width, int height, int channels,
        DenseTables tables, int destStride, Scratch[] scratches, byte* groupAbove)
    {
        const int Stride = SimdPatchDecoder.Stride, Steps = DenseLayout.LaneColumns, Pairs = GroupSize / 2;
        int count = group.Length, pairs = count / 2;
        int maskBytes = RowCoding.ZeroMaskBytes(height), predictorBytes = RowCoding.PredictorBytes(height);
        int header = DenseLayout.PatchHeaderBytes(height, channels);
        int lanes = DenseLayout.Lanes(width);
        int wordsAt = header + lanes * DenseLayout.StateBytes;
        var active = stackalloc Vector512<uint>[Steps];
        var columns = Vector512.Create(0u, 8, 16, 24, 32, 40, 48, 56, 0, 8, 16, 24, 32, 40, 48, 56);
        for (int s = 0; s < Steps; s++)
            active[s] = Vector512.LessThan(columns + Vector512.Create((uint)s), Vector512.Create((uint)width));

        // patch q's lanes are elements 8q..8q+7 of the states: pair p (patches 2p, 2p + 1) in states[p]
        var states = stackalloc Vector512<uint>[Pairs];
        var starts = stackalloc ushort*[GroupSize]; // each patch's first word, next word and end
        var cursors = stackalloc ushort*[GroupSize];
        var ends = stackalloc ushort*[GroupSize];
        for (int q = 0; q < GroupSize; q++)
        {
            bool on = q < count && coded[q];
            var initial = (uint*)(states + q / 2) + 8 * (q & 1);
            for (int l = 0; l < 8; l++)
                initial[l] = on && l < lanes ? Unsafe.ReadUnaligned<uint>(bytes[q] + header + l * DenseLayout.StateBytes) : DenseLayout.StateLow;
            starts[q] = cursors[q] = on ? (ushort*)(bytes[q] + wordsAt) : NoWords;
            ends[q] = starts[q] + (on ? (group[q].Length - wordsAt) / DenseLayout.WordBytes : 0);
        }

        var contexts = stackalloc Vector512<int>[Pairs * Steps]; // step s of pair p at 8p + s
        var aboveIsZero = stackalloc bool[GroupSize * 4]; // patch q, channel c at 4q + c
        var zero = stackalloc bool[GroupSize];
        var pairCoded = stackalloc Vector512<uint>[Pairs];
        var faults = stackalloc Vector512<uint>[Pairs];
        var predictor = stackalloc int[GroupSize];
        var top = stackalloc byte*[GroupSize];
        var above = stackalloc byte*[GroupSize / 2]; // pair p's row above in this channel
        // the rows of the last coded block wait to be rebuilt until the next block's steps are done,
        // which then need not wait for that work (or until the block of the same channel)
        var pendingRebuild = stackalloc bool[GroupSize];
        var pendingPredictor = stackalloc int[GroupSize];
        var pendingTop = stackalloc byte*[GroupSize];
        var pendingAbove = stackalloc byte*[GroupSize];
        bool pending = false;
        int pendingChannel = -1;

        fixed (uint* entries = scratches[0].Entries(tables))
            for (int r = 0; r < height; r++)
                for (int c = 0; c < channels; c++)
                {
                    int maskAt = PatchLayout.FlagsSize + c * (maskBytes + predictorBytes);
                    int table = DenseLayout.TableIndex(c, 0) << DenseLayout.ProbabilityBits;
                    bool anyCoded = false;
                    if (pending && pendingChannel == c)
                    {
                        FinishRows(count, pendingRebuild, pendingAbove, pendingTop, pendingPredictor, width);
                        pending = false;
                    }
                    for (int q = 0; q < count; q++)
                    {
                        zero[q] = RowCoding.IsZeroRow(bytes[q][maskAt + (r >> 3)], r);
                        predictor[q] = RowCoding.PredictorOf(bytes[q][maskAt + maskBytes + (r >> 2)], r);
                        top[q] = scratches[q].Rows.Planes + c * SimdPatchDecoder.PlaneBytes + r * Stride;
                        if (zero[q]) { K512.ZeroRow(top[q], top[q] + Stride, predictor[q]); aboveIsZero[4 * q + c] = true; }
                        anyCoded |= !zero[q];
                    }
                    // a zero row's lanes are inactive, but its gathers need valid contexts
                    for (int p = 0; p < pairs; p++)
                    {
                        above[p] = groupAbove + p * AbovePerPair + c * AboveRowOfPair;
                        bool uniformA = r == 0 || aboveIsZero[8 * p + c], uniformB = r == 0 || aboveIsZero[8 * p + 4 + c];
                        if (!uniformA || !uniformB) PairContexts(above[p], table, contexts + 8 * p);
                        if (uniformA) UniformContexts(r, table, (Vector256<int>*)(contexts + 8 * p), 2);
                        if (uniformB) UniformContexts(r, table, (Vector256<int>*)(contexts + 8 * p) + 1, 2);
                    }
                    if (anyCoded)
                    {
                        for (int p = 0; p < pairs; p++)
                        {
                            pairCoded[p] = Vector512.Create(zero[2 * p] ? Vector256<uint>.Zero : Vector256<uint>.AllBitsSet,
                                zero[2 * p + 1] ? Vector256<uint>.Zero : Vector256<uint>.AllBitsSet);
                            faults[p] = Vector512<uint>.AllBitsSet;
                        }
                        bool allOn = width == 64;
                        for (int p = 0; p < pairs; p++) allOn &= !zero[2 * p] & !zero[2 * p + 1];
                        if (allOn) RowSteps<AllLanesOn>(pairs, states, faults, contexts, active, pairCoded, entries, cursors, groupAbove + c * AboveRowOfPair);
                        else RowSteps<SomeLanesOff>(pairs, states, faults, contexts, active, pairCoded, entries, cursors, groupAbove + c * AboveRowOfPair);
                        for (int q = 0; q < count; q++)
                            if (cursors[q] > ends[q]) throw StreamEndsEarly(group[q].Length, group[q].FileOffset);
                        for (int q = 0; q < count; q++)
                            if (Vector256.EqualsAny(((Vector256<uint>*)faults)[q], Vector256<uint>.Zero)) throw Fault(c, r, group[q].FileOffset);
                        if (pending) FinishRows(count, pendingRebuild, pendingAbove, pendingTop, pendingPredictor, width);
                        for (int q = 0; q < count; q++)
                        {
                            if (!zero[q]) aboveIsZero[4 * q + c] = false;
                            pendingRebuild[q] = !zero[q];
                            pendingAbove[q] = above[q >> 1];
                            pendingTop[q] = top[q];
                            pendingPredictor[q] = predictor[q];
                        }
                        pending = true;
                        pendingChannel = c;
                    }
                    else
                    {
                        if (pending) FinishRows(count, pendingRebuild, pendingAbove, pendingTop, pendingPredictor, width);
                        pending = false;
                        for (int q = 0; q < count; q++) top[q][Stride + width] = top[q][Stride + width - 1];
                    }
                }
        if (pending) FinishRows(count, pendingRebuild, pendingAbove, pendingTop, pendingPredictor, width);

        for (int q = 0; q < count; q++)
            CheckEnd(((Vector256<uint>*)states)[q], (int)(cursors[q] - starts[q]), (int)(ends[q] - starts[q]), group[q].FileOffset, header, lanes);
        for (int q = 0; q < count; q++)
            SimdPatchDecoder.InterleavePatch<K512>(width, height, channels, PatchLayout.HasColorTransform(bytes[q][PatchLayout.FlagsOffset]),
                group[q].Dest, destStride, scratches[q].Rows);
    }

    /// <summary>
    /// The 8 steps of a block of 1 or 2 pairs of patches, their chains side by side, in a method of
    /// its own so that the states and the streams' cursors stay in registers; the codes of pair p go
    /// to its row in <see cref="GroupAbove"/>, <paramref name="rowAbove"/> + 512p. The stream's end is
    /// checked by the caller after the block (<see cref="ReadPadding"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RowSteps<TLanes>(int pairs, Vector512<uint>* states, Vector512<uint>* faults, Vector512<int>* contexts, Vector512<uint>* active,
        Vector512<uint>* pairCoded, uint* entries, ushort** cursors, byte* rowAbove) where TLanes : struct, ILanes
    {
        var state0 = states[0]; var state1 = states[1];
        var fault0 = faults[0]; var fault1 = faults[1];
        ushort* cursor0 = cursors[0], cursor1 = cursors[1], cursor2 = cursors[2], cursor3 = cursors[3];
        for (int s = 0; s < DenseLayout.LaneColumns; s++)
        {
            var on = active[s];
            Avx512F.ConvertToVector128Byte(Step<TLanes>(ref state0, contexts[s], on & pairCoded[0], entries, ref cursor0, ref cursor1, ref fault0))
                .Store(rowAbove + 16 * s);
            if (pairs > 1)
                Avx512F.ConvertToVector128Byte(Step<TLanes>(ref state1, contexts[8 + s], on & pairCoded[1], entries, ref cursor2, ref cursor3, ref fault1))
                    .Store(rowAbove + AbovePerPair + 16 * s);
        }
        states[0] = state0; states[1] = state1;
        faults[0] = fault0; faults[1] = fault1;
        cursors[0] = cursor0; cursors[1] = cursor1; cursors[2] = cursor2; cursors[3] = cursor3;
    }

    /// <summary>The rows of a group's block after its steps: a coded row rebuilt (<see cref="FinishRow"/>),
    /// and in every row column w a copy of column w − 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishRows(int count, bool* rebuild, byte** above, byte** top, int* predictor, int width)
    {
        for (int q = 0; q < count; q++)
        {
            byte* row = top[q] + SimdPatchDecoder.Stride;
            if (rebuild[q])
            {
                // as in FinishRow: column w repeats column w − 1, then the codes to column order (one
                // two-source byte permute of the pair's row) and the row rebuilt
                byte* pairRow = above[q];
                int half = 8 * (q & 1);
                if (width < 64) pairRow[16 * (width & 7) + half + (width >> 3)] = pairRow[16 * ((width - 1) & 7) + half + ((width - 1) >> 3)];
                var codes = Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(pairRow), ColumnsOfHalf[q & 1], Vector512.Load(pairRow + 64));
                K512.RebuildRow(codes, top[q], row, predictor[q]);
            }
            row[width] = row[width - 1];
        }
    }

    /// <summary>Whether a block's lanes are all on at every step (patches 64 wide, no zero row in the
    /// group's block), so that <see cref="Step{TLanes}"/> leaves out its lane masks.</summary>
    private interface ILanes
    {
        static abstract bool AllOn { get; }
    }

    private readonly struct AllLanesOn : ILanes
    {
        public static bool AllOn => true;
    }

    private readonly struct SomeLanesOff : ILanes
    {
        public static bool AllOn => false;
    }

    /// <summary>
    /// One step (6.5) of a pair of patches, a (elements 0–7 of <paramref name="state"/>) and b
    /// (elements 8–15): the token, both renormalizations at once (as in <c>Decode&lt;K&gt;</c>), each
    /// patch's words from its stream at its cursor; returns the codes (in the lanes of <paramref name="on"/>).
    /// A lane that is off keeps its state, which lies in [L, 2^32) as every state does between steps,
    /// so it reads no word without a mask of its own. <paramref name="fault"/> keeps the least
    /// frequency of each lane (0: a symbol from an unused table; a lane that is off counts as 2^32 − 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Step<TLanes>(ref Vector512<uint> state, Vector512<int> contexts, Vector512<uint> on, uint* entries,
        ref ushort* wordsA, ref ushort* wordsB, ref Vector512<uint> fault) where TLanes : struct, ILanes
    {
        var slot = (state & Vector512.Create((uint)DenseLayout.ProbabilityTotal - 1)).AsInt32();
        var index = contexts + slot;
        var entry = Halves(Avx2.GatherVector256(entries, index.GetLower(), sizeof(uint)), Avx2.GatherVector256(entries, index.GetUpper(), sizeof(uint)));
        if (!TLanes.AllOn) entry &= on;
        var frequency = entry & Vector512.Create(0x7FFu);
        fault = Vector512.Min(fault, TLanes.AllOn ? frequency : frequency | ~on);
        var decoded = frequency * (state >> DenseLayout.ProbabilityBits) + ((entry >> 11) & Vector512.Create(0x3FFu));
        if (!TLanes.AllOn) decoded = Vector512.ConditionalSelect(on, decoded, state);
        var rawBits = (entry >> 21) & Vector512.Create(7u);
        var rawMask = Avx512F.ShiftLeftLogicalVariable(Vector512<uint>.AllBitsSet, rawBits);
        var shifted = Avx512F.ShiftRightLogicalVariable(decoded, rawBits);
        var first = Vector512.Equals(decoded >> DenseLayout.WordBits, Vector512<uint>.Zero);
        var second = Vector512.AndNot(Vector512.Equals(shifted >> DenseLayout.WordBits, Vector512<uint>.Zero), first);
        ulong firstLanes = first.ExtractMostSignificantBits(), secondLanes = second.ExtractMostSignificantBits();
        // each patch's words by two expands (measured faster on the H200 host's Xeon than a permute
        // with indices from a table): its first lanes take the next words in lane order, its second
        // lanes the words after those
        int firstCountA = BitOperations.PopCount((uint)firstLanes & 0xFF), firstCountB = BitOperations.PopCount((uint)(firstLanes >> 8));
        var wordA = Avx512F.VL.Expand(Avx512F.VL.Expand(Vector256<uint>.Zero, first.GetLower(), Avx2.ConvertToVector256Int32(wordsA).AsUInt32()),
            second.GetLower(), Avx2.ConvertToVector256Int32(wordsA + firstCountA).AsUInt32());
        var wordB = Avx512F.VL.Expand(Avx512F.VL.Expand(Vector256<uint>.Zero, first.GetUpper(), Avx2.ConvertToVector256Int32(wordsB).AsUInt32()),
            second.GetUpper(), Avx2.ConvertToVector256Int32(wordsB + firstCountB).AsUInt32());
        wordsA += BitOperations.PopCount((uint)(firstLanes | secondLanes) & 0xFF);
        wordsB += BitOperations.PopCount((uint)((firstLanes | secondLanes) >> 8));
        var word = Halves(wordA, wordB);
        var raw = Vector512.AndNot(Vector512.ConditionalSelect(first, word, decoded), rawMask);
        var refilled = Vector512.ConditionalSelect(first,
            Avx512F.ShiftRightLogicalVariable((decoded << DenseLayout.WordBits) | word, rawBits),
            (shifted << DenseLayout.WordBits) | word);
        state = Vector512.ConditionalSelect(first | second, refilled, shifted);
        return (entry >> 24) | raw;
    }

    /// <summary>Two halves as one vector by one insert (<c>Vector512.Create</c> inserts both).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Halves(Vector256<uint> lower, Vector256<uint> upper) =>
        Avx512F.InsertVector256(lower.ToVector512Unsafe(), upper, 1);

    private static L3FormatException Fault(int c, int r, long fileOffset) =>
        new($"dense patch, channel {c} row {r}: a symbol of a context whose table is unused", fileOffset);

    /// <summary>The next words of a patch's stream for its 8 lanes: the lanes of <paramref name="first"/>
    /// in order, then those of <paramref name="second"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Words(ushort* words, int next, uint firstLanes, uint secondLanes, Vector256<uint> first, int* spread, out int read)
    {
        int firstCount = BitOperations.PopCount(firstLanes);
        var index = Vector256.ConditionalSelect(first.AsInt32(), Vector256.Load(spread + firstLanes * 8),
            Vector256.Load(spread + secondLanes * 8) + Vector256.Create(firstCount));
        read = firstCount + BitOperations.PopCount(secondLanes);
        return Avx2.PermuteVar8x32(Avx2.ConvertToVector256Int32(words + next).AsUInt32(), index.AsUInt32());
    }

    /// <summary>A row's contexts as table offsets, in step order: the first row's, a row under a zero
    /// row (or a row not decoded: any valid table) uniform, else from the row above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowContexts(int r, bool uniform, uint* above, int table, Vector256<int>* contexts, int stride)
    {
        if (r == 0 || uniform) UniformContexts(r, table, contexts, stride);
        else Contexts(above, table, contexts, stride);
    }

    /// <summary>The contexts of the first row, or of a row under a zero row: one for every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UniformContexts(int r, int table, Vector256<int>* contexts, int stride)
    {
        var all = Vector256.Create(table + ((r == 0 ? DenseLayout.FirstRowContext : 0) << DenseLayout.ProbabilityBits));
        for (int s = 0; s < DenseLayout.LaneColumns; s++) contexts[s * stride] = all;
    }

    /// <summary>After a coded row: column w repeats column w − 1 (the next row's right neighbour at the
    /// edge), the codes to column order, the row rebuilt.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishRow<K>(uint* above, int width, Scratch scratch, byte* top, byte* row, int predictor) where K : struct, SimdPatchDecoder.IRowKernel
    {
        if (width < 64) above[(width & 7) * 8 + (width >> 3)] = above[((width - 1) & 7) * 8 + ((width - 1) >> 3)];
        ToColumnOrder(above, scratch.Rows.Codes);
        K.RebuildRow(scratch.Rows.Codes, top, row, predictor);
    }

    /// <summary>The checks after a patch's last row: every state back at L, every word read.</summary>
    private static void CheckEnd(Vector256<uint> state, int next, int wordCount, long fileOffset, int header, int lanes)
    {
        var final = Vector256.Equals(state, Vector256.Create(DenseLayout.StateLow));
        if (final != Vector256<uint>.AllBitsSet)
        {
            int l = BitOperations.TrailingZeroCount(~final.ExtractMostSignificantBits());
            throw new L3FormatException($"dense patch's coder state {l} ends at {state.GetElement(l)}, not {DenseLayout.StateLow}: the stream is corrupt",
                fileOffset + header + l * DenseLayout.StateBytes);
        }
        if (next != wordCount)
            throw new L3FormatException($"dense patch's stream has {wordCount - next} unread words", fileOffset + header + lanes * DenseLayout.StateBytes + next * DenseLayout.WordBytes);
    }

    private static L3FormatException StreamEndsEarly(int patchLength, long fileOffset) =>
        new("dense patch's word stream ends early", fileOffset + patchLength);

    /// <summary>For each mask of lanes (8 bits), lane i's index into the loaded words: the lanes of
    /// the mask below i.</summary>
    private static readonly int[] SpreadIndices = BuildSpreadIndices();

    private static int[] BuildSpreadIndices()
    {
        var indices = new int[256 * 8];
        for (int mask = 0; mask < 256; mask++)
            for (int lane = 0; lane < 8; lane++)
                indices[mask * 8 + lane] = BitOperations.PopCount((uint)mask & ((1u << lane) - 1));
        return indices;
    }

    /// <summary>
    /// The contexts (6.4) of a row as table offsets (table × M), in step order, from the codes of the
    /// row above in step order (<paramref name="above"/>[8s + l] = the code at column 8l + s, and the
    /// code at column w a copy of column w − 1). The context's half-step bit length is read from the
    /// sum's float: its exponent and the mantissa's top bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Contexts(uint* above, int table, Vector256<int>* contexts, int stride)
    {
        var firstLane = Vector256.Create(-1, 0, 0, 0, 0, 0, 0, 0);
        var lastLane = Vector256.Create(0, 0, 0, 0, 0, 0, 0, -1);
        var a0 = Vector256.Load((int*)above);
        var a7 = Vector256.Load((int*)above + 56);
        // left of column 8l is column 8l − 1 (lane l − 1 of step 7); of column 0, column 0
        var leftOfFirst = Vector256.ConditionalSelect(firstLane, a0, Avx2.PermuteVar8x32(a7, Vector256.Create(0, 0, 1, 2, 3, 4, 5, 6)));
        // right of column 8l + 7 is column 8l + 8 (lane l + 1 of step 0); of column 63, column 63
        var rightOfLast = Vector256.ConditionalSelect(lastLane, a7, Avx2.PermuteVar8x32(a0, Vector256.Create(1, 2, 3, 4, 5, 6, 7, 7)));
        var left = leftOfFirst;
        var current = a0;
        var offset = Vector256.Create(table);
        for (int s = 0; s < DenseLayout.LaneColumns; s++)
        {
            var right = s < 7 ? Vector256.Load((int*)above + 8 * (s + 1)) : rightOfLast;
            var sum = left + current + current + right;
            var halfSteps = (Vector256.ConvertToSingle(sum).AsInt32() >> 22) - Vector256.Create(254);
            var context = Vector256.ConditionalSelect(Vector256.LessThan(sum, Vector256.Create(2)), sum,
                Vector256.Min(halfSteps, Vector256.Create(DenseLayout.FirstRowContext - 1)));
            contexts[s * stride] = (context << DenseLayout.ProbabilityBits) + offset;
            left = current;
            current = right;
        }
    }

    /// <summary>
    /// <see cref="Contexts"/> of a pair of patches at once from the pair's row above (<see cref="GroupAbove"/>):
    /// step s of the pair (patch 2p's lanes, then patch 2p + 1's) at <paramref name="contexts"/>[s].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairContexts(byte* pairRow, int table, Vector512<int>* contexts)
    {
        var a0 = Avx512F.ConvertToVector512Int32(Vector128.Load(pairRow));
        var a7 = Avx512F.ConvertToVector512Int32(Vector128.Load(pairRow + 16 * 7));
        var firstLanes = Vector512.Create(-1, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0);
        var lastLanes = Vector512.Create(0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, -1);
        // as in Contexts, in each half: left of column 8l is lane l − 1 of step 7, right of column 8l + 7 lane l + 1 of step 0
        var left = Vector512.ConditionalSelect(firstLanes, a0, Avx512F.PermuteVar16x32(a7, Vector512.Create(0, 0, 1, 2, 3, 4, 5, 6, 8, 8, 9, 10, 11, 12, 13, 14)));
        var rightOfLast = Vector512.ConditionalSelect(lastLanes, a7, Avx512F.PermuteVar16x32(a0, Vector512.Create(1, 2, 3, 4, 5, 6, 7, 7, 9, 10, 11, 12, 13, 14, 15, 15)));
        var current = a0;
        var offset = Vector512.Create(table);
        for (int s = 0; s < DenseLayout.LaneColumns; s++)
        {
            var right = s < 7 ? Avx512F.ConvertToVector512Int32(Vector128.Load(pairRow + 16 * (s + 1))) : rightOfLast;
            var sum = left + current + current + right;
            var halfSteps = (Vector512.ConvertToSingle(sum).AsInt32() >> 22) - Vector512.Create(254);
            var context = Vector512.ConditionalSelect(Vector512.LessThan(sum, Vector512.Create(2)), sum,
                Vector512.Min(halfSteps, Vector512.Create(DenseLayout.FirstRowContext - 1)));
            contexts[s] = (context << DenseLayout.ProbabilityBits) + offset;
            left = current;
            current = right;
        }
    }

    /// <summary>Step order (64 u32, element l of step s = column 8l + s) to 64 code bytes in column order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ToColumnOrder(uint* stepOrder, byte* codes)
    {
        var p = (int*)stepOrder;
        var s01 = Avx2.PackUnsignedSaturate(Vector256.Load(p), Vector256.Load(p + 8));
        var s23 = Avx2.PackUnsignedSaturate(Vector256.Load(p + 16), Vector256.Load(p + 24));
        var s45 = Avx2.PackUnsignedSaturate(Vector256.Load(p + 32), Vector256.Load(p + 40));
        var s67 = Avx2.PackUnsignedSaturate(Vector256.Load(p + 48), Vector256.Load(p + 56));
        // per 128-bit half: byte 4s + l (steps 0–3 resp. 4–7; lanes 0–3 low, 4–7 high)
        var low = Avx2.PackUnsignedSaturate(s01.AsInt16(), s23.AsInt16());
        var high = Avx2.PackUnsignedSaturate(s45.AsInt16(), s67.AsInt16());
        // to byte 4l + s: each lane's 4 steps as one u32
        var transpose = Vector256.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        low = Avx2.Shuffle(low, transpose);
        high = Avx2.Shuffle(high, transpose);
        var lanes0145 = Avx2.UnpackLow(low.AsUInt32(), high.AsUInt32());  // columns 0–15 | 32–47
        var lanes2367 = Avx2.UnpackHigh(low.AsUInt32(), high.AsUInt32()); // columns 16–31 | 48–63
        Avx2.Permute2x128(lanes0145, lanes2367, 0x20).AsByte().Store(codes);
        Avx2.Permute2x128(lanes0145, lanes2367, 0x31).AsByte().Store(codes + 32);
    }
}
