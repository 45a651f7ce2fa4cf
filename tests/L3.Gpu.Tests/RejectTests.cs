namespace L3.Gpu.Tests;

/// <summary>Bad files are refused on the host, with the CPU path's L3FormatException, before any launch.</summary>
[Collection("gpu")]
public sealed class RejectTests(CodecFixture fixture)
{
    private readonly L3.Gpu.L3GpuCodec _codec = fixture.Codec;

    private static byte[] GoodFile(int n = 16) =>
        L3Codec.Encode(CodecFixture.RandomImage(new Random(1), 37, 21, 3), 37, 21, 3, new L3EncodeOptions { PatchSize = n });

    [Fact]
    public void TruncatedFileIsRejected()
    {
        var file = GoodFile();
        var e = Assert.Throws<L3FormatException>(() => _codec.Prepare([file, file.AsMemory(0, file.Length - 1)]));
        // the CPU path's reason and offset, with the file named once and the offset said once
        var cpu = Assert.Throws<L3FormatException>(() => L3Codec.Decode(file.AsSpan(0, file.Length - 1)));
        Assert.Equal($"file 1: {cpu.Reason}", e.Reason);
        Assert.Equal(cpu.Offset, e.Offset);
        Assert.Equal($"file 1: {cpu.Message}", e.Message);
    }

    [Fact]
    public void CorruptPayloadIsRejectedByChecksum()
    {
        var file = GoodFile();
        file[^3] ^= 0x55;
        Assert.Throws<L3FormatException>(() => _codec.Decode(file));
    }

    [Fact]
    public void BadWidthNibbleIsRejectedWithoutChecksum()
    {
        // a structurally bad patch (width nibble 9) with a payload checksum that is not checked:
        // Validate must still refuse it before the kernel reads it
        var file = GoodFile();
        var header = L3Header.Read(file);
        var (start, _) = header.PatchRange(0);
        int widthArray = header.PayloadStart + start + 1 + L3.Kernels.RowCoding.ZeroMaskBytes(16) + RowCodingPredictorBytes(16);
        file[widthArray] = 0x99;
        Assert.Throws<L3FormatException>(() => _codec.Prepare([file], verifyChecksum: false));
    }

    [Fact]
    public void WrongMagicIsRejected()
    {
        var file = GoodFile();
        file[0] = (byte)'X';
        Assert.Throws<L3FormatException>(() => _codec.Prepare([file]));
    }

    private static int RowCodingPredictorBytes(int rows) => L3.Kernels.RowCoding.PredictorBytes(rows);
}
