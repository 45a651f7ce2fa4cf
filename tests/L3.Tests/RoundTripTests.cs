using CsCheck;
using L3.TestSupport;

namespace L3.Tests;

public class RoundTripTests
{
    private static readonly Gen<(int W, int H, int C, int N, Pattern Kind, int Seed)> Images =
        Gen.Select(Gen.Int[1, 300], Gen.Int[1, 300], Gen.OneOfConst(1, 3, 4), Gen.OneOfConst(8, 16, 32, 64),
            Gen.Enum<Pattern>(), Gen.Int);

    [Fact]
    public void Random_images_round_trip_bit_exactly()
    {
        Images.Sample(t =>
        {
            var pixels = SyntheticImages.Make(t.Kind, t.W, t.H, t.C, t.Seed);
            var file = L3Codec.Encode(pixels, t.W, t.H, t.C, new L3EncodeOptions { PatchSize = t.N });
            var image = L3Codec.Decode(file);
            Assert.Equal((t.W, t.H, t.C), (image.Width, image.Height, image.Channels));
            Assert.Equal(pixels, image.Pixels);
        }, iter: 150);
    }

    [Theory]
    [InlineData(1, 1)] [InlineData(1, 257)] [InlineData(257, 1)] [InlineData(65, 63)] [InlineData(8, 8)] [InlineData(129, 2)]
    public void Single_rows_columns_and_edges_round_trip(int width, int height)
    {
        foreach (int channels in new[] { 1, 3, 4 })
            foreach (int n in new[] { 8, 16, 32, 64 })
                foreach (var kind in SyntheticImages.Patterns)
                {
                    var pixels = SyntheticImages.Make(kind, width, height, channels, width * 31 + height);
                    var file = L3Codec.Encode(pixels, width, height, channels, new L3EncodeOptions { PatchSize = n });
                    Assert.Equal(pixels, L3Codec.Decode(file).Pixels);
                }
    }

    public static TheoryData<string> RealImages() => new(TestData.Images.Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(RealImages))]
    public void Real_images_round_trip_in_every_patch_size(string name)
    {
        var image = TestData.Read(name);
        foreach (int n in new[] { 8, 16, 32, 64 })
        {
            var file = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = n });
            var decoded = L3Codec.Decode(file);
            Assert.Equal(image.Channels, decoded.Channels);
            Assert.True(image.Pixels.AsSpan().SequenceEqual(decoded.Pixels), $"{name} at N={n} is not bit-exact");
        }
    }

    [Fact]
    public void Parallel_encoding_writes_the_same_bytes()
    {
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 300, 200, 3, 7);
        var one = L3Codec.Encode(pixels, 300, 200, 3, new L3EncodeOptions { PatchSize = 16 });
        var many = L3Codec.Encode(pixels, 300, 200, 3, new L3EncodeOptions { PatchSize = 16, MaxDegreeOfParallelism = 4 });
        Assert.Equal(one, many);
    }

    [Fact]
    public void Region_decode_equals_the_same_rectangle_of_a_full_decode()
    {
        Gen.Select(Images, Gen.Int, Gen.Int, Gen.Int, Gen.Int).Sample((t, a, b, c, d) =>
        {
            var pixels = SyntheticImages.Make(t.Kind, t.W, t.H, t.C, t.Seed);
            var file = L3Codec.Encode(pixels, t.W, t.H, t.C, new L3EncodeOptions { PatchSize = t.N });
            int x = (int)((uint)a % t.W), y = (int)((uint)b % t.H);
            int w = 1 + (int)((uint)c % (t.W - x)), h = 1 + (int)((uint)d % (t.H - y));
            var region = L3Codec.DecodeRegion(file, x, y, w, h, verifyChecksum: true);
            for (int row = 0; row < h; row++)
                Assert.True(pixels.AsSpan(((y + row) * t.W + x) * t.C, w * t.C).SequenceEqual(region.Pixels.AsSpan(row * w * t.C, w * t.C)));
        }, iter: 100);
    }

    [Fact]
    public void Region_decode_reads_only_the_patches_it_touches()
    {
        var pixels = SyntheticImages.Make(Pattern.Noise, 64, 16, 1, 3);
        var file = L3Codec.Encode(pixels, 64, 16, 1, new L3EncodeOptions { PatchSize = 16 });
        var header = L3Codec.ReadHeader(file);
        // Corrupt patch 3 (x 48..63) structurally; a region over patches 0..1 must still decode.
        var (start, _) = header.PatchRange(3);
        file[header.PayloadStart + start] = 0xFF;
        var region = L3Codec.DecodeRegion(file, 0, 0, 32, 16);
        Assert.Equal(pixels.Where((_, i) => i % 64 < 32), region.Pixels);
        Assert.Throws<L3FormatException>(() => L3Codec.DecodeRegion(file, 40, 0, 10, 4));
    }
}
