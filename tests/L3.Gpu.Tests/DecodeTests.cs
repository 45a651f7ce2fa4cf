using ILGPU.Runtime;
using L3.TestSupport;
namespace L3.Gpu.Tests;

[Collection("gpu")]
public sealed class DecodeTests(CodecFixture fixture)
{
    private readonly L3.Gpu.L3GpuCodec _codec = fixture.Codec;

    public static TheoryData<int, int> PatchAndChannels()
    {
        var data = new TheoryData<int, int>();
        foreach (int n in new[] { 8, 16, 32, 64 })
            foreach (int c in new[] { 1, 3, 4 })
                data.Add(n, c);
        return data;
    }

    [Theory]
    [MemberData(nameof(PatchAndChannels))]
    public void RandomImagesDecodeBitExact(int n, int channels)
    {
        var rng = new Random(n * 10 + channels);
        // sizes not multiples of N, one-pixel rows and columns, and one batch of mixed shapes
        var shapes = n == 64
            ? new[] { (1, 1), (n + 3, n - 7), (9, 1), (1, 13) }
            : new[] { (1, 1), (n + 3, 2 * n - 1), (3 * n - 5, n + 1), (9, 1), (1, 13), (2 * n, n) };
        var originals = shapes.Select(s => (s.Item1, s.Item2, CodecFixture.RandomImage(rng, s.Item1, s.Item2, channels))).ToList();
        var files = originals.Select(o => (ReadOnlyMemory<byte>)L3Codec.Encode(o.Item3, o.Item1, o.Item2, channels,
            new L3EncodeOptions { PatchSize = n })).ToList();
        var images = _codec.Decode(files);
        for (int i = 0; i < images.Length; i++)
        {
            Assert.Equal(originals[i].Item1, images[i].Width);
            Assert.Equal(originals[i].Item2, images[i].Height);
            Assert.Equal(originals[i].Item3, images[i].Pixels);
        }
    }

    [Theory]
    [InlineData(8, 3)]
    [InlineData(16, 1)]
    [InlineData(32, 4)]
    [InlineData(64, 3)]
    public void WarpWideRowsTakeTheFastStoreBitExact(int n, int channels)
    {
        // 256 columns = one warp's patches side by side: whole patches use the warp-wide store;
        // the partial last patch row and the extra columns take the general one
        var rng = new Random(n + channels);
        var shapes = new[] { (256, n + n / 2), (261, n) };
        var originals = shapes.Select(s => CodecFixture.RandomImage(rng, s.Item1, s.Item2, channels)).ToList();
        var files = shapes.Select((s, i) => (ReadOnlyMemory<byte>)L3Codec.Encode(originals[i], s.Item1, s.Item2, channels,
            new L3EncodeOptions { PatchSize = n })).ToList();
        var images = _codec.Decode(files);
        for (int i = 0; i < images.Length; i++) Assert.Equal(originals[i], images[i].Pixels);
    }

    [Fact]
    public void BatchOfSameShapeDecodesIntoOneOutput()
    {
        var rng = new Random(5);
        var originals = Enumerable.Range(0, 5).Select(_ => CodecFixture.RandomImage(rng, 70, 40, 3)).ToList();
        var files = originals.Select(p => (ReadOnlyMemory<byte>)L3Codec.Encode(p, 70, 40, 3, new L3EncodeOptions { PatchSize = 32 })).ToList();
        using var batch = _codec.Prepare(files);
        Assert.Single(batch.Launches);
        var decoded = _codec.Decode(files);
        for (int i = 0; i < originals.Count; i++) Assert.Equal(originals[i], decoded[i].Pixels);
    }

    [Fact]
    public void DecodeManyOverlapsBatchesAndMatches()
    {
        var rng = new Random(6);
        var sets = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 2)
            .Select(_ => CodecFixture.RandomImage(rng, 40, 24, 4)).ToList()).ToList();
        var batches = sets.Select(set => _codec.Prepare(set.Select(p =>
            (ReadOnlyMemory<byte>)L3Codec.Encode(p, 40, 24, 4, new L3EncodeOptions { PatchSize = 16 })).ToList())).ToList();
        int seen = 0;
        _codec.DecodeMany(batches, (batch, output) =>
        {
            var host = new byte[batch.OutputBytes];
            output.SubView(0, batch.OutputBytes).CopyToCPU(host);
            var set = sets[batches.IndexOf(batch)];
            for (int i = 0; i < set.Count; i++)
                Assert.Equal(set[i], host.AsSpan((int)batch.Images[i].OutputOffset, set[i].Length).ToArray());
            seen++;
        });
        Assert.Equal(3, seen);
        foreach (var b in batches) b.Dispose();
    }

    [Fact]
    public void ReusedPageLockedBufferHoldsNothingOfTheLastBatch()
    {
        // a batch of noise, then a smaller batch of flat images (rows without widths read the
        // zero padding) in the same pooled buffer: what the first left must not show through
        var rng = new Random(8);
        var noise = Enumerable.Range(0, 6).Select(_ => (ReadOnlyMemory<byte>)L3Codec.Encode(
            CodecFixture.RandomImage(rng, 67, 33, 3), 67, 33, 3, new L3EncodeOptions { PatchSize = 16 })).ToList();
        using (var first = _codec.Prepare(noise)) _codec.UploadAndWait(first);
        var flat = new byte[21 * 13 * 3];
        Array.Fill(flat, (byte)77);
        var file = L3Codec.Encode(flat, 21, 13, 3, new L3EncodeOptions { PatchSize = 16 });
        using var second = _codec.Prepare([file]);
        Assert.True(second.PackedBytes < noise.Sum(f => f.Length));
        Assert.Equal(flat, _codec.Decode([file])[0].Pixels);
        _codec.UploadAndWait(second);
        _codec.Launch(second, 0);
        _codec.Synchronize();
        var host = new byte[flat.Length];
        _codec.Output(0).SubView(0, flat.Length).CopyToCPU(host);
        Assert.Equal(flat, host);
    }

    [Fact]
    public void RealImageDecodesBitExact()
    {
        var full = TestData.Read("photo-coffee.png");
        var image = Crop(full, 130, 75);
        var file = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = 64 });
        var decoded = _codec.Decode(file);
        Assert.Equal(image.Pixels, decoded.Pixels);
    }

    /// <summary>The top-left corner of an image (the CPU accelerator is slow; a corner is enough).</summary>
    internal static L3Image Crop(L3Image image, int width, int height)
    {
        var pixels = new byte[width * height * image.Channels];
        for (int y = 0; y < height; y++)
            image.Pixels.AsSpan(y * image.Stride, width * image.Channels).CopyTo(pixels.AsSpan(y * width * image.Channels));
        return new L3Image(width, height, image.Channels, pixels);
    }
}
