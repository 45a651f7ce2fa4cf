using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using L3.Kernels;

namespace L3.Dense;

/// <summary>
/// The encoder's view of one row of a channel block: each code as the rANS pass takes it
/// (<see cref="Pack"/>: its symbol, context × 24 + token, its raw bit count and raw bits), in the
/// order the lanes step through the row (docs/FORMAT.md, 6.5): column 8l + s of lane l at step s is
/// entry 8s + l, 8 entries a step whatever N. Both passes of <see cref="DenseEncoder"/> make a row's
/// entries here, the counting pass and the coding pass, so nothing per pixel is kept between them but
/// the codes. Entries without a column (past the patch's width, or lanes past N/8) get
/// <see cref="TrashSymbol"/>, which the counts keep apart and whose coding changes no state
/// (<see cref="DenseEncoder"/>'s symbol table). Two makers of the same entries: scalar, by tabulated
/// rules (<see cref="Scalar"/>), and AVX-512 (VBMI), a whole row in vectors (<see cref="Vector512Row"/>).
/// </summary>
internal static unsafe class DenseStepRows
{
    /// <summary>Entries of a row: 8 steps of 8 lanes.</summary>
    public const int Entries = 64;

    /// <summary>Symbol slots per channel block: its 16 × 24 symbols and, at the end, the trash.</summary>
    public const int SlotsPerChannel = 512;

    /// <summary>The symbol of the entries without a column (no code, no raw bits).</summary>
    public const uint TrashSymbol = SlotsPerChannel - 1;

    /// <summary>The symbol's bits of an entry.</summary>
    public const uint SymbolMask = 0x1FF;

    /// <summary>A code as the rANS pass takes it: its symbol in its block's tables (context × 24 +
    /// token, bits 0–8), its raw bit count (bits 9–11) and its raw bits (bits 16–21).</summary>
    public static uint Pack(int symbol, int code, int token) =>
        (uint)symbol | (uint)DenseCoding.RawBitCount(token) << 9 | (uint)DenseCoding.RawOf(code, token) << 16;

    /// <summary>Each code's entry with context 0 (<see cref="Pack"/>), and each sum of the row above's
    /// codes its context's first symbol, context × 24 (<see cref="DenseCoding.ContextOfSum"/>): the
    /// rules, tabulated, so that an entry is one sum.</summary>
    private static readonly uint[] EntriesOfCodes = Enumerable.Range(0, 256).Select(code => Pack(DenseCoding.TokenOf(code), code, DenseCoding.TokenOf(code))).ToArray();
    private static readonly ushort[] SymbolBasesOfSums = Enumerable.Range(0, 4 * 255 + 1).Select(sum => (ushort)(DenseCoding.ContextOfSum(sum) * DenseLayout.TokenCount)).ToArray();
    private const int FirstRowSymbolBase = DenseLayout.FirstRowContext * DenseLayout.TokenCount;

    /// <summary>Makes row <paramref name="row"/>'s 64 entries at <paramref name="entries"/>, by the
    /// rules (<see cref="DenseCoding"/>) read from tables, column by column. <paramref name="above"/>:
    /// the codes of the row above, null for the block's first row (a zero row above holds codes 0).</summary>
    public static void Scalar(byte* row, byte* above, int w, uint* entries)
    {
        if (w < Entries) new Span<uint>(entries, Entries).Fill(TrashSymbol);
        fixed (uint* entriesOfCodes = EntriesOfCodes)
        fixed (ushort* symbolBases = SymbolBasesOfSums)
        {
            int last = w - 1;
            for (int x = 0; x < w; x++)
            {
                int symbolBase = above is null
                    ? FirstRowSymbolBase
                    : symbolBases[above[Math.Max(x - 1, 0)] + 2 * above[x] + above[Math.Min(x + 1, last)]];
                entries[(x & 7) * DenseLayout.LaneColumns + (x >> 3)] = (uint)symbolBase + entriesOfCodes[row[x]];
            }
        }
    }

