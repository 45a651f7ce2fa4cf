using L3.TestSupport;

namespace L3.Tests;

/// <summary>However many threads decode, a bad file ends in its L3FormatException itself, the same
/// one a single thread meets first (never an AggregateException).</summary>
public class ParallelFailureTests
{
    /// <summary>From the fuzzing campaign (issue 12): 58 bytes, a 9×1 gray image of N = 8 whose
    /// second patch has flags 0x02.</summary>
    private static readonly byte[] BadSecondPatch = Convert.FromHexString(
        "4c33494601000108090000000100000000000000060000000d0c1b6e795507c40000000003000000060000000eb2240dceef8b46000100020100");

    private static readonly byte[] Pixels = SyntheticImages.Make(Pattern.SmoothNoise, 100, 70, 3, 5);
    private static readonly byte[] Valid = L3Codec.Encode(Pixels, 100, 70, 3, new L3EncodeOptions { PatchSize = 8 });

    /// <summary>A copy of <see cref="Valid"/> whose patch <paramref name="patch"/> has bad flags.</summary>
    private static byte[] WithBadPatch(int patch) => HostileFile.With(Valid, f =>
    {
        var header = L3Codec.ReadHeader(Valid);
        f[header.PayloadStart + header.PatchRange(patch).Start] = 0x80;
    });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(-1)]
    public void A_bad_file_throws_its_L3FormatException_on_any_number_of_threads(int threads)
    {
        var e = Assert.Throws<L3FormatException>(() => L3Codec.Decode(BadSecondPatch, new L3DecodeOptions { MaxDegreeOfParallelism = threads }));
        Assert.Equal(55, e.Offset);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Several_bad_patches_report_the_first_in_patch_order_as_one_thread_does(int threads)
    {
        var header = L3Codec.ReadHeader(Valid);
        var file = HostileFile.With(Valid, f =>
        {
            foreach (int patch in new[] { header.PatchCount - 1, 40, 7, 60 })
                f[header.PayloadStart + header.PatchRange(patch).Start] = 0x80;
        });
        var single = Assert.Throws<L3FormatException>(() => L3Codec.Decode(file));
        for (int run = 0; run < 20; run++)
        {
            var parallel = Assert.Throws<L3FormatException>(() => L3Codec.Decode(file, new L3DecodeOptions { MaxDegreeOfParallelism = threads }));
            Assert.Equal(single.Offset, parallel.Offset);
        }
        Assert.Equal(header.PayloadStart + header.PatchRange(7).Start, single.Offset);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(-1)]
    public void DecodeMany_throws_the_first_bad_file_in_input_order(int threads)
    {
        var first = WithBadPatch(3);
        var second = WithBadPatch(9);
        var files = new ReadOnlyMemory<byte>[] { Valid, Valid, first, Valid, second, Valid };
        var expected = Assert.Throws<L3FormatException>(() => L3Codec.Decode(first));
        for (int run = 0; run < 10; run++)
        {
            var e = Assert.Throws<L3FormatException>(() => L3Codec.DecodeMany(files, threads));
            Assert.Equal(expected.Offset, e.Offset);
        }
        Assert.Throws<L3FormatException>(() => L3Codec.DecodeMany([Valid, BadSecondPatch, Valid], threads));
    }
}
