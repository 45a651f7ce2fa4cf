using System.Runtime.CompilerServices;
using ILGPU;

namespace L3.Kernels;

/// <summary>
/// The structure rule of a mode-1 patch (docs/FORMAT.md, 6.3 and 6.6), stated once for every path:
/// the CPU decoders' validation (<c>DensePatchDecoder.ValidateStructure</c>) and the loader's task
/// kernel (<see cref="PatchTaskKernel"/>) both run this code. Known flags; per channel block the
/// zero-row mask's and predictor array's padding zero; with a coded row, one coder state a lane and
/// an even stream to the end; without one, nothing after the arrays. The stream itself can only be
/// checked by decoding it (6.5).
/// </summary>
public static class DensePatchCheck
{
    /// <summary>The first fault of the patch, or none; <paramref name="anyCoded"/>: whether some
    /// channel has a coded row (so the patch has states and a stream).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PatchVerdict Check<TBytes>(TBytes patch, int width, int height, int channels, out bool anyCoded)
        where TBytes : IPatchBytes, allows ref struct
    {
        anyCoded = false;
        int length = patch.Length;
        int header = DenseLayout.PatchHeaderBytes(height, channels);
        if (length < header) return PatchVerdict.Of(PatchFault.EndsInHeader, 0, length, header);
        int flags = (int)patch.Byte(PatchLayout.FlagsOffset);
        if (!PatchLayout.AreValidFlags(flags, channels)) return PatchVerdict.Of(PatchFault.Flags, 0, 0, flags);
        int maskBytes = RowCoding.ZeroMaskBytes(height), predictorBytes = RowCoding.PredictorBytes(height);
        for (int c = 0; c < channels; c++)
        {
            int mask = PatchLayout.FlagsSize + c * (maskBytes + predictorBytes), predictors = mask + maskBytes;
            // the mask (1 to 8 bytes) as one integer: fewer set bits than rows is a coded row
            ulong rows = patch.Bytes(mask, maskBytes);
            if (height < 64 && (rows >> height) != 0) return PatchVerdict.Of(PatchFault.MaskPadding, c, mask + maskBytes - 1);
            if ((height & 3) != 0 && (patch.Byte(predictors + predictorBytes - 1) >> ((height & 3) * 2)) != 0)
                return PatchVerdict.Of(PatchFault.PredictorPadding, c, predictors + predictorBytes - 1);
            anyCoded |= IntrinsicMath.BitOperations.PopCount(rows) < height;
        }
        if (!anyCoded) return length != header ? PatchVerdict.Of(PatchFault.LengthMismatch, channels - 1, header, length - header) : default;
        int states = DenseLayout.Lanes(width) * DenseLayout.StateBytes;
        if (length < header + states) return PatchVerdict.Of(PatchFault.EndsInStates, 0, length, DenseLayout.Lanes(width));
        if (((length - header - states) & 1) != 0) return PatchVerdict.Of(PatchFault.OddStream, 0, length - 1);
        return default;
    }
}
