using CsCheck;
using L3.Kernels;
using L3.TestSupport;

namespace L3.Tests;

/// <summary>Coding mode 1 (dense): round trips through the scalar reference, the file's structure,
/// and bad input (truncations, bit flips of tables, states and streams with the checksums resealed).</summary>
public class DenseModeTests
{
    private static readonly L3EncodeOptions Dense = new() { Mode = L3CodingMode.Dense };

    private static readonly Gen<(int W, int H, int C, int N, Pattern Kind, int Seed)> Images =
        Gen.Select(Gen.Int[1, 200], Gen.Int[1, 200], Gen.OneOfConst(1, 3, 4), Gen.OneOfConst(8, 16, 32, 64),
            Gen.Enum<Pattern>(), Gen.Int);

    [Fact]
    public void Random_images_round_trip_bit_exactly()
    {
        Images.Sample(t =>
        {
            var pixels = SyntheticImages.Make(t.Kind, t.W, t.H, t.C, t.Seed);
            var file = L3Codec.Encode(pixels, t.W, t.H, t.C, Dense with { PatchSize = t.N });
            Assert.Equal(L3CodingMode.Dense, L3Codec.ReadHeader(file).Mode);
            Assert.Equal(pixels, L3Codec.Decode(file).Pixels);
        }, iter: 120);
    }

    [Theory]
    [InlineData(1, 1)] [InlineData(1, 257)] [InlineData(257, 1)] [InlineData(65, 63)] [InlineData(8, 8)] [InlineData(129, 2)] [InlineData(3, 70)]
    public void Single_rows_columns_and_edges_round_trip(int width, int height)
    {
        foreach (int channels in new[] { 1, 3, 4 })
            foreach (int n in new[] { 8, 16, 32, 64 })
                foreach (var kind in SyntheticImages.Patterns)
                {
                    var pixels = SyntheticImages.Make(kind, width, height, channels, width * 31 + height);
                    var file = L3Codec.Encode(pixels, width, height, channels, Dense with { PatchSize = n });
                    Assert.Equal(pixels, L3Codec.Decode(file).Pixels);
                }
    }

