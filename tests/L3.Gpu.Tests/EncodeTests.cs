using L3.TestSupport;

namespace L3.Gpu.Tests;

/// <summary>The GPU encoder writes the very bytes the CPU encoder writes.</summary>
[Collection("gpu")]
public sealed class EncodeTests(CodecFixture fixture)
{
    private readonly L3.Gpu.L3GpuCodec _codec = fixture.Codec;

    [Theory]
    [MemberData(nameof(DecodeTests.PatchAndChannels), MemberType = typeof(DecodeTests))]
    public void RandomImagesEncodeByteIdentical(int n, int channels)
    {
        var rng = new Random(100 + n * 10 + channels);
        var shapes = n == 64
            ? new[] { (1, 1), (n + 3, n - 7), (9, 2) }
            : new[] { (1, 1), (n + 3, 2 * n - 1), (3 * n - 5, n + 1), (9, 1), (1, 13) };
        var images = shapes.Select(s => new L3Image(s.Item1, s.Item2, channels,
            CodecFixture.RandomImage(rng, s.Item1, s.Item2, channels))).ToList();
        var gpu = _codec.Encode(images, n);
        for (int i = 0; i < images.Count; i++)
            SameBytes(L3Codec.Encode(images[i], new L3EncodeOptions { PatchSize = n }), gpu[i]);
    }

    [Fact]
    public void BatchOfSameShapeEncodesByteIdentical()
    {
        var rng = new Random(9);
        var images = Enumerable.Range(0, 3).Select(_ => new L3Image(50, 20, 3, CodecFixture.RandomImage(rng, 50, 20, 3))).ToList();
        var gpu = _codec.Encode(images, 16);
        for (int i = 0; i < images.Count; i++)
            SameBytes(L3Codec.Encode(images[i], new L3EncodeOptions { PatchSize = 16 }), gpu[i]);
    }

    [Fact]
    public void RealImageEncodesByteIdentical()
    {
        var image = DecodeTests.Crop(TestData.Read("photo-coffee.png"), 130, 75);
        SameBytes(L3Codec.Encode(image, new L3EncodeOptions { PatchSize = 64 }), _codec.Encode([image], 64)[0]);
    }

    /// <summary>Byte equality that says where the files first differ (and in which patch), so
    /// that a mismatch can be traced to a kernel stage.</summary>
    private static void SameBytes(byte[] cpu, byte[] gpu)
    {
        int at = cpu.AsSpan().CommonPrefixLength(gpu);
        if (at == cpu.Length && cpu.Length == gpu.Length) return;
        string where = "header";
        try
        {
            var header = L3Header.Read(cpu);
            if (at >= header.PayloadStart)
                for (int p = 0; p < header.PatchCount; p++)
                {
                    var (start, length) = header.PatchRange(p);
                    if (at < header.PayloadStart + start + length) { where = $"patch {p} at byte {at - header.PayloadStart - start} of {length}"; break; }
                }
        }
        catch (L3FormatException) { }
        Assert.Fail($"GPU file differs from the CPU file at byte {at} ({where}); lengths {gpu.Length} vs {cpu.Length}");
    }
}
