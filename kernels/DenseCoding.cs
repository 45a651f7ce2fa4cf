namespace L3.Kernels;

/// <summary>
/// The coding rules of mode 1, dense (docs/FORMAT.md, section 6), written once for the encoder
/// and every decoder (scalar, GPU kernel): how a residual code becomes a token and raw bits, which
/// context (table) a code is read with, and the rANS steps. Small static methods over integers so
/// that ILGPU compiles them.
/// </summary>
public static class DenseCoding
{
    /// <summary>Codes below this are their own token and have no raw bits.</summary>
    public const int DirectTokens = 16;

    /// <summary>The token of a zigzag code (0..255): the code itself below 16, else its bit length
    /// and the bit below the leading one.</summary>
    public static int TokenOf(int code)
    {
        if (code < DirectTokens) return code;
        int length = RowCoding.WidthOf(code); // 5..8
        return DirectTokens + 2 * (length - 5) + ((code >> (length - 2)) & 1);
    }

    /// <summary>Raw bits that follow a token: 0 for a direct token, else the bits of the code below
    /// its two leading bits (3..6).</summary>
    public static int RawBitCount(int token) => token < DirectTokens ? 0 : ((token - DirectTokens) >> 1) + 3;

    /// <summary>The raw bits of a code (its low <see cref="RawBitCount"/> bits).</summary>
    public static int RawOf(int code, int token) => code & ((1 << RawBitCount(token)) - 1);

    /// <summary>The code a token and its raw bits stand for.</summary>
    public static int CodeOf(int token, int raw)
    {
        if (token < DirectTokens) return token;
        int rawBits = RawBitCount(token);
        return (1 << (rawBits + 1)) | ((token & 1) << rawBits) | raw;
    }

    /// <summary>
    /// The context of a code from the codes of the row above (same block): <paramref name="left"/> =
    /// A[max(x−1, 0)], <paramref name="above"/> = A[x], <paramref name="right"/> = A[min(x+1, w−1)].
    /// The weighted sum in half steps of its bit length (0..14); the first row has its own context.
    /// </summary>
    public static int Context(bool firstRow, int left, int above, int right) =>
        firstRow ? DenseLayout.FirstRowContext : ContextOfSum(left + 2 * above + right);

    /// <summary>The context (0..14) of the sum s of <see cref="Context"/>: s below 2, else 2B − 2 plus
    /// the bit below the leading one, B the bit length of s, at most 14.</summary>
    public static int ContextOfSum(int sum)
    {
        if (sum < 2) return sum;
        int length = RowCoding.WidthOf(sum);
        int context = 2 * length - 2 + ((sum >> (length - 2)) & 1);
        return context < DenseLayout.FirstRowContext - 1 ? context : DenseLayout.FirstRowContext - 1;
    }

    /// <summary>The slot (0..M−1) a state decodes its token from.</summary>
    public static int Slot(uint state) => (int)(state & (DenseLayout.ProbabilityTotal - 1));

    /// <summary>The state after decoding a token of frequency <paramref name="frequency"/> and
    /// cumulative frequency <paramref name="cumulative"/> from <paramref name="slot"/>.</summary>
    public static uint AfterToken(uint state, int slot, int frequency, int cumulative) =>
        (uint)frequency * (state >> DenseLayout.ProbabilityBits) + (uint)(slot - cumulative);

    /// <summary>Whether a state must read a word before the next symbol.</summary>
    public static bool NeedsWord(uint state) => state < DenseLayout.StateLow;

    /// <summary>A state with a word of the stream read into it.</summary>
    public static uint WithWord(uint state, int word) => (state << DenseLayout.WordBits) | (uint)(word & 0xFFFF);

    /// <summary>The raw bits a state gives (its low <paramref name="rawBits"/> bits).</summary>
    public static int RawBits(uint state, int rawBits) => (int)(state & ((1u << rawBits) - 1));

    /// <summary>The state after giving <paramref name="rawBits"/> raw bits.</summary>
    public static uint AfterRaw(uint state, int rawBits) => state >> rawBits;

    /// <summary>Encoder: the state at or above which a lane writes a word before coding a token of
    /// <paramref name="frequency"/> (2^(32−10)·f; as a long, since f may be 2^10).</summary>
    public static long TokenStateLimit(int frequency) => (long)frequency << (32 - DenseLayout.ProbabilityBits);

    /// <summary>Encoder: the state at or above which a lane writes a word before coding raw bits.</summary>
    public static long RawStateLimit(int rawBits) => 1L << (32 - rawBits);

    /// <summary>Encoder: the state after coding a token (the inverse of <see cref="AfterToken"/>).</summary>
    public static uint EncodeToken(uint state, int frequency, int cumulative) =>
        ((state / (uint)frequency) << DenseLayout.ProbabilityBits) + state % (uint)frequency + (uint)cumulative;

    /// <summary>Encoder: the state after coding raw bits (the inverse of <see cref="AfterRaw"/>).</summary>
    public static uint EncodeRaw(uint state, int raw, int rawBits) => (state << rawBits) | (uint)raw;
}
