namespace L3.Kernels;

/// <summary>
/// The rules of <see cref="RowCoding"/> for up to three planes at once, carried in one 32-bit word
/// (SWAR): plane k in the 11-bit field at bit 11k. The GPU decoder spends about a third of the
/// integer instructions per pixel this way. Each method here is the field-wise image of a scalar
/// rule, and tests/L3.Gpu.Tests checks them against <see cref="RowCoding"/> field by field.
/// </summary>
/// <remarks>
/// Why 11 bits: a field holds a value mod 256 in its low 8 bits and 3 spare bits, so a sum of up
/// to 8 clean fields (each ≤ 255) never carries into the next field. The top field (bits 22–31)
/// has 10 bits; its carries leave the word, which is harmless mod 256. A "clean" word has every
/// field ≤ 255 (<see cref="Clean"/>).
/// </remarks>
internal static class SwarRowCoding
{
    /// <summary>Bit position of plane k's field: 11k.</summary>
    public const int FieldBits = 11;

    /// <summary>One field's bits, at plane 0.</summary>
    public const uint FieldMask = (1u << FieldBits) - 1;

    /// <summary>Bit 0 of every field.</summary>
    public const uint Ones = 1u | 1u << FieldBits | 1u << (2 * FieldBits);

    /// <summary>The low 8 bits of every field: a value mod 256.</summary>
    public const uint Bytes = 0xFFu * Ones;

    /// <summary>All 11 bits of every field (the top field's 10).</summary>
    public const uint Fields = unchecked(0x7FFu * Ones);

    /// <summary>Every field taken mod 256.</summary>
    public static uint Clean(uint x) => x & Bytes;

    /// <summary><see cref="RowCoding.Unzigzag"/> of every field, mod 256: clean codes in, clean residuals out.</summary>
    public static uint Unzigzag(uint codes) => ((codes >> 1) & (0x7Fu * Ones)) ^ ((codes & Ones) * 0xFFu);

    /// <summary>Places <paramref name="value"/> (a predictor 0..3, a code, a pixel) in plane
    /// <paramref name="plane"/>'s field.</summary>
    public static uint Field(uint value, int plane) => value << (plane * FieldBits);

    /// <summary>Plane <paramref name="plane"/>'s field of a clean word.</summary>
    public static int FieldOf(uint word, int plane) => (int)((word >> (plane * FieldBits)) & 0xFF);

    /// <summary>
    /// The masks one row's predictors (one per field, 0..3) select with: fields that add up the
    /// row (<see cref="RowCoding.Accumulates"/>, all 11 bits), fields whose base is the top-right
    /// pixel, and fields whose base is the row's first pixel above (<see cref="RowCoding.Base"/>).
    /// </summary>
    public static RowMasks Masks(uint predictors)
    {
        uint low = predictors & Ones, high = (predictors >> 1) & Ones;
        return new RowMasks
        {
            Accumulate = (low | high) * 0x7FFu,          // 1, 2, 3
            TopRight = (low & high) * 0xFFu,             // 3
            Left = (low & ~high) * 0xFFu,                // 1
        };
    }

    /// <summary><see cref="RowCoding.Base"/> field-wise, from clean words of the row above.</summary>
    public static uint Base(RowMasks masks, uint top, uint topRight, uint topFirst) =>
        (((topRight & masks.TopRight) | (top & ~masks.TopRight)) & ~masks.Left) | (topFirst & masks.Left);

    /// <summary>
    /// <see cref="RowCoding.Reconstruct"/> of <see cref="RowCoding.Accumulate"/> field-wise: the
    /// pixel from its base, the running sum of the row so far (<paramref name="carry"/>, clean, plus
    /// <paramref name="partial"/>, at most 1,275 a field) and its own residual. Clean result.
    /// </summary>
    public static uint Pixel(RowMasks masks, uint baseValue, uint carry, uint partial, uint residual) =>
        Clean(baseValue + (carry & masks.Accumulate) + ((partial & masks.Accumulate) | (residual & ~masks.Accumulate)));

    /// <summary>Plane 1 (green) of a clean word, in the low byte (planes above it in higher bits).</summary>
    public static uint Green(uint word) => word >> FieldBits;

    /// <summary>
    /// A clean word with <see cref="ColorTransform.Restore"/> applied to planes 0 and 2 when
    /// <paramref name="transform"/> is <see cref="RestorePlanes"/> (0: the planes as they are):
    /// red in the low byte, blue in the byte <see cref="Blue"/> takes. (word >> 11) × (1 + 2^22) adds
    /// plane 1 to fields 0 and 2 (≤ 510: no carry out of them); field 1 is spoilt (plane 2 added),
    /// so green is taken from the word itself (<see cref="Green"/>); bits past the top are lost,
    /// which is harmless mod 256.
    /// </summary>
    public static uint RedBlue(uint word, uint transform) => word + Green(word) * transform;

    /// <summary>Blue, in the low byte, from <see cref="RedBlue"/>'s result.</summary>
    public static uint Blue(uint redBlue) => redBlue >> (2 * FieldBits);

    /// <summary>The interleaved pixel (bytes 0, 1, 2 = R, G, B) of a clean word: the three rules
    /// above put together (the GPU kernel's interleaved output).</summary>
    public static uint RestoreInterleaved(uint word, uint transform)
    {
        uint redBlue = RedBlue(word, transform);
        // bytes put together by multiply-adds, which leave the GPU's logic pipe to the masks
        return (redBlue & 0xFFu) + (Green(word) & 0xFFu) * 0x100u + (Blue(redBlue) & 0xFFu) * 0x10000u;
    }

    /// <summary>The multiplier <see cref="RedBlue"/> takes for a colour-transformed patch.</summary>
    public const uint RestorePlanes = 1u | 1u << (2 * FieldBits);
}

/// <summary>Per-row selection masks of <see cref="SwarRowCoding"/>.</summary>
internal struct RowMasks
{
    public uint Accumulate, TopRight, Left;
}
