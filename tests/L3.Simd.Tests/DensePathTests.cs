using CsCheck;
using L3.Cpu;
using L3.Dense;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>
/// Dense mode (coding mode 1) on every CPU path: the vector decoder gives the scalar reference's
/// pixels and rejects exactly the streams the reference rejects, and every encoder path writes the
/// same bytes. Paths this process cannot run are skipped here and run by tests/run-isa-matrix.sh.
/// </summary>
public class DensePathTests
{
    private static IEnumerable<CpuPath> VectorPaths =>
        new[] { CpuPath.Vector128, CpuPath.Vector256, CpuPath.Vector512 }.Where(CpuPaths.IsSupported);

    private static byte[] Encode(byte[] pixels, int w, int h, int c, int n, CpuPath path) =>
        L3Codec.Encode(pixels, w, h, c, new L3EncodeOptions { Mode = L3CodingMode.Dense, PatchSize = n, Path = path });

    private static byte[] Decode(byte[] file, CpuPath path)
    {
        var pixels = new byte[L3Codec.ReadHeader(file).DecodedBytes];
        L3Codec.Decode(file, pixels, new L3DecodeOptions { Path = path });
        return pixels;
    }

    private static void CheckEveryPath(byte[] pixels, int w, int h, int c, int n)
    {
        var reference = Encode(pixels, w, h, c, n, CpuPath.Scalar);
        Assert.Equal(pixels, Decode(reference, CpuPath.Scalar));
        foreach (var path in VectorPaths)
        {
            Assert.True(reference.AsSpan().SequenceEqual(Encode(pixels, w, h, c, n, path)), $"the {path} encoder writes other bytes ({w}x{h}x{c}, N = {n})");
            Assert.True(pixels.AsSpan().SequenceEqual(Decode(reference, path)), $"the {path} decoder gives other pixels ({w}x{h}x{c}, N = {n})");
        }
    }

    [Fact]
    public void Random_images_are_coded_alike_on_every_path()
    {
        Gen.Select(Gen.Int[1, 150], Gen.Int[1, 150], Gen.OneOfConst(1, 3, 4), Gen.OneOfConst(8, 16, 32, 64), Gen.Int[0, 1_000_000])
            .Sample((w, h, c, n, seed) =>
            {
                var pattern = SyntheticImages.AnyPattern(new Random(seed));
                CheckEveryPath(SyntheticImages.Make(pattern, w, h, c, seed), w, h, c, n);
            }, iter: 80);
    }

    /// <summary>
    /// Whole images on the Vector512 path with groups of at most 1, 2 and 4 patches (each forced in
    /// turn), against the reference: patch counts that leave remainders (a pair or a single patch
    /// after the groups of 4, edge patches of other sizes), flat patches with no coded row beside
    /// coded ones, 1, 3 and 4 channels, N 8 to 64.
    /// </summary>
    [Fact]
    public void Groups_of_patches_decode_as_the_reference()
    {
        if (!CpuPaths.IsSupported(CpuPath.Vector512)) return;
        Gen.Select(Gen.Int[1, 7], Gen.Int[1, 4], Gen.Int[0, 7], Gen.OneOfConst(1, 3, 4), Gen.OneOfConst(8, 16, 32, 64), Gen.Int[0, 1_000_000])
            .Sample((patchesX, patchesY, edge, c, n, seed) =>
            {
                // patchesX full columns, then an edge column `edge` pixels wide when edge > 0
                int w = patchesX * n + edge * n / 8, h = patchesY * n - (seed & 1) * (n / 4);
                var pattern = SyntheticImages.AnyPattern(new Random(seed));
                var pixels = SyntheticImages.Make(pattern, w, h, c, seed);
                var file = Encode(pixels, w, h, c, n, CpuPath.Scalar);
                int largest = DenseFileDecoder.LargestGroup;
                try
                {
                    foreach (int group in new[] { 1, 2, 4 })
                    {
                        DenseFileDecoder.LargestGroup = group;
                        Assert.True(pixels.AsSpan().SequenceEqual(Decode(file, CpuPath.Vector512)),
                            $"groups of {group}: other pixels ({w}x{h}x{c}, N = {n}, pattern {pattern})");
                    }
                }
                finally { DenseFileDecoder.LargestGroup = largest; }
            }, iter: 60);
    }

