using L3.TestSupport;

namespace L3.Gpu.Tests;

/// <summary>The planar (CHW) output of the decode kernel: exactly the CPU decoder's interleaved
/// pixels, transposed, for every N and channel count, at edges and in warp-wide rows.</summary>
[Collection("gpu")]
public sealed class PlanarTests(CodecFixture fixture)
{
    private readonly L3GpuCodec _codec = fixture.Codec;

    [Theory]
    [MemberData(nameof(DecodeTests.PatchAndChannels), MemberType = typeof(DecodeTests))]
    public void PlanarIsTheInterleavedImageTransposed(int n, int channels)
    {
        var rng = new Random(100 + n * 10 + channels);
        // widths that are and are not multiples of 8 (8-byte stores or byte stores), partial patches
        var shapes = new[] { (1, 1), (n + 3, n - 1 + (n == 8 ? 2 : 0)), (2 * n, n + 5), (256, 3) };
        var originals = shapes.Select(s => CodecFixture.RandomImage(rng, s.Item1, s.Item2, channels)).ToList();
        var files = shapes.Select((s, i) => (ReadOnlyMemory<byte>)L3Codec.Encode(originals[i], s.Item1, s.Item2, channels,
            new L3EncodeOptions { PatchSize = n })).ToList();
        var planes = _codec.DecodePlanar(files);
        for (int i = 0; i < shapes.Length; i++)
            Assert.Equal(Transpose(originals[i], shapes[i].Item1, shapes[i].Item2, channels), planes[i]);
    }

    [Fact]
    public void RealImagePlanarMatchesTheCpuDecoder()
    {
        var image = DecodeTests.Crop(TestData.Read("photo-coffee.png"), 136, 70);
        var file = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = 64 });
        var cpu = L3Codec.Decode(file);
        Assert.Equal(Transpose(cpu.Pixels, cpu.Width, cpu.Height, cpu.Channels), _codec.DecodePlanar([file])[0]);
    }

    /// <summary>HWC → CHW on the host: the reference the kernel's planar output must equal.</summary>
    private static byte[] Transpose(byte[] interleaved, int width, int height, int channels)
    {
        var planar = new byte[interleaved.Length];
        for (int p = 0; p < width * height; p++)
            for (int c = 0; c < channels; c++)
                planar[c * width * height + p] = interleaved[p * channels + c];
        return planar;
    }
}
