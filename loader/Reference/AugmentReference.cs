using System.Buffers.Binary;
using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// The scalar CPU reference of the output stage: what a sample's tensor is, pixel by pixel. The GPU
/// stage (<see cref="AugmentKernel"/>) must equal it byte for byte; its arithmetic is
/// <see cref="AugmentMath"/> (fixed-point bilinear with half-pixel centres, no antialias).
/// </summary>
public static class AugmentReference
{
    /// <summary>Bytes of one sample's tensor for an image of the given size.</summary>
    public static long SampleBytes(AugmentOptions options, int width, int height)
    {
        var (ow, oh) = options.OutputSize(width, height);
        return (long)ow * oh * options.Channels * options.ElementBytes;
    }

    /// <summary>
    /// Writes sample <paramref name="image"/>'s tensor for crop <paramref name="box"/> into
    /// <paramref name="destination"/> (little-endian elements): output channel c of pixel (ox, oy)
    /// interpolates the crop at column (flip ? W−1−ox : ox) and row oy from source channel
    /// (gray ? 0 : c), then is rounded to a byte or normalized and converted.
    /// </summary>
    public static void Apply(L3Image image, CropBox box, AugmentOptions options, Span<byte> destination)
    {
        options.Validate();
        if (!options.Accepts(image.Channels))
            throw new ArgumentException($"an image of {image.Channels} channel(s) cannot give {options.Channels}");
        if (box.X < 0 || box.Y < 0 || box.Width < 1 || box.Height < 1 || box.X + box.Width > image.Width || box.Y + box.Height > image.Height)
            throw new ArgumentException($"crop {box} lies outside the {image.Width}x{image.Height} image");
        var (width, height) = options.OutputSize(image.Width, image.Height);
        int channels = options.Channels, cs = image.Channels, elementBytes = options.ElementBytes;
        if (destination.Length < SampleBytes(options, image.Width, image.Height))
            throw new ArgumentException("destination is too small", nameof(destination));
        var pixels = image.Pixels;
        for (int oy = 0; oy < height; oy++)
        {
            long fys = AugmentMath.SourceCoordinate(oy, box.Height, height);
            int y0 = (int)(fys >> AugmentMath.WeightBits), fy = (int)(fys & (AugmentMath.WeightOne - 1));
            int y1 = Math.Min(y0 + 1, box.Height - 1);
            for (int ox = 0; ox < width; ox++)
            {
                int sx = box.Flip ? width - 1 - ox : ox;
                long fxs = AugmentMath.SourceCoordinate(sx, box.Width, width);
                int x0 = (int)(fxs >> AugmentMath.WeightBits), fx = (int)(fxs & (AugmentMath.WeightOne - 1));
                int x1 = Math.Min(x0 + 1, box.Width - 1);
                for (int c = 0; c < channels; c++)
                {
                    int sc = cs == 1 ? 0 : c;
                    int Pixel(int x, int y) => pixels[((long)(box.Y + y) * image.Width + box.X + x) * cs + sc];
                    int v = AugmentMath.Interpolate(Pixel(x0, y0), Pixel(x1, y0), Pixel(x0, y1), Pixel(x1, y1), fx, fy);
                    long element = options.Layout == TensorLayout.ChannelsLast
                        ? ((long)oy * width + ox) * channels + c
                        : ((long)c * height + oy) * width + ox;
                    var at = destination[(int)(element * elementBytes)..];
                    if (options.Type == OutputType.UInt8)
                    {
                        at[0] = (byte)AugmentMath.ToByte(v);
                        continue;
                    }
                    var (mean, scale) = options.Normalization(c);
                    float f = AugmentMath.Normalize(v, mean, scale);
                    switch (options.Type)
                    {
                        case OutputType.Float32: BinaryPrimitives.WriteSingleLittleEndian(at, f); break;
                        case OutputType.Float16: BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)AugmentMath.ToHalfBits(f)); break;
                        default: BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)AugmentMath.ToBFloat16Bits(f)); break;
                    }
                }
            }
        }
    }

    /// <summary>A sample's tensor as a new array (<see cref="Apply"/>).</summary>
    public static byte[] Apply(L3Image image, CropBox box, AugmentOptions options)
    {
        var bytes = new byte[SampleBytes(options, image.Width, image.Height)];
        Apply(image, box, options, bytes);
        return bytes;
    }
}