    /// <summary>Whether <see cref="Vector512Row"/> runs here.</summary>
    public static bool IsVector512Supported => Avx512Vbmi.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// What <see cref="Vector512Row"/> needs of a patch's width w: for entry i, the column it stands for
    /// and that column's left and right neighbours (clamped to the row), and whether it has a column.
    /// </summary>
    public readonly struct Shape
    {
        public readonly Vector512<byte> Columns, Lefts, Rights, Active;

        public Shape(int w)
        {
            byte* columns = stackalloc byte[Entries], lefts = stackalloc byte[Entries], rights = stackalloc byte[Entries], active = stackalloc byte[Entries];
            for (int i = 0; i < Entries; i++)
            {
                int column = (i % DenseLayout.LaneColumns) * DenseLayout.LaneColumns + i / DenseLayout.LaneColumns;
                bool inRow = column < w;
                columns[i] = (byte)(inRow ? column : 0);
                lefts[i] = (byte)(inRow ? Math.Max(column - 1, 0) : 0);
                rights[i] = (byte)(inRow ? Math.Min(column + 1, w - 1) : 0);
                active[i] = (byte)(inRow ? 0xFF : 0);
            }
            Columns = Vector512.Load(columns);
            Lefts = Vector512.Load(lefts);
            Rights = Vector512.Load(rights);
            Active = Vector512.Load(active);
        }
    }

    // 128-entry byte tables for vpermi2b: the context of a sum below 128 (from 128 on: LargeSumContext);
    // a code's token and raw bit count as token | bits << 5, codes 0–127 and 128–255
    private static readonly byte[] ContextsOfSums = Enumerable.Range(0, 128).Select(sum => (byte)DenseCoding.ContextOfSum(sum)).ToArray();
    private static readonly byte[] TokensOfCodes = Enumerable.Range(0, 256)
        .Select(code => (byte)(DenseCoding.TokenOf(code) | DenseCoding.RawBitCount(DenseCoding.TokenOf(code)) << 5)).ToArray();
    private const byte LargeSumContext = DenseLayout.FirstRowContext - 1;
    private const byte TrashContext = (byte)(TrashSymbol / DenseLayout.TokenCount), TrashToken = (byte)(TrashSymbol % DenseLayout.TokenCount);

