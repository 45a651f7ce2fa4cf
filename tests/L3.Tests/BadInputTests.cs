using System.Buffers.Binary;
using CsCheck;
using L3.Kernels;
using L3.TestSupport;

namespace L3.Tests;

/// <summary>Bad files must end in L3FormatException: never another exception, never a read out of
/// range (spans are bounds-checked, so an out-of-range read would surface as another exception).</summary>
public class BadInputTests
{
    private static readonly byte[] Pixels = SyntheticImages.Make(Pattern.SmoothNoise, 37, 21, 3, 11);
    private static readonly byte[] Valid = L3Codec.Encode(Pixels, 37, 21, 3, new L3EncodeOptions { PatchSize = 8 });

    private static void AssertRejected(byte[] file, string because)
    {
        var e = Record.Exception(() => L3Codec.Decode(file));
        Assert.True(e is L3FormatException, $"{because}: expected L3FormatException, got {e?.GetType().Name ?? "success"}: {e}");
    }

    [Fact]
    public void Every_truncation_is_rejected()
    {
        for (int length = 0; length < Valid.Length; length++)
            AssertRejected(Valid[..length], $"truncated to {length} bytes");
        AssertRejected([.. Valid, 0], "one byte appended");
    }

    [Fact]
    public void Every_single_bit_flip_is_rejected()
    {
        for (int bit = 0; bit < Valid.Length * 8; bit++)
        {
            var file = (byte[])Valid.Clone();
            file[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertRejected(file, $"bit {bit} flipped");
        }
    }

    [Fact]
    public void Non_L3_input_is_rejected()
    {
        AssertRejected([], "empty");
        AssertRejected(File.ReadAllBytes(TestData.Images.First()), "a PNG file");
        AssertRejected(new byte[100], "zeros");
    }

    public static TheoryData<string, int, uint> HeaderFields() => new()
    {
        { "version 2", FileLayout.VersionOffset, 2 }, { "mode 2 (reserved)", FileLayout.ModeOffset, 2 },
        { "0 channels", FileLayout.ChannelsOffset, 0 }, { "2 channels", FileLayout.ChannelsOffset, 2 }, { "5 channels", FileLayout.ChannelsOffset, 5 },
        { "N = 0", FileLayout.PatchSizeOffset, 0 }, { "N = 12", FileLayout.PatchSizeOffset, 12 }, { "N = 128", FileLayout.PatchSizeOffset, 128 },
        { "reserved flags", FileLayout.FlagsOffset, 1 },
    };

    [Theory]
    [MemberData(nameof(HeaderFields))]
    public void Hostile_header_bytes_are_rejected_even_with_valid_checksums(string what, int offset, uint value)
    {
        var file = HostileFile.With(Valid, f => f[offset] = (byte)value);
        var e = Assert.Throws<L3FormatException>(() => L3Codec.Decode(file));
        Assert.Equal(offset, e.Offset);
        _ = what;
    }

    [Theory]
    [InlineData(0u, 21u)] [InlineData(37u, 0u)] [InlineData(1u << 21, 21u)] [InlineData(37u, uint.MaxValue)]
    [InlineData(1u << 20, 1u << 20)] [InlineData(uint.MaxValue, uint.MaxValue)]
    public void Huge_or_empty_dimensions_are_rejected_before_any_allocation(uint width, uint height)
    {
        var file = HostileFile.With(Valid, f =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(FileLayout.WidthOffset), width);
            BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(FileLayout.HeightOffset), height);
        });
        Assert.Throws<L3FormatException>(() => L3Codec.Decode(file));
        Assert.Throws<L3FormatException>(() => L3Codec.ReadHeader(file));
    }

    [Fact]
    public void Table_offsets_out_of_range_decreasing_or_overlapping_are_rejected()
    {
        var header = L3Codec.ReadHeader(Valid);
        void Offset(byte[] f, int i, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(FileLayout.TableEntryOffset(i)), v);
        AssertRejected(HostileFile.With(Valid, f => Offset(f, 0, 1)), "first offset not 0");
        AssertRejected(HostileFile.With(Valid, f => Offset(f, 2, 0)), "decreasing offsets");
        AssertRejected(HostileFile.With(Valid, f => Offset(f, 1, (uint)header.PayloadLength + 5)), "offset past the payload");
        AssertRejected(HostileFile.With(Valid, f => Offset(f, header.PatchCount, (uint)header.PayloadLength - 1)), "table not ending at the payload's end");
        // Two patches swapping their lengths: each patch's structure no longer adds up.
        AssertRejected(HostileFile.With(Valid, f => Offset(f, 1, header.PatchOffsets[1] + 3)), "a patch taking its neighbour's bytes");
        AssertRejected(HostileFile.With(Valid, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(FileLayout.PayloadLengthOffset), uint.MaxValue)), "payload length too large");
    }

    [Fact]
    public void Bad_patch_contents_are_rejected()
    {
        var header = L3Codec.ReadHeader(Valid);
        int patch0 = header.PayloadStart;
        // 8x8 patch, 3 channels: flags, then per channel a mask byte, 2 predictor bytes, widths, groups.
        AssertRejected(HostileFile.With(Valid, f => f[patch0] = 2), "unknown patch flag");
        Assert.Equal(0, Valid[patch0 + 1]); // noise: no zero rows, so 4 width bytes follow
        AssertRejected(HostileFile.With(Valid, f => f[patch0 + 1 + 1 + 2] = 0x09), "group width 9");
        AssertRejected(HostileFile.With(Valid, f => f[patch0 + 1 + 1 + 2] = 0xF0), "group width 15");
        AssertRejected(HostileFile.With(Valid, f => f[patch0 + 1] = 0x01), "a row turned zero: the widths no longer add up");

        var gray = L3Codec.Encode(SyntheticImages.Make(Pattern.Noise, 5, 5, 1, 1), 5, 5, 1, new L3EncodeOptions { PatchSize = 8 });
        int grayPatch = L3Codec.ReadHeader(gray).PayloadStart;
        AssertRejected(HostileFile.With(gray, f => f[grayPatch] = 1), "colour transform on one channel");
        // 5x5 gray: flags, mask (1 byte), predictors (2 bytes), widths (3 bytes: 5 nibbles and a pad), groups
        Assert.Equal(0, gray[grayPatch + 1]);
        AssertRejected(HostileFile.With(gray, f => f[grayPatch + 1] |= 0x80), "zero-row mask padding bits set");
        AssertRejected(HostileFile.With(gray, f => f[grayPatch + 1 + 2] |= 0x80), "predictor padding bits set");
        AssertRejected(HostileFile.With(gray, f => f[grayPatch + 1 + 1 + 2 + 2] |= 0x10), "width padding nibble set");
        // One channel: a width changed by one no longer adds up to the patch's length.
        AssertRejected(HostileFile.With(gray, f => f[grayPatch + 1 + 1 + 2] ^= 0x01), "widths no longer adding up");
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(4)]
    public void The_first_bad_patch_is_reported_on_any_number_of_threads(int threads)
    {
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 200, 120, 3, 4);
        var valid = L3Codec.Encode(pixels, 200, 120, 3, new L3EncodeOptions { PatchSize = 8 });
        var header = L3Codec.ReadHeader(valid);
        int Patch(int i) => header.PayloadStart + header.PatchRange(i).Start;
        // two bad patches far apart, so that different threads meet them: the first one is named
        var file = HostileFile.With(valid, f => { f[Patch(150)] = 2; f[Patch(300)] = 2; });
        var e = Assert.Throws<L3FormatException>(() => L3Codec.Decode(file, new L3DecodeOptions { MaxDegreeOfParallelism = threads }));
        Assert.Equal(Patch(150), e.Offset);
        Assert.Equal("patch flags 0x02 are not valid for 3 channel(s)", e.Reason);
        Assert.Equal($"{e.Reason} (at byte {e.Offset})", e.Message);
    }

    [Fact]
    public void Random_payload_edits_with_resealed_checksums_never_escape_as_other_exceptions()
    {
        var header = L3Codec.ReadHeader(Valid);
        Gen.Select(Gen.Int[header.PayloadStart, Valid.Length - 1], Gen.Byte, Gen.Int[1, 4]).Sample((at, value, count) =>
        {
            var file = HostileFile.With(Valid, f => { for (int i = 0; i < count && at + i < f.Length; i++) f[at + i] ^= (byte)(value | 1); });
            var e = Record.Exception(() => L3Codec.Decode(file));
            Assert.True(e is null or L3FormatException, $"edit at {at}: {e}");
            var r = Record.Exception(() => L3Codec.DecodeRegion(file, 3, 2, 30, 17));
            Assert.True(r is null or L3FormatException, $"region, edit at {at}: {r}");
        }, iter: 3000);
    }

    [Fact]
    public void Encoder_rejects_bad_shapes()
    {
        Assert.Throws<L3FormatException>(() => L3Codec.Encode(new byte[4], 2, 1, 2));
        Assert.Throws<L3FormatException>(() => L3Codec.Encode(new byte[4], 4, 1, 1, new L3EncodeOptions { PatchSize = 12 }));
        Assert.Throws<L3FormatException>(() => L3Codec.Encode([], 0, 1, 1));
        Assert.Throws<ArgumentException>(() => L3Codec.Encode(new byte[5], 2, 1, 3));
    }
}
