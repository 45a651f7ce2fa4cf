using L3.TestSupport;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace L3.Tests;

/// <summary>Allocation measurements are process-wide for the parallel paths: nothing else may run.</summary>
[CollectionDefinition(nameof(AllocationMeasurements), DisableParallelization = true)]
public sealed class AllocationMeasurements;

/// <summary>
/// A file may only make the decoder allocate what it has proved (docs/FORMAT.md, "Memory bound"):
/// before the header, table, checksums and every patch pass, nothing larger than a small multiple
/// of the input. Measured as bytes allocated, not time.
/// </summary>
[Collection(nameof(AllocationMeasurements))]
public class MemoryBoundTests
{
    /// <summary>What "a small multiple of the input" means here.</summary>
    private static long Bound(byte[] file) => 2L * file.Length + (64 << 10);

    private static long AllocatedOnThisThread(Action action)
    {
        action(); // once to warm up (JIT, statics), then measured
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static long AllocatedInProcess(Action action)
    {
        action();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        action();
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    private static Action Rejects(Action decode) => () => Assert.Throws<L3FormatException>(decode);

    [Fact]
    public void The_crafted_file_is_what_the_issue_describes()
    {
        var file = CraftedFiles.L3ClaimingHugeImage();
        Assert.Equal(262_188, file.Length);
        var header = L3Codec.ReadHeader(file); // the header and table are valid: only the patches are not
        Assert.Equal(1L << 30, header.DecodedBytes);
        Assert.Contains("patch is empty", Assert.Throws<L3FormatException>(() => L3Codec.Decode(file)).Message);
    }

    [Fact]
    public void Decode_and_verify_allocate_a_small_multiple_of_a_file_whose_patches_are_empty()
    {
        var file = CraftedFiles.L3ClaimingHugeImage();
        Assert.InRange(AllocatedOnThisThread(Rejects(() => L3Codec.Decode(file))), 0, Bound(file));
        Assert.InRange(AllocatedOnThisThread(Rejects(() => L3Codec.Verify(file))), 0, Bound(file));
        var pixels = new byte[16];
        Assert.InRange(AllocatedOnThisThread(() => Assert.ThrowsAny<Exception>(() => L3Codec.Decode(file, pixels))), 0, Bound(file));
    }

    [Fact]
    public void A_bad_payload_checksum_allocates_no_more()
    {
        var file = CraftedFiles.L3ClaimingHugeImage(payloadLength: 1000, sealPayload: false);
        Assert.Contains("payload checksum", Assert.Throws<L3FormatException>(() => L3Codec.Decode(file)).Message);
        Assert.InRange(AllocatedOnThisThread(Rejects(() => L3Codec.Decode(file))), 0, Bound(file));
        Assert.InRange(AllocatedOnThisThread(Rejects(() => L3Codec.Verify(file))), 0, Bound(file));
    }

    [Fact]
    public void Parallel_decode_and_decode_many_allocate_a_small_multiple_of_their_inputs()
    {
        var file = CraftedFiles.L3ClaimingHugeImage();
        Assert.InRange(AllocatedInProcess(Rejects(() => L3Codec.Decode(file, new L3DecodeOptions { MaxDegreeOfParallelism = 2 }))),
            0, Bound(file));
        var four = Enumerable.Repeat((ReadOnlyMemory<byte>)file, 4).ToArray();
        Assert.InRange(AllocatedInProcess(Rejects(() => L3Codec.DecodeMany(four))), 0, 4 * Bound(file));
    }

    [Fact]
    public void Verify_of_a_valid_file_never_holds_the_whole_image()
    {
        // 2048×2048 RGBA of one colour: a 400 KB file that decodes to 16 MiB
        const int side = 2048;
        var pixels = new byte[side * side * 4];
        pixels.AsSpan().Fill(0x80);
        var file = L3Codec.Encode(pixels, side, side, 4);
        Assert.True(file.Length * 20L < pixels.Length);
        Assert.Equal(side, L3Codec.Verify(file).Width);
        Assert.InRange(AllocatedOnThisThread(() => L3Codec.Verify(file)), 0, Bound(file));
    }

    [Fact]
    public void What_a_valid_file_decodes_to_is_within_the_documented_ratio_of_its_payload()
    {
        // the format's most compressible patch: N = 64, 4 channels, every row a zero row
        var pixels = new byte[64 * 64 * 4];
        var file = L3Codec.Encode(pixels, 64, 64, 4);
        var header = L3Codec.ReadHeader(file);
        Assert.Equal(97, header.PayloadLength); // 1 + 4 × (8 mask + 16 predictor bytes)
        Assert.True(header.DecodedBytes <= MaxDecodedPerPayloadByte * header.PayloadLength);
        Assert.True(header.DecodedBytes > (MaxDecodedPerPayloadByte - 1) * header.PayloadLength); // the bound is tight
    }

    /// <summary>docs/FORMAT.md, "Memory bound": decoded bytes ≤ 169 × payload bytes.</summary>
    private const int MaxDecodedPerPayloadByte = 169;
}
