using L3.Cpu;
using L3.Imaging;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>Every vector decode path gives the scalar reference's bytes.</summary>
public class DecodePathTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<int> Paths()
    {
        var data = new TheoryData<int>();
        foreach (var p in new[] { CpuPath.Vector128, CpuPath.Vector256, CpuPath.Vector512 }) data.Add((int)p);
        return data;
    }

    private static byte[] DecodeWith(byte[] file, CpuPath path, int threads = 1)
    {
        var header = L3Codec.ReadHeader(file);
        var pixels = new byte[header.DecodedBytes];
        L3Codec.Decode(file, pixels, new L3DecodeOptions { Path = path, MaxDegreeOfParallelism = threads });
        return pixels;
    }

    private static void Check(byte[] file, byte[] original, CpuPath path)
    {
        var scalar = DecodeWith(file, CpuPath.Scalar);
        Assert.Equal(original, scalar);
        if (!CpuPaths.IsSupported(path)) return; // the ISA matrix script covers the other configurations
        Assert.Equal(scalar, DecodeWith(file, path));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Synthetic_images(int pathValue)
    {
        var path = (CpuPath)pathValue;
        int seed = 1;
        foreach (var kind in SyntheticImages.Patterns)
            foreach (int channels in new[] { 1, 3, 4 })
                foreach (int n in new[] { 8, 16, 32, 64 })
                    foreach (var (w, h) in new[] { (1, 1), (7, 3), (64, 64), (65, 63), (100, 37), (129, 70), (17, 130) })
                    {
                        var pixels = SyntheticImages.Make(kind, w, h, channels, seed++);
                        var file = L3Codec.Encode(pixels, w, h, channels, new L3EncodeOptions { PatchSize = n });
                        Check(file, pixels, path);
                    }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RandomShapes(int pathValue)
    {
        var path = (CpuPath)pathValue;
        var rng = new Random(42);
        for (int i = 0; i < 60; i++)
        {
            int w = rng.Next(1, 200), h = rng.Next(1, 150), channels = new[] { 1, 3, 4 }[rng.Next(3)];
            int n = new[] { 8, 16, 32, 64 }[rng.Next(4)];
            var kind = SyntheticImages.AnyPattern(rng);
            var pixels = SyntheticImages.Make(kind, w, h, channels, i);
            var file = L3Codec.Encode(pixels, w, h, channels, new L3EncodeOptions { PatchSize = n });
            Check(file, pixels, path);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RealImages(int pathValue)
    {
        var path = (CpuPath)pathValue;
        foreach (string file in TestData.Images)
        {
            var image = ImageFiles.Read(file);
            foreach (int n in new[] { 16, 64 })
            {
                var encoded = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = n });
                Check(encoded, image.Pixels, path);
            }
        }
    }

    [Fact]
    public void PatchParallelDecodeIsIdentical()
    {
        foreach (int threads in new[] { 2, 3, 8 })
            foreach (var (w, h, c) in new[] { (300, 200, 3), (64, 1000, 4), (1000, 64, 1), (5, 5, 3) })
            {
                var pixels = SyntheticImages.Make(Pattern.SmoothNoise, w, h, c, w + h);
                var file = L3Codec.Encode(pixels, w, h, c, new L3EncodeOptions { PatchSize = 32 });
                Assert.Equal(pixels, DecodeWith(file, CpuPath.Auto, threads));
                Assert.Equal(pixels, DecodeWith(file, CpuPath.Scalar, threads));
            }
    }

    [Fact]
    public void DecodeManyKeepsOrder()
    {
        var images = Enumerable.Range(0, 12).Select(i => SyntheticImages.Make(Pattern.Gradient, 50 + i, 40, 3, i)).ToArray();
        var files = images.Select((p, i) => (ReadOnlyMemory<byte>)L3Codec.Encode(p, 50 + i, 40, 3)).ToArray();
        var decoded = L3Codec.DecodeMany(files, 4);
        for (int i = 0; i < images.Length; i++) Assert.Equal(images[i], decoded[i].Pixels);
    }

    [Fact]
    public void RegionDecodeMatches()
    {
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 150, 90, 4, 3);
        var file = L3Codec.Encode(pixels, 150, 90, 4, new L3EncodeOptions { PatchSize = 32 });
        var region = L3Codec.DecodeRegion(file, 20, 30, 100, 50);
        for (int y = 0; y < 50; y++)
            Assert.Equal(pixels.AsSpan(((30 + y) * 150 + 20) * 4, 400).ToArray(), region.Pixels.AsSpan(y * 400, 400).ToArray());
    }

    [Fact]
    public void ReportsIsa()
    {
        // visible in the test log: which paths this process runs
        Assert.Contains(CpuPaths.Best, CpuPaths.Supported);
        output.WriteLine($"best path: {CpuPaths.Best}; supported: {string.Join(", ", CpuPaths.Supported)}");
    }
}
