using L3.Qoi;
using L3.Imaging;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>The from-spec QOI port used as the speed reference round-trips and writes the spec's chunks.</summary>
public class QoiTests
{
    [Fact]
    public void SpecChunks()
    {
        // one pixel equal to the initial previous pixel (0,0,0,255): a run of 1
        var run = QoiCodec.Encode(new byte[] { 0, 0, 0, 255 }, 1, 1, 4);
        Assert.Equal("qoif"u8.ToArray(), run[..4]);
        Assert.Equal(new byte[] { 0, 0, 0, 1, 0, 0, 0, 1, 4, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0, 1 }, run[4..]);
        // (1,0,0): QOI_OP_DIFF with dr = 1, dg = db = 0 -> 0b01_11_10_10
        Assert.Equal(0x7A, QoiCodec.Encode(new byte[] { 1, 0, 0 }, 1, 1, 3)[14]);
        // (20,30,25): dg = 30, dr - dg = -10: QOI_OP_RGB
        Assert.Equal(new byte[] { 0xFE, 20, 30, 25 }, QoiCodec.Encode(new byte[] { 20, 30, 25 }, 1, 1, 3)[14..18]);
        // (10,12,11): dg = 12, dr - dg = -2, db - dg = -1: QOI_OP_LUMA
        Assert.Equal(new byte[] { 0x80 | 44, (6 << 4) | 7 }, QoiCodec.Encode(new byte[] { 10, 12, 11 }, 1, 1, 3)[14..16]);
        // alpha change: QOI_OP_RGBA; then the first colour again: QOI_OP_INDEX
        var rgba = QoiCodec.Encode(new byte[] { 5, 6, 7, 8, 0, 0, 0, 0, 5, 6, 7, 8 }, 3, 1, 4);
        Assert.Equal(new byte[] { 0xFF, 5, 6, 7, 8 }, rgba[14..19]);
        int hash = (5 * 3 + 6 * 5 + 7 * 7 + 8 * 11) % 64;
        Assert.Equal(hash, rgba[^9] & 0x3F);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void RoundTripsSynthetic(int channels)
    {
        var rng = new Random(channels);
        foreach (var kind in SyntheticImages.Patterns)
            for (int i = 0; i < 5; i++)
            {
                int w = rng.Next(1, 300), h = rng.Next(1, 100);
                var pixels = SyntheticImages.Make(kind, w, h, channels, i);
                var decoded = QoiCodec.Decode(QoiCodec.Encode(pixels, w, h, channels));
                Assert.Equal((w, h, channels), (decoded.Width, decoded.Height, decoded.Channels));
                Assert.Equal(pixels, decoded.Pixels);
            }
    }

    [Fact]
    public void RoundTripsRealImages()
    {
        foreach (string file in TestData.Images)
        {
            var image = ImageFiles.Read(file);
            if (image.Channels == 1) continue;
            Assert.Equal(image.Pixels, QoiCodec.Decode(QoiCodec.Encode(image.Pixels, image.Width, image.Height, image.Channels)).Pixels);
        }
    }
}
