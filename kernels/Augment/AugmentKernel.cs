using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>
/// One sample of an output-stage launch: its decoded pixels, an interleaved region of
/// <see cref="SourceChannels"/> 8-bit channels at byte <see cref="Source"/> of the source buffer with
/// rows <see cref="Stride"/> bytes apart, the crop inside that region, and whether to flip.
/// </summary>
public struct AugmentSample
{
    public int Source, Stride, SourceChannels;
    public int CropX, CropY, CropWidth, CropHeight;
    public int Flip;
}

/// <summary>The output tensor of a launch: samples × channels × height × width, channels first or
/// last, and the per-channel normalization (<see cref="AugmentMath.Normalize"/>).</summary>
public struct AugmentOutput
{
    public int Width, Height, Channels, Samples, ChannelsLast;
    public float Mean0, Mean1, Mean2, Mean3, Scale0, Scale1, Scale2, Scale3;
}

/// <summary>
/// The loader's fused output stage: for each output pixel (<see cref="PixelsPerThread"/> a thread)
/// it reads its four neighbours in the decoded crop, interpolates every channel (<see cref="AugmentMath"/>), maps gray to 1 or 3
/// channels and drops or keeps alpha, normalizes, converts and writes straight into the batch
/// tensor. Nothing here checks: the host validated every crop against its region and every region
/// against the source buffer before the launch.
/// </summary>
public static class AugmentKernel
{
    /// <summary>Output pixels a thread writes, 32 apart in a row (a warp writes a run of <see cref="RunPixels"/>).</summary>
    public const int PixelsPerThread = 4;
    public const int RunPixels = 32 * PixelsPerThread;

    /// <summary>Threads of a launch for <paramref name="samples"/> outputs of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static long Threads(int samples, int width, int height) => (long)samples * height * ((width + RunPixels - 1) / RunPixels) * 32;

    /// <summary>The generic output stage: everything from the launch (<see cref="AnyOutput"/>).</summary>
    public static void Augment(
        Index1D index,
        ArrayView<byte> source,
        ArrayView<AugmentSample> samples,
        ArrayView<byte> outBytes,
        ArrayView<ushort> outHalves,
        ArrayView<float> outFloats,
        AugmentOutput output,
        SpecializedValue<int> typeValue) =>
        Augment<AnyOutput>(index, source, samples, outBytes, outHalves, outFloats, output, typeValue);

    /// <summary>
    /// The output stage with what <typeparamref name="TOutput"/> fixes (size, channels, type, layout,
    /// normalization) as constants, the rest from <paramref name="output"/> and <paramref name="typeValue"/>:
    /// a generated profile's fused kernel. The host checks that a launch's values equal the shape's.
    /// </summary>
    public static void Augment<TOutput>(
        Index1D index,
        ArrayView<byte> source,
        ArrayView<AugmentSample> samples,
        ArrayView<byte> outBytes,
        ArrayView<ushort> outHalves,
        ArrayView<float> outFloats,
        AugmentOutput output,
        SpecializedValue<int> typeValue)
        where TOutput : struct, IAugmentShape
    {
        int type = AugmentShape.Type<TOutput>(typeValue.Value);
        int width = AugmentShape.Width<TOutput>(output.Width), height = AugmentShape.Height<TOutput>(output.Height);
        bool channelsLast = AugmentShape.ChannelsLast<TOutput>(output.ChannelsLast);
        int pixels = width * height;
        // thread i: lane i mod 32 of run i / 32; a run is RunPixels pixels of one output row, which
        // the warp's lanes write PixelsPerThread times side by side (stores stay coalesced), so the
        // row, sample and vertical weights are worked out once for four pixels
        int runs = (width + RunPixels - 1) / RunPixels;
        int run = index >> 5, lane = index & 31;
        int s = run / (runs * height);
        if (s >= output.Samples) return;
        int rowRun = run - s * runs * height;
        int oy = rowRun / runs, first = (rowRun - oy * runs) * RunPixels + lane;
        var p = samples[s];

        int cs = p.SourceChannels;
        // A crop of the output's size (full images, centre crops without resize) samples every
        // neighbour at weight 0: s = o exactly, so the value is the pixel × 2^22, as the bilinear
        // formula gives, without its two 64-bit divisions a pixel (the stage's cost on full images).
        bool identity = p.CropWidth == width && p.CropHeight == height;
        int y0 = oy, fy = 0;
        if (!identity)
        {
            long fys = AugmentMath.SourceCoordinate(oy, p.CropHeight, height);
            y0 = (int)(fys >> AugmentMath.WeightBits);
            fy = (int)(fys & (AugmentMath.WeightOne - 1));
        }
        int y1 = y0 + 1 < p.CropHeight ? y0 + 1 : p.CropHeight - 1;
        int row0 = p.Source + (p.CropY + y0) * p.Stride, row1 = p.Source + (p.CropY + y1) * p.Stride;
        int channels = AugmentShape.Channels<TOutput>(output.Channels);

        for (int k = 0; k < PixelsPerThread; k++)
        {
            int ox = first + k * 32;
            if (ox >= width) return;
            int sx = p.Flip != 0 ? width - 1 - ox : ox;
            int x0 = sx, fx = 0;
            if (!identity)
            {
                long fxs = AugmentMath.SourceCoordinate(sx, p.CropWidth, width);
                x0 = (int)(fxs >> AugmentMath.WeightBits);
                fx = (int)(fxs & (AugmentMath.WeightOne - 1));
            }
            int x1 = x0 + 1 < p.CropWidth ? x0 + 1 : p.CropWidth - 1;
            int col0 = (p.CropX + x0) * cs, col1 = (p.CropX + x1) * cs;
            int pixel = oy * width + ox;
            for (int c = 0; c < channels; c++)
            {
                int sc = cs == 1 ? 0 : c;
                int v = identity
                    ? source[row0 + col0 + sc] << AugmentMath.ValueBits
                    : AugmentMath.Interpolate(source[row0 + col0 + sc], source[row0 + col1 + sc], source[row1 + col0 + sc], source[row1 + col1 + sc], fx, fy);
                int at = channelsLast ? (s * pixels + pixel) * channels + c : (s * channels + c) * pixels + pixel;
                if (type == AugmentMath.UInt8)
                {
                    outBytes[at] = (byte)AugmentMath.ToByte(v);
                    continue;
                }
                float f = AugmentMath.Normalize(v, AugmentShape.Mean<TOutput>(c, output), AugmentShape.Scale<TOutput>(c, output));
                if (type == AugmentMath.Float32) outFloats[at] = f;
                else if (type == AugmentMath.Float16) outHalves[at] = (ushort)AugmentMath.ToHalfBits(f);
                else outHalves[at] = (ushort)AugmentMath.ToBFloat16Bits(f);
            }
        }
    }
}