    /// <summary>
    /// The contexts and the tokens (token | raw bit count &lt;&lt; 5) of a row's 64 entries, and the codes, in
    /// entry order: the codes and the row above's three neighbours put in entry order by one byte
    /// permute each, the sum's context and the code's token by 128-entry table permutes (a sum of 128
    /// or more is context 14, as the rule gives for every sum of bit length 8 and more). Reads 64
    /// bytes at <paramref name="row"/> and <paramref name="above"/> (the codes array has slack).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ContextsAndTokens(byte* row, byte* above, in Shape shape,
        out Vector512<byte> contexts, out Vector512<byte> tokens, out Vector512<byte> codes)
    {
        codes = Avx512Vbmi.PermuteVar64x8(Vector512.Load(row), shape.Columns) & shape.Active;
        if (above is null) contexts = Vector512.Create((byte)DenseLayout.FirstRowContext);
        else
        {
            var a = Vector512.Load(above);
            var (middleLow, middleHigh) = Vector512.Widen(Avx512Vbmi.PermuteVar64x8(a, shape.Columns));
            var (leftLow, leftHigh) = Vector512.Widen(Avx512Vbmi.PermuteVar64x8(a, shape.Lefts));
            var (rightLow, rightHigh) = Vector512.Widen(Avx512Vbmi.PermuteVar64x8(a, shape.Rights));
            var limit = Vector512.Create((ushort)255);
            var sums = Vector512.Narrow(
                Vector512.Min(leftLow + (middleLow << 1) + rightLow, limit),
                Vector512.Min(leftHigh + (middleHigh << 1) + rightHigh, limit));
            fixed (byte* table = ContextsOfSums)
                contexts = Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(table), sums, Vector512.Load(table + 64));
            contexts = Vector512.ConditionalSelect(Vector512.LessThan(sums.AsSByte(), Vector512<sbyte>.Zero).AsByte(), Vector512.Create(LargeSumContext), contexts);
        }
        fixed (byte* table = TokensOfCodes)
        {
            var low = Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(table), codes, Vector512.Load(table + 64));
            var high = Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(table + 128), codes, Vector512.Load(table + 192));
            tokens = Vector512.ConditionalSelect(Vector512.LessThan(codes.AsSByte(), Vector512<sbyte>.Zero).AsByte(), high, low);
        }
        contexts = Vector512.ConditionalSelect(shape.Active, contexts, Vector512.Create(TrashContext));
        tokens = Vector512.ConditionalSelect(shape.Active, tokens, Vector512.Create(TrashToken));
    }

    /// <summary>The same entries as <see cref="Scalar"/>, a row at a time in vectors
    /// (<see cref="ContextsAndTokens"/>), widened to 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector512Row(byte* row, byte* above, in Shape shape, uint* entries)
    {
        ContextsAndTokens(row, above, shape, out var contexts, out var tokens, out var codes);
        // symbol and raw bit count in 16 bits: context × 24 + token | bits << 9; the raw bits, code & (2^bits − 1)
        var (contextsLow, contextsHigh) = Vector512.Widen(contexts);
        var (tokensLow, tokensHigh) = Vector512.Widen(tokens);
        var (codesLow, codesHigh) = Vector512.Widen(codes);
        var tokenMask = Vector512.Create((ushort)31);
        var rawBitsLow = tokensLow >> 5;
        var rawBitsHigh = tokensHigh >> 5;
        var low16 = contextsLow * (ushort)DenseLayout.TokenCount + (tokensLow & tokenMask) + (rawBitsLow << 9);
        var high16 = contextsHigh * (ushort)DenseLayout.TokenCount + (tokensHigh & tokenMask) + (rawBitsHigh << 9);
        var one = Vector512.Create((ushort)1);
        Store(low16, codesLow & (Avx512BW.ShiftLeftLogicalVariable(one, rawBitsLow) - one), entries);
        Store(high16, codesHigh & (Avx512BW.ShiftLeftLogicalVariable(one, rawBitsHigh) - one), entries + 32);
    }

    /// <summary>The symbols alone of <see cref="Vector512Row"/>'s entries, times <paramref name="scale"/>
    /// (a power of 2 up to 64), in 16 bits: where the counting pass counts them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector512Symbols(byte* row, byte* above, in Shape shape, ushort* symbols, int scale)
    {
        ContextsAndTokens(row, above, shape, out var contexts, out var tokens, out _);
        var (contextsLow, contextsHigh) = Vector512.Widen(contexts);
        var (tokensLow, tokensHigh) = Vector512.Widen(tokens);
        var tokenMask = Vector512.Create((ushort)31);
        ushort contextScale = (ushort)(DenseLayout.TokenCount * scale), tokenScale = (ushort)scale;
        (contextsLow * contextScale + (tokensLow & tokenMask) * tokenScale).Store(symbols);
        (contextsHigh * contextScale + (tokensHigh & tokenMask) * tokenScale).Store(symbols + 32);
    }

    /// <summary>Stores 32 entries: the 16-bit symbol parts with the raw bits (16 bits) above them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<ushort> symbols, Vector512<ushort> raw, uint* entries)
    {
        var (symbolsLow, symbolsHigh) = Vector512.Widen(symbols);
        var (rawLow, rawHigh) = Vector512.Widen(raw);
        (symbolsLow | (rawLow << 16)).Store(entries);
        (symbolsHigh | (rawHigh << 16)).Store(entries + 16);
    }
}
