using System.Runtime.CompilerServices;

namespace L3.Kernels;

/// <summary>
/// The shape of the files a decoder is specialized to: the patch size, and the image's width,
/// height and channel count when they are fixed. Every decoder (scalar, SIMD, GPU kernel) is
/// written once, generic over <c>TShape</c>, and reads the shape's facts through
/// <see cref="PatchShape"/>: a fact the shape fixes is a constant there, any other is the file's.
/// </summary>
/// <remarks>
/// The members are instance members of a struct read on <c>default(TShape)</c>: for every struct
/// instantiation the JIT compiles the generic code anew and folds a member that returns a literal
/// into a constant, and ILGPU compiles the interface-constrained call on the struct (as its own
/// scan and reduce operations are written) and folds it alike. 0 means "any": the file says.
/// <see cref="AnyShape"/> fixes nothing, so the generic decoder is the same code as before there
/// were shapes; a generated <c>[L3Profile]</c> emits a shape that fixes N and Width, and Height or
/// Channels when the attribute gives them.
/// </remarks>
public interface IPatchShape
{
    /// <summary>The patch size, 8, 16, 32 or 64; 0 for any.</summary>
    int N { get; }

    /// <summary>The image width in pixels; 0 for any.</summary>
    int Width { get; }

    /// <summary>The image height in pixels; 0 for any.</summary>
    int Height { get; }

    /// <summary>The channel count, 1, 3 or 4; 0 for any.</summary>
    int Channels { get; }
}

/// <summary>The generic shape: it fixes nothing, every fact is the file's.</summary>
public readonly struct AnyShape : IPatchShape
{
    public int N => 0;
    public int Width => 0;
    public int Height => 0;
    public int Channels => 0;
}

/// <summary>
/// The facts a decoder reads off a shape. Each takes the file's value and returns the shape's
/// constant when the shape fixes it, else the file's value: for <see cref="AnyShape"/> every one
/// is the identity, for a profile's shape it folds to a literal.
/// </summary>
public static class PatchShape
{
    /// <summary>The patch size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int N<TShape>(int fileN) where TShape : struct, IPatchShape =>
        default(TShape).N != 0 ? default(TShape).N : fileN;

    /// <summary>The image width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Width<TShape>(int fileWidth) where TShape : struct, IPatchShape =>
        default(TShape).Width != 0 ? default(TShape).Width : fileWidth;

    /// <summary>The image height.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Height<TShape>(int fileHeight) where TShape : struct, IPatchShape =>
        default(TShape).Height != 0 ? default(TShape).Height : fileHeight;

    /// <summary>The channel count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Channels<TShape>(int fileChannels) where TShape : struct, IPatchShape =>
        default(TShape).Channels != 0 ? default(TShape).Channels : fileChannels;

    /// <summary>Whether the shape fixes the patch size (every profile does; <see cref="AnyShape"/> does not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FixesN<TShape>() where TShape : struct, IPatchShape => default(TShape).N != 0;

    /// <summary>Whether the shape fixes the patch size and the width, so that the columns of patches are constants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FixesColumns<TShape>() where TShape : struct, IPatchShape =>
        default(TShape).N != 0 && default(TShape).Width != 0;

    /// <summary>Whether the shape fixes the patch size, the width and the height, so that the patch count is a constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FixesPatchCount<TShape>() where TShape : struct, IPatchShape =>
        FixesColumns<TShape>() && default(TShape).Height != 0;

    /// <summary>Columns of patches: ⌈width / N⌉.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PatchesX<TShape>(int fileWidth, int fileN) where TShape : struct, IPatchShape =>
        (Width<TShape>(fileWidth) + N<TShape>(fileN) - 1) / N<TShape>(fileN);

    /// <summary>Rows of patches: ⌈height / N⌉.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PatchesY<TShape>(int fileHeight, int fileN) where TShape : struct, IPatchShape =>
        (Height<TShape>(fileHeight) + N<TShape>(fileN) - 1) / N<TShape>(fileN);

    /// <summary>Width of the patches in the last column: N when the width is a multiple of N.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EdgePatchWidth<TShape>(int fileWidth, int fileN) where TShape : struct, IPatchShape =>
        Width<TShape>(fileWidth) - (PatchesX<TShape>(fileWidth, fileN) - 1) * N<TShape>(fileN);

    /// <summary>Width groups (of <see cref="RowCoding.GroupSize"/> residuals) in a row of a whole patch: N / 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GroupsPerRow<TShape>(int fileN) where TShape : struct, IPatchShape =>
        RowCoding.GroupsPerRow(N<TShape>(fileN));

    /// <summary>
    /// Whether a patch's width or height is the shape's N (always false when the shape does not fix
    /// N). The decoders test a patch with this and then decode a whole patch with N, a constant,
    /// as its extent, so that its geometry folds; <see cref="AnyShape"/> never takes that branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWhole<TShape>(int extent) where TShape : struct, IPatchShape =>
        default(TShape).N != 0 && extent == default(TShape).N;
}
