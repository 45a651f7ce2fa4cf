namespace L3.Kernels;

/// <summary>
/// The layout of one patch (docs/FORMAT.md, section 2): a flags byte, then one channel block per
/// channel ([zero-row mask][predictor array][width array][groups], sized by
/// <see cref="RowCoding"/>'s rules). The one home of the flag bits and of the largest sizes a
/// block or a patch can take, for the encoders' buffers and the validation.
/// </summary>
public static class PatchLayout
{
    /// <summary>Where the patch flags byte lies in a patch, and its size: the first channel block
    /// starts at <see cref="FlagsSize"/>.</summary>
    public const int FlagsOffset = 0, FlagsSize = 1;

    /// <summary>Patch flag bit 0: the planes are R−G, G, B−G (3 or 4 channels only).</summary>
    public const int ColorTransformFlag = 1;

    /// <summary>The channels of an RGB or RGBA image, as the colour transform names them.</summary>
    public const int Red = 0, Green = 1, Blue = 2, Alpha = 3;

    /// <summary>Whether a patch's flags byte is valid for <paramref name="channels"/> channels: no
    /// reserved bit set, and the colour transform only with 3 or 4 channels.</summary>
    public static bool AreValidFlags(int flags, int channels) =>
        (flags & ~ColorTransformFlag) == 0 && (flags == 0 || channels >= 3);

    /// <summary>Whether a patch's flags byte says its planes are colour-transformed.</summary>
    public static bool HasColorTransform(int flags) => (flags & ColorTransformFlag) != 0;

    /// <summary>The most bytes a channel block's mask, predictor and width arrays take (no zero rows).</summary>
    public static int BlockHeaderBytes(int width, int height) =>
        RowCoding.ZeroMaskBytes(height) + RowCoding.PredictorBytes(height) + RowCoding.WidthBytes(height, RowCoding.GroupsPerRow(width));

    /// <summary>The most bytes a channel block's groups take (every group 8 bits wide).</summary>
    public static int MaxGroupBytes(int width, int height) =>
        height * RowCoding.GroupsPerRow(width) * RowCoding.MaxWidth;

    /// <summary>The most bytes a channel block can take.</summary>
    public static int MaxBlockBytes(int width, int height) => BlockHeaderBytes(width, height) + MaxGroupBytes(width, height);

    /// <summary>The most bytes a patch can take.</summary>
    public static int MaxPatchBytes(int width, int height, int channels) => FlagsSize + channels * MaxBlockBytes(width, height);
}
