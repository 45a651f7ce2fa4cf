using L3.Cpu;
using L3.Kernels;

namespace L3.Simd.Tests;

/// <summary>
/// The zero-row mask (docs/FORMAT.md section 2): images whose rows are zero rows under each of the
/// four predictors, decoded and encoded on every path exactly as the scalar reference does.
/// </summary>
public class ZeroRowTests
{
    /// <summary>Rows that Top, Left, Gradient or TopRight predict exactly, mixed with noisy rows.</summary>
    private static byte[] Make(int w, int h, int channels, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[w * h * channels];
        for (int y = 0; y < h; y++)
        {
            int kind = rng.Next(6);
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                {
                    int i = (y * w + x) * channels + c;
                    int above = y > 0 ? pixels[i - w * channels] : 0;
                    int aboveRight = y > 0 ? pixels[((y - 1) * w + Math.Min(x + 1, w - 1)) * channels + c] : 0;
                    int aboveFirst = y > 0 ? pixels[(y - 1) * w * channels + c] : 0;
                    pixels[i] = kind switch
                    {
                        0 => (byte)above,          // Top (and Gradient)
                        1 => (byte)aboveFirst,     // Left
                        2 => (byte)aboveRight,     // TopRight
                        3 => (byte)(above + 3),    // a constant offset: Gradient codes one residual
                        4 => (byte)rng.Next(256),
                        _ => (byte)(x * 5 + c),
                    };
                }
        }
        return pixels;
    }

    [Theory]
    [MemberData(nameof(DecodePathTests.Paths), MemberType = typeof(DecodePathTests))]
    public void DecodeAndEncodeMatchTheReference(int pathValue)
    {
        var path = (CpuPath)pathValue;
        if (!CpuPaths.IsSupported(path)) return;
        int seed = 0;
        foreach (int channels in new[] { 1, 3, 4 })
            foreach (int n in new[] { 8, 16, 32, 64 })
                foreach (var (w, h) in new[] { (1, 1), (1, 70), (5, 9), (64, 64), (70, 65), (129, 33) })
                {
                    var pixels = Make(w, h, channels, seed++);
                    var reference = L3Codec.Encode(pixels, w, h, channels, new L3EncodeOptions { PatchSize = n, Path = CpuPath.Scalar });
                    var fast = L3Codec.Encode(pixels, w, h, channels, new L3EncodeOptions { PatchSize = n, Path = path });
                    Assert.True(reference.AsSpan().SequenceEqual(fast), $"{path} encode differs: {w}x{h}x{channels} N={n}");
                    var decoded = L3Codec.Decode(reference, new L3DecodeOptions { Path = path }).Pixels;
                    Assert.True(pixels.AsSpan().SequenceEqual(decoded), $"{path} decode differs: {w}x{h}x{channels} N={n}");
                }
    }

    [Fact]
    public void ZeroRowsAreWritten()
    {
        // a flat image: every row of every plane is a zero row, so each block is its mask and
        // predictor array only
        var pixels = new byte[64 * 64 * 3];
        var file = L3Codec.Encode(pixels, 64, 64, 3, new L3EncodeOptions { PatchSize = 64 });
        var header = L3Codec.ReadHeader(file);
        Assert.Equal(1 + 3 * (RowCoding.ZeroMaskBytes(64) + RowCoding.PredictorBytes(64)), file.Length - header.PayloadStart);
        Assert.All(file.AsSpan(header.PayloadStart + 1, 8).ToArray(), b => Assert.Equal(0xFF, b));
    }
}
