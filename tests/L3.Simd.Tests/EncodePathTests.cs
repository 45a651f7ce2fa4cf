using L3.Cpu;
using L3.Imaging;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>Every vector encode path writes the reference encoder's exact bytes.</summary>
public class EncodePathTests
{
    private static byte[] EncodeWith(byte[] pixels, int w, int h, int c, int n, CpuPath path, int threads = 1) =>
        L3Codec.Encode(pixels, w, h, c, new L3EncodeOptions { PatchSize = n, Path = path, MaxDegreeOfParallelism = threads });

    private static void Check(byte[] pixels, int w, int h, int c, int n, CpuPath path)
    {
        var reference = EncodeWith(pixels, w, h, c, n, CpuPath.Scalar);
        if (!CpuPaths.IsSupported(path)) return;
        var fast = EncodeWith(pixels, w, h, c, n, path);
        Assert.True(reference.AsSpan().SequenceEqual(fast), $"{path} encode differs: {w}x{h}x{c} N={n}");
    }

    [Theory]
    [MemberData(nameof(DecodePathTests.Paths), MemberType = typeof(DecodePathTests))]
    public void Synthetic_images(int pathValue)
    {
        var path = (CpuPath)pathValue;
        int seed = 1000;
        foreach (var kind in SyntheticImages.Patterns)
            foreach (int channels in new[] { 1, 3, 4 })
                foreach (int n in new[] { 8, 16, 32, 64 })
                    foreach (var (w, h) in new[] { (1, 1), (2, 9), (7, 3), (64, 64), (65, 63), (100, 37), (129, 70), (17, 130) })
                        Check(SyntheticImages.Make(kind, w, h, channels, seed++), w, h, channels, n, path);
    }

    [Theory]
    [MemberData(nameof(DecodePathTests.Paths), MemberType = typeof(DecodePathTests))]
    public void RandomShapes(int pathValue)
    {
        var path = (CpuPath)pathValue;
        var rng = new Random(7);
        for (int i = 0; i < 60; i++)
        {
            int w = rng.Next(1, 200), h = rng.Next(1, 150), channels = new[] { 1, 3, 4 }[rng.Next(3)];
            int n = new[] { 8, 16, 32, 64 }[rng.Next(4)];
            Check(SyntheticImages.Make(SyntheticImages.AnyPattern(rng), w, h, channels, i), w, h, channels, n, path);
        }
    }

    [Theory]
    [MemberData(nameof(DecodePathTests.Paths), MemberType = typeof(DecodePathTests))]
    public void RealImages(int pathValue)
    {
        var path = (CpuPath)pathValue;
        foreach (string file in TestData.Images)
        {
            var image = ImageFiles.Read(file);
            foreach (int n in new[] { 16, 64 })
                Check(image.Pixels, image.Width, image.Height, image.Channels, n, path);
        }
    }

    [Fact]
    public void ParallelEncodeIsIdentical()
    {
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 300, 260, 3, 5);
        var one = EncodeWith(pixels, 300, 260, 3, 64, CpuPath.Auto);
        Assert.Equal(one, EncodeWith(pixels, 300, 260, 3, 64, CpuPath.Auto, 4));
        Assert.Equal(one, EncodeWith(pixels, 300, 260, 3, 64, CpuPath.Scalar));
    }

    [Fact]
    public void SpecExampleIsUnchanged()
    {
        // docs/FORMAT.md section 5: 1x1 gray 200, N = 8
        var file = L3Codec.Encode(new byte[] { 200 }, 1, 1, 1, new L3EncodeOptions { PatchSize = 8 });
        Assert.Equal(59, file.Length);
        // flags, zero-row mask, predictor array, width array, the group
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x07, 0x6F, 0, 0, 0, 0, 0, 0 }, file[^11..]);
    }
}