    public static TheoryData<string> RealImages() => new(TestData.Images.Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(RealImages))]
    public void Real_images_round_trip_and_are_smaller_than_mode_0(string name)
    {
        var image = TestData.Read(name);
        foreach (int n in new[] { 16, 64 })
        {
            var file = L3Codec.Encode(image, Dense with { PatchSize = n });
            Assert.True(image.Pixels.AsSpan().SequenceEqual(L3Codec.Decode(file).Pixels), $"{name} at N={n} is not bit-exact");
            Assert.True(image.Pixels.AsSpan().SequenceEqual(L3Codec.Decode(file, new L3DecodeOptions { MaxDegreeOfParallelism = 2 }).Pixels));
            int rows = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = n }).Length;
            Assert.True(file.Length < rows, $"{name} at N={n}: dense {file.Length} bytes, rows {rows}");
        }
    }

    [Fact]
    public void Parallel_encoding_writes_the_same_bytes()
    {
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 300, 200, 3, 7);
        var one = L3Codec.Encode(pixels, 300, 200, 3, Dense with { PatchSize = 16 });
        var many = L3Codec.Encode(pixels, 300, 200, 3, Dense with { PatchSize = 16, MaxDegreeOfParallelism = 4 });
        Assert.Equal(one, many);
    }

    [Fact]
    public void Region_decode_and_verify_agree_with_the_full_decode()
    {
        Gen.Select(Images, Gen.Int, Gen.Int, Gen.Int, Gen.Int).Sample((t, a, b, c, d) =>
        {
            var pixels = SyntheticImages.Make(t.Kind, t.W, t.H, t.C, t.Seed);
            var file = L3Codec.Encode(pixels, t.W, t.H, t.C, Dense with { PatchSize = t.N });
            L3Codec.Verify(file);
            int x = (int)((uint)a % t.W), y = (int)((uint)b % t.H);
            int w = 1 + (int)((uint)c % (t.W - x)), h = 1 + (int)((uint)d % (t.H - y));
            var region = L3Codec.DecodeRegion(file, x, y, w, h, verifyChecksum: true);
            for (int row = 0; row < h; row++)
                Assert.True(pixels.AsSpan(((y + row) * t.W + x) * t.C, w * t.C).SequenceEqual(region.Pixels.AsSpan(row * w * t.C, w * t.C)));
        }, iter: 60);
    }

    /// <summary>
    /// Tables written from random token counts read back as written: each used table's frequencies
    /// (those <see cref="L3.Dense.DenseTables.Normalize"/> gives) and cumulative frequencies, which tables
    /// are used, and every slot's token. Counts of 1 give frequencies of 1, whose field ends in no
    /// extra bits, so some sections end on such a field at their last byte's end.
    /// </summary>
    [Fact]
    public void Tables_read_back_as_written()
    {
        Gen.Select(Gen.OneOfConst(1, 3, 4), Gen.Int).Sample((channels, seed) =>
        {
            var random = new Random(seed);
            int tables = DenseLayout.TableCount(channels);
            var counts = new long[tables * DenseLayout.TokenCount];
            for (int table = 0; table < tables; table++)
            {
                if (random.Next(4) == 0) continue; // unused
                int used = random.Next(1, DenseLayout.TokenCount + 1);
                for (int t = 0; t < used; t++)
                    counts[table * DenseLayout.TokenCount + t] = random.Next(3) == 0 ? random.Next(2) : random.Next(1, 5000);
                counts[table * DenseLayout.TokenCount + used - 1] = random.Next(1, 3);
            }
            var section = L3.Dense.DenseTables.Write(counts, channels);
            var read = L3.Dense.DenseTables.Read(section, channels, fileOffset: 0);
            Span<int> frequencies = stackalloc int[DenseLayout.TokenCount];
            for (int table = 0; table < tables; table++)
            {
                int used = L3.Dense.DenseTables.Normalize(counts.AsSpan(table * DenseLayout.TokenCount, DenseLayout.TokenCount), frequencies);
                Assert.Equal(used > 0, read.IsUsed(table));
                int cumulative = 0;
                for (int t = 0; t < DenseLayout.TokenCount; t++)
                {
                    uint entry = read.FrequencyCumulative[table * L3.Dense.DenseTables.TokenStride + t];
                    int frequency = t < used ? frequencies[t] : 0;
                    Assert.Equal(frequency, (int)(entry & 0xFFFF));
                    if (frequency > 0) Assert.Equal(cumulative, (int)(entry >> 16));
                    for (int slot = cumulative; slot < cumulative + frequency; slot++)
                        Assert.Equal(t, read.SlotTokens[table * DenseLayout.ProbabilityTotal + slot]);
                    cumulative += frequency;
                }
                if (used == 0)
                    Assert.Equal(L3.Dense.DenseTables.NoToken, read.SlotTokens[table * DenseLayout.ProbabilityTotal + random.Next(DenseLayout.ProbabilityTotal)]);
            }
        }, iter: 400);
    }

    [Fact]
    public void Token_and_raw_bits_give_back_every_code()
    {
        for (int code = 0; code < 256; code++)
        {
            int token = DenseCoding.TokenOf(code);
            Assert.InRange(token, 0, DenseLayout.TokenCount - 1);
            Assert.Equal(code, DenseCoding.CodeOf(token, DenseCoding.RawOf(code, token)));
        }
    }

    [Fact]
    public void Contexts_follow_the_spec()
    {
        // docs/FORMAT.md 6.4: s below 2 is its own context, then half steps of its bit length, at most 14
        int[] expected = [0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8];
        for (int s = 0; s < expected.Length; s++) Assert.Equal(expected[s], DenseCoding.ContextOfSum(s));
        Assert.Equal(14, DenseCoding.ContextOfSum(1020));
        Assert.Equal(DenseLayout.FirstRowContext, DenseCoding.Context(true, 255, 255, 255));
    }

    // ---- bad input ----

    private static readonly byte[] Pixels = SyntheticImages.Make(Pattern.SmoothNoise, 37, 21, 3, 11);
    private static readonly byte[] Valid = L3Codec.Encode(Pixels, 37, 21, 3, Dense with { PatchSize = 16 });

    /// <summary>A malformed file must end in L3FormatException; a resealed file with a changed stream
    /// may also decode (to other pixels): what it must never do is throw anything else, or hang.</summary>
    private static bool Rejects(byte[] file, bool mayDecode)
    {
        var e = Record.Exception(() => L3Codec.Decode(file));
        if (e is null && mayDecode) return false;
        Assert.True(e is L3FormatException, $"expected L3FormatException, got {e?.GetType().Name ?? "success"}: {e}");
        var v = Record.Exception(() => L3Codec.Verify(file));
        Assert.True(v is L3FormatException, $"Verify: expected L3FormatException, got {v?.GetType().Name ?? "success"}: {v}");
        return true;
    }

    [Fact]
    public void Every_truncation_and_every_unsealed_bit_flip_is_rejected()
    {
        for (int length = 0; length < Valid.Length; length++) Rejects(Valid[..length], mayDecode: false);
        for (int bit = 0; bit < Valid.Length * 8; bit++)
        {
            var file = (byte[])Valid.Clone();
            file[bit / 8] ^= (byte)(1 << (bit % 8));
            Rejects(file, mayDecode: false);
        }
    }

    [Fact]
    public void Resealed_bit_flips_of_tables_states_and_streams_are_rejected_or_decode_safely()
    {
        var header = L3Codec.ReadHeader(Valid);
        int payload = header.PayloadStart;
        int rejected = 0, flips = 0;
        for (int bit = payload * 8; bit < Valid.Length * 8; bit++, flips++)
            if (Rejects(HostileFile.With(Valid, f => f[bit / 8] ^= (byte)(1 << (bit % 8))), mayDecode: true)) rejected++;
        // nearly every flip is caught: a table's sum, a state that does not end at L, a stream that ends early or is left over
        Assert.True(rejected > flips * 9 / 10, $"only {rejected} of {flips} flips were rejected");
        // every flip inside the tables is caught
        for (int bit = payload * 8; bit < (payload + header.TablesLength) * 8; bit++)
            Assert.True(Rejects(HostileFile.With(Valid, f => f[bit / 8] ^= (byte)(1 << (bit % 8))), mayDecode: true), $"table bit {bit - payload * 8} flip decoded");
    }

    [Fact]
    public void Random_bytes_in_a_resealed_payload_are_rejected_or_decode_safely()
    {
        var header = L3Codec.ReadHeader(Valid);
        Gen.Int[header.PayloadStart, Valid.Length - 1].Select(Gen.Byte).Sample((at, value) =>
        {
            Rejects(HostileFile.With(Valid, f => f[at] = value), mayDecode: true);
        }, iter: 500);
    }

    [Fact]
    public void An_unknown_mode_is_refused()
    {
        var file = HostileFile.With(Valid, f => f[FileLayout.ModeOffset] = 2);
        var e = Assert.Throws<L3FormatException>(() => L3Codec.Decode(file));
        Assert.Equal(FileLayout.ModeOffset, e.Offset);
    }

    [Fact]
    public void A_failed_decode_leaves_no_pixels_in_the_destination()
    {
        // the last word of the last patch changed: found only while decoding
        var file = HostileFile.With(Valid, f => f[^1] ^= 0x5A);
        var pixels = new byte[Pixels.Length];
        Array.Fill(pixels, (byte)7);
        var e = Record.Exception(() => L3Codec.Decode(file, pixels));
        if (e is null) return; // this flip happened to decode
        Assert.IsType<L3FormatException>(e);
        Assert.DoesNotContain(pixels, p => p != 0);
    }
}
