namespace L3.Kernels;

/// <summary>
/// The row-coding rules of L3 v1 (docs/FORMAT.md, "Row coding"), written once and used by every
/// path: the CPU encoder and decoder, the SIMD decoder's tail, the GPU kernels and the code the
/// generator emits. Each rule is a small static method over integers so that ILGPU can compile it.
/// </summary>
/// <remarks>
/// A pixel of a row is rebuilt as <c>base + acc</c> (mod 256), where <c>base</c> comes from the
/// row above alone and <c>acc</c> is either the pixel's own residual (predictor Top) or the
/// running sum of the row's residuals (the other three). So a row decodes with one prefix sum,
/// and never waits on its own pixels one by one.
/// </remarks>
public static class RowCoding
{
    /// <summary>Residuals per width group; a group of width b occupies exactly b bytes.</summary>
    public const int GroupSize = 8;

    /// <summary>Largest group width: a zigzagged residual fits 8 bits.</summary>
    public const int MaxWidth = 8;

    /// <summary>Predictors, one per row and channel, stored in 2 bits.</summary>
    public const int Top = 0, Left = 1, Gradient = 2, TopRight = 3;

    public const int PredictorCount = 4;

    /// <summary>
    /// The base of pixel <paramref name="x"/> of a row <paramref name="rowWidth"/> wide, from the
    /// row above: <paramref name="top"/> = T[x], <paramref name="topRight"/> = T[min(x+1, w-1)],
    /// <paramref name="topFirst"/> = T[0]. The row above the first row of a patch is all zero.
    /// </summary>
    public static int Base(int predictor, int top, int topRight, int topFirst)
    {
        // two flat choices rather than a nested one: ILGPU turns each into a select, not a branch
        int above = predictor == TopRight ? topRight : top;
        return predictor == Left ? topFirst : above;
    }

    /// <summary>Whether the predictor adds up the row's residuals (a prefix sum) or uses each alone.</summary>
    public static bool Accumulates(int predictor) => predictor != Top;

    /// <summary>The running term after pixel x: the residual alone, or the sum so far.</summary>
    public static int Accumulate(int predictor, int running, int residual) =>
        Accumulates(predictor) ? running + residual : residual;

    /// <summary>A pixel rebuilt from its base and the running term, mod 256.</summary>
    public static int Reconstruct(int baseValue, int running) => (baseValue + running) & 0xFF;

    /// <summary>
    /// The residual the encoder writes: the inverse of <see cref="Accumulate"/>. For the summing
    /// predictors, <paramref name="previousOffset"/> is the previous pixel's value minus its base
    /// (0 before the first pixel); <paramref name="offset"/> is this pixel's.
    /// </summary>
    public static int Residual(int predictor, int offset, int previousOffset) =>
        Accumulates(predictor) ? offset - previousOffset : offset;

    /// <summary>Signed residual (any int, taken mod 256) to its zigzag code 0..255.</summary>
    public static int Zigzag(int residual)
    {
        int r = (sbyte)(residual & 0xFF);
        return ((r << 1) ^ (r >> 31)) & 0xFF;
    }

    /// <summary>Zigzag code 0..255 back to the signed residual -128..127.</summary>
    public static int Unzigzag(int code) => (code >> 1) ^ -(code & 1);

    /// <summary>Bits needed for a zigzag code (0 for 0, 8 for 128..255).</summary>
    public static int WidthOf(int code) => 32 - ILGPU.IntrinsicMath.LeadingZeroCount((uint)code);

    /// <summary>Slot <paramref name="slot"/> (0..7) of a group of width <paramref name="width"/>,
    /// whose b bytes were read little-endian into <paramref name="groupBits"/>.</summary>
    public static int UnpackSlot(ulong groupBits, int width, int slot) =>
        (int)((groupBits >> (slot * width)) & ((1UL << width) - 1));

    /// <summary>
    /// <see cref="UnpackSlot(ulong, int, int)"/> on 32-bit halves, for GPUs: <paramref name="low"/> is
    /// the group's low 32 bits (slots 0..3 lie in them, 4 × width ≤ 32) and <paramref name="high"/>
    /// the group shifted right by 4 × width (slots 4..7).
    /// </summary>
    public static int UnpackSlot(uint low, uint high, int width, int slot) =>
        (int)(((slot < 4 ? low >> (slot * width) : high >> ((slot - 4) * width))) & ((1u << width) - 1));

    /// <summary>Places a code in its slot of a group (the inverse of <see cref="UnpackSlot(ulong, int, int)"/>).</summary>
    public static ulong PackSlot(ulong groupBits, int width, int slot, int code) =>
        groupBits | ((ulong)code << (slot * width));

    /// <summary>Width groups in a row of <paramref name="rowWidth"/> pixels.</summary>
    public static int GroupsPerRow(int rowWidth) => (rowWidth + GroupSize - 1) / GroupSize;

    /// <summary>Bytes of a channel block's zero-row mask: a bit a row, set when every residual
    /// of the row is 0 (such a row stores no widths and no groups).</summary>
    public static int ZeroMaskBytes(int rows) => (rows + 7) / 8;

    /// <summary>Whether <paramref name="row"/> is a zero row, from its byte of the zero-row mask.</summary>
    public static bool IsZeroRow(int maskByte, int row) => ((maskByte >> (row & 7)) & 1) != 0;

    /// <summary>Bytes of a channel block's predictor array: 2 bits a row.</summary>
    public static int PredictorBytes(int rows) => (rows + 3) / 4;

    /// <summary>Bytes of a channel block's width array: a nibble a group of every row that is not
    /// a zero row.</summary>
    public static int WidthBytes(int codedRows, int groupsPerRow) => (codedRows * groupsPerRow + 1) / 2;

    /// <summary>The 2-bit predictor of <paramref name="row"/> from its byte of the predictor array.</summary>
    public static int PredictorOf(int predictorByte, int row) => (predictorByte >> ((row & 3) * 2)) & 3;

    /// <summary>The width nibble with index <paramref name="index"/> from its byte (low nibble first).</summary>
    public static int NibbleOf(int widthByte, int index) => (widthByte >> ((index & 1) * 4)) & 0xF;

    /// <summary>Row <paramref name="row"/>'s bit in byte row / 8 of the zero-row mask (the inverse of <see cref="IsZeroRow"/>).</summary>
    public static int ZeroRowBit(int row) => 1 << (row & 7);

    /// <summary><paramref name="predictor"/> placed in byte row / 4 of the predictor array (the inverse of <see cref="PredictorOf"/>).</summary>
    public static int PredictorBits(int predictor, int row) => predictor << ((row & 3) * 2);

    /// <summary>Width <paramref name="width"/> placed in byte index / 2 of the width array (the inverse of <see cref="NibbleOf"/>).</summary>
    public static int NibbleBits(int width, int index) => width << ((index & 1) * 4);
}

/// <summary>
/// The reversible colour transform a patch may use (patch flag bit 0): for 3 or 4 channels the
/// coded planes are R-G, G, B-G (mod 256); alpha is left alone.
/// </summary>
public static class ColorTransform
{
    /// <summary>R or B as coded: its difference from G, mod 256.</summary>
    public static int Decorrelate(int value, int green) => (value - green) & 0xFF;

    /// <summary>R or B back from its coded difference.</summary>
    public static int Restore(int coded, int green) => (coded + green) & 0xFF;
}
