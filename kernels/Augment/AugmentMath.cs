using ILGPU;

namespace L3.Kernels;

/// <summary>
/// The arithmetic of the loader's output stage, one implementation for the CPU reference and the
/// GPU kernel (docs/LOADER.md, "Augmentation"). Everything up to the interpolated value is integer
/// arithmetic, and the float steps are a fixed sequence of single roundings that no compiler may
/// fuse differently, so the GPU's output equals the reference's bit for bit in every output type.
/// </summary>
/// <remarks>
/// Bilinear resize with half-pixel centres (PyTorch's <c>align_corners=False</c>, no antialias): output
/// pixel o of an axis of <c>out</c> pixels samples the crop of <c>crop</c> pixels at
/// s = (o + ½)·crop/out − ½, clamped below at 0; neighbours ⌊s⌋ and min(⌊s⌋ + 1, crop − 1). s is
/// kept in fixed point with <see cref="WeightBits"/> fraction bits (rounded down, exactly), so the
/// weights are multiples of 1/2048 (as OpenCV's and Pillow-SIMD's fixed-point bilinear).
/// </remarks>
public static class AugmentMath
{
    public const int WeightBits = 11;
    public const int WeightOne = 1 << WeightBits;
    /// <summary>The interpolated value is the pixel value × 2^ValueBits (two weights multiplied).</summary>
    public const int ValueBits = 2 * WeightBits;

    /// <summary>Output types (<c>AugmentOutput.Type</c>).</summary>
    public const int UInt8 = 0, Float32 = 1, Float16 = 2, BFloat16 = 3;

    /// <summary>s × 2^11 for output pixel <paramref name="o"/>: ⌊((2o + 1)·crop − out)·2^10 / out⌋, 0 when negative.</summary>
    public static long SourceCoordinate(int o, int crop, int output)
    {
        long numerator = ((2L * o + 1) * crop - output) * (WeightOne / 2);
        return numerator <= 0 ? 0 : numerator / output;
    }

    /// <summary>The pixel value × 2^22 at fractions <paramref name="fx"/>, <paramref name="fy"/> (of 2^11)
    /// between four neighbours: rows first, then the column blend; exact in 32 bits (≤ 255·2^22).</summary>
    public static int Interpolate(int p00, int p01, int p10, int p11, int fx, int fy)
    {
        int top = p00 * (WeightOne - fx) + p01 * fx;
        int bottom = p10 * (WeightOne - fx) + p11 * fx;
        return top * (WeightOne - fy) + bottom * fy;
    }

    /// <summary>The value rounded to a byte (halves up).</summary>
    public static int ToByte(int value) => (value + (1 << (ValueBits - 1))) >> ValueBits;

    /// <summary>
    /// (value / 2^22 − mean) × scale, where mean = 255·mean₀₁ and scale = 1 / (255·std₀₁) (torchvision's
    /// mean and std, given for [0, 1]). The int→float conversion rounds to nearest even and × 2^−22 is
    /// exact, so this is two roundings: the subtraction and the multiplication (no fused form differs).
    /// </summary>
    public static float Normalize(int value, float mean, float scale) => ((float)value * (1f / (1 << ValueBits)) - mean) * scale;

    /// <summary>IEEE binary16 bits of <paramref name="f"/>, rounded to nearest even (as (Half)f), in integer arithmetic.</summary>
    public static uint ToHalfBits(float f)
    {
        uint x = Interop.FloatAsInt(f);
        uint sign = (x >> 16) & 0x8000u;
        uint abs = x & 0x7FFFFFFFu;
        if (abs > 0x7F800000u) return sign | 0x7E00u;              // NaN
        if (abs >= 0x477FF000u) return sign | 0x7C00u;             // ≥ 65520 rounds to infinity
        if (abs >= 0x38800000u)                                    // a normal half
        {
            uint h = (abs - 0x38000000u) >> 13;
            uint rest = abs & 0x1FFFu;
            if (rest > 0x1000u || (rest == 0x1000u && (h & 1) != 0)) h++;
            return sign | h;
        }
        uint exponent = abs >> 23;
        if (exponent < 102) return sign;                           // below 2^-25: zero
        uint mantissa = (abs & 0x7FFFFFu) | 0x800000u;
        int shift = 126 - (int)exponent;                           // 14..24: to units of 2^-24
        uint q = mantissa >> shift;
        uint remainder = mantissa & ((1u << shift) - 1);
        uint half = 1u << (shift - 1);
        if (remainder > half || (remainder == half && (q & 1) != 0)) q++;
        return sign | q;
    }

    /// <summary>bfloat16 bits of <paramref name="f"/>, rounded to nearest even.</summary>
    public static uint ToBFloat16Bits(float f)
    {
        uint x = Interop.FloatAsInt(f);
        if ((x & 0x7FFFFFFFu) > 0x7F800000u) return ((x >> 16) & 0x8000u) | 0x7FC0u;
        return (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
    }
}