    /// <summary>
    /// A patch whose stream holds one word more than its lanes read (the file otherwise valid, both
    /// checksums right): every path refuses it with the reference's words, in a group of 4 or 2 and
    /// alone (the group checks its cursors against each patch's end after its last row).
    /// </summary>
    [Fact]
    public void A_stream_with_a_word_left_unread_is_refused_on_every_path()
    {
        const int w = 256, h = 128, c = 3, n = 64; // 8 patches: two groups of 4
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, w, h, c, seed: 7);
        var valid = Encode(pixels, w, h, c, n, CpuPath.Scalar);
        var header = L3Codec.ReadHeader(valid);
        var tables = valid.AsSpan(header.PayloadStart, header.TablesLength).ToArray();
        foreach (int longer in new[] { 0, 3, 5, 7 })
        {
            var patches = new List<ArraySegment<byte>>();
            for (int i = 0; i < header.PatchCount; i++)
            {
                var (start, length) = header.PatchRange(i);
                var patch = valid.AsSpan(header.PayloadStart + start, length).ToArray();
                patches.Add(i == longer ? [.. patch, 0x5A, 0xA5] : patch);
            }
            var file = L3Header.Assemble(w, h, c, n, patches, L3CodingMode.Dense, tables);
            var reference = Assert.Throws<L3FormatException>(() => Decode(file, CpuPath.Scalar));
            Assert.Contains("unread words", reference.Message);
            int largest = DenseFileDecoder.LargestGroup;
            try
            {
                foreach (var path in VectorPaths)
                    foreach (int group in new[] { 1, 2, 4 })
                    {
                        DenseFileDecoder.LargestGroup = group;
                        var e = Assert.Throws<L3FormatException>(() => Decode(file, path));
                        Assert.Equal(reference.Message, e.Message);
                    }
            }
            finally { DenseFileDecoder.LargestGroup = largest; }
        }
    }

    public static TheoryData<string> RealImages() => new(TestData.Images.Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(RealImages))]
    public void Real_images_are_coded_alike_on_every_path(string name)
    {
        var image = TestData.Read(name);
        foreach (int n in new[] { 64, 16 })
            CheckEveryPath(image.Pixels, image.Width, image.Height, image.Channels, n);
    }

    /// <summary>
    /// Random byte changes in the patches (and now and then in the tables) of valid files, each patch
    /// decoded alone and then the whole image (no checksum stands in the way; on the Vector512 path
    /// patches go in groups of up to 4): the reference and every vector decoder either both throw
    /// L3FormatException or both give the same pixels. The last patch ends the file, so its words are
    /// read from a padded copy.
    /// </summary>
    [Fact]
    public void Mutated_streams_are_rejected_or_decoded_alike()
    {
        var rng = new Random(16);
        int rejected = 0, decoded = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            int w = rng.Next(1, 140), h = rng.Next(1, 140), c = new[] { 1, 3, 4 }[rng.Next(3)], n = new[] { 8, 16, 32, 64 }[rng.Next(4)];
            var pixels = SyntheticImages.Make(SyntheticImages.AnyPattern(rng), w, h, c, trial);
            var file = Encode(pixels, w, h, c, n, CpuPath.Scalar);
            var header = L3Codec.ReadHeader(file);
            int from = rng.Next(10) == 0 ? header.PayloadStart : header.PayloadStart + header.TablesLength;
            if (from >= file.Length) continue;
            for (int k = rng.Next(1, 4); k > 0; k--) file[rng.Next(from, file.Length)] ^= (byte)rng.Next(1, 256);

            DenseTables tables;
            try { tables = DenseFileDecoder.ReadTables(file, header); }
            catch (L3FormatException) { continue; } // one reading of the tables serves every decoder
            for (int index = 0; index < header.PatchCount; index++)
            {
                var rect = header.PatchRect(index);
                var expected = DecodePatch(file, header, tables, index, CpuPath.Scalar);
                foreach (var path in VectorPaths)
                {
                    var actual = DecodePatch(file, header, tables, index, path);
                    Assert.True(expected is null == actual is null,
                        $"trial {trial} patch {index} ({rect.Width}x{rect.Height}x{c}) on {path}: the reference {(expected is null ? "rejects" : "decodes")} it, the vector decoder does not");
                    if (expected is not null) Assert.True(expected.AsSpan().SequenceEqual(actual), $"trial {trial} patch {index} on {path}: other pixels");
                }
                if (expected is null) rejected++; else decoded++;
            }
            // the whole image: the Vector512 path decodes patches in groups
            var whole = DecodeAll(file, header, tables, CpuPath.Scalar);
            foreach (var path in VectorPaths)
            {
                var actual = DecodeAll(file, header, tables, path);
                Assert.True(whole is null == actual is null, $"trial {trial} ({w}x{h}x{c}, N = {n}) on {path}: the reference {(whole is null ? "rejects" : "decodes")} the image, the vector decoder does not");
                if (whole is not null) Assert.True(whole.AsSpan().SequenceEqual(actual), $"trial {trial} on {path}: other pixels");
            }
        }
        Assert.True(rejected > 50 && decoded > 50, $"{rejected} patches rejected, {decoded} decoded: the mutations should give many of both");
    }

    /// <summary>The image's pixels, or null when the decoder rejects a patch with L3FormatException.</summary>
    private static byte[]? DecodeAll(byte[] file, L3Header header, DenseTables tables, CpuPath path)
    {
        var pixels = new byte[header.DecodedBytes];
        try
        {
            DenseFileDecoder.DecodeAll(file, header, tables, pixels, 1, path);
            return pixels;
        }
        catch (L3FormatException) { return null; }
    }

    /// <summary>The patch's pixels, or null when the decoder rejects it with L3FormatException.</summary>
    private static byte[]? DecodePatch(byte[] file, L3Header header, DenseTables tables, int index, CpuPath path)
    {
        var rect = header.PatchRect(index);
        var dest = new byte[rect.Width * rect.Height * header.Channels];
        try
        {
            DenseFileDecoder.DecodePatch(file, header, tables, index, dest, rect.Width * header.Channels, path);
            return dest;
        }
        catch (L3FormatException) { return null; }
    }
}
