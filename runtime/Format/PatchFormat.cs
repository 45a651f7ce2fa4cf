using L3.Kernels;

namespace L3;

/// <summary>
/// The layout of one patch's bytes (docs/FORMAT.md, "Patch"): a flags byte, then one channel
/// block per channel, each made of a zero-row mask (a bit a row), a predictor array (2 bits a
/// row), a width array (a nibble a group of each non-zero row) and the packed groups. Every path validates a patch here before it decodes it.
/// </summary>
public static class PatchFormat
{
    /// <summary>Patch flag bit 0: the planes are R-G, G, B-G (3 or 4 channels only).</summary>
    public const int ColorTransformFlag = 1;

    /// <summary>The most bytes a channel block's mask, predictor and width arrays take.</summary>
    public static int BlockHeaderBytes(int width, int height) =>
        RowCoding.ZeroMaskBytes(height) + RowCoding.PredictorBytes(height) + RowCoding.WidthBytes(height, RowCoding.GroupsPerRow(width));

    /// <summary>The most bytes a patch can take (every group 8 bits wide).</summary>
    public static int MaxPatchBytes(int width, int height, int channels) =>
        1 + channels * (BlockHeaderBytes(width, height) + height * RowCoding.GroupsPerRow(width) * RowCoding.MaxWidth);

    /// <summary>
    /// Checks a patch's structure: known flags, predictor and width arrays with zero padding,
    /// every width at most 8, and block lengths that add up to the patch's length exactly. After
    /// this, a decoder may read the patch without bounds checks.
    /// </summary>
    /// <param name="fileOffset">the patch's offset in the file, for error messages</param>
    public static void Validate(ReadOnlySpan<byte> patch, int width, int height, int channels, long fileOffset)
    {
        if (patch.Length < 1)
            throw new L3FormatException("patch is empty", fileOffset);
        int flags = patch[0];
        if ((flags & ~ColorTransformFlag) != 0 || (flags != 0 && channels < 3))
            throw new L3FormatException($"patch flags 0x{flags:X2} are not valid for {channels} channel(s)", fileOffset);

        int groups = RowCoding.GroupsPerRow(width);
        int maskBytes = RowCoding.ZeroMaskBytes(height);
        int predictorBytes = RowCoding.PredictorBytes(height);
        int at = 1;
        for (int c = 0; c < channels; c++)
        {
            if (patch.Length - at < maskBytes + predictorBytes)
                throw new L3FormatException($"patch ends inside the header of channel {c}", fileOffset + patch.Length);
            int codedRows = height;
            for (int i = 0; i < maskBytes; i++) codedRows -= System.Numerics.BitOperations.PopCount(patch[at + i]);
            if ((height & 7) != 0 && (patch[at + maskBytes - 1] >> (height & 7)) != 0)
                throw new L3FormatException($"channel {c}: padding bits of the zero-row mask are not zero", fileOffset + at + maskBytes - 1);
            at += maskBytes;
            if ((height & 3) != 0 && (patch[at + predictorBytes - 1] >> ((height & 3) * 2)) != 0)
                throw new L3FormatException($"channel {c}: padding bits of the predictor array are not zero", fileOffset + at + predictorBytes - 1);
            at += predictorBytes;

            int nibbles = codedRows * groups;
            int widthBytes = RowCoding.WidthBytes(codedRows, groups);
            if (patch.Length - at < widthBytes)
                throw new L3FormatException($"patch ends inside the width array of channel {c}", fileOffset + patch.Length);
            int payload = 0;
            for (int i = 0; i < widthBytes; i++)
            {
                int b = patch[at + i];
                int lo = b & 0xF, hi = b >> 4;
                if (lo > RowCoding.MaxWidth || hi > RowCoding.MaxWidth)
                    throw new L3FormatException($"channel {c}: group width {Math.Max(lo, hi)} is larger than 8", fileOffset + at + i);
                if (2 * i + 1 == nibbles && hi != 0)
                    throw new L3FormatException($"channel {c}: the width array's padding nibble is not zero", fileOffset + at + i);
                payload += lo + hi;
            }
            at += widthBytes;
            if (patch.Length - at < payload)
                throw new L3FormatException($"channel {c}: its groups need {payload} bytes but the patch has {patch.Length - at} left", fileOffset + patch.Length);
            at += payload;
        }
        if (at != patch.Length)
            throw new L3FormatException($"patch is {patch.Length} bytes but its channels take {at}", fileOffset + at);
    }
}
