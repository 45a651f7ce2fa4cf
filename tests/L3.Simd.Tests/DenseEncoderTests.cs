using CsCheck;
using L3.Cpu;
using L3.Dense;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>
/// The dense encoder's fast paths against its plain ones: the AVX-512 maker of a row's entries
/// (<see cref="DenseStepRows.Vector512Row"/>, <see cref="DenseStepRows.Vector512Symbols"/>) against the
/// scalar one on every width, and the AVX-512 coder, two patches at once, against the scalar coder on
/// images whose patches differ in what they code. Skipped where AVX-512 VBMI is missing (the ISA
/// matrix then runs the scalar side alone).
/// </summary>
public class DenseEncoderTests
{
    [Fact]
    public unsafe void Vector512_entries_are_the_scalar_entries()
    {
        if (!DenseStepRows.IsVector512Supported) return;
        byte* row = stackalloc byte[128], above = stackalloc byte[128];
        uint* expected = stackalloc uint[DenseStepRows.Entries], actual = stackalloc uint[DenseStepRows.Entries];
        ushort* symbols = stackalloc ushort[DenseStepRows.Entries];
        var random = new Random(16);
        for (int w = 1; w <= 64; w++)
        {
            var shape = new DenseStepRows.Shape(w);
            for (int trial = 0; trial < 60; trial++)
            {
                // small codes (the common case), any code (every token, sums up to 4·255) and the
                // first row (no row above)
                int codeLimit = trial % 3 == 0 ? 256 : 24, aboveLimit = trial % 2 == 0 ? 256 : 48;
                for (int i = 0; i < 128; i++)
                {
                    row[i] = (byte)random.Next(codeLimit);
                    above[i] = (byte)random.Next(aboveLimit);
                }
                byte* rowAbove = trial % 5 == 0 ? null : above;
                DenseStepRows.Scalar(row, rowAbove, w, expected);
                DenseStepRows.Vector512Row(row, rowAbove, shape, actual);
                DenseStepRows.Vector512Symbols(row, rowAbove, shape, symbols, 16);
                for (int i = 0; i < DenseStepRows.Entries; i++)
                {
                    Assert.True(expected[i] == actual[i], $"entry {i} of a row {w} wide: {actual[i]:X} instead of {expected[i]:X}");
                    Assert.Equal((expected[i] & DenseStepRows.SymbolMask) * 16, symbols[i]);
                }
            }
        }
    }

    private static byte[] Encode(byte[] pixels, int w, int h, int c, int n, CpuPath path) =>
        L3Codec.Encode(pixels, w, h, c, new L3EncodeOptions { Mode = L3CodingMode.Dense, PatchSize = n, Path = path });

    /// <summary>Patches side by side that code nothing (flat), a few rows (sparse) or every row
    /// (noise), in runs of odd and even length, with an edge column of patches: the pairs the AVX-512
    /// coder forms have different coded rows, and some patch ends alone.</summary>
    [Fact]
    public void Patches_coded_in_pairs_are_the_scalar_path_bytes()
    {
        if (!CpuPaths.IsSupported(CpuPath.Vector512) || !DenseStepRows.IsVector512Supported) return;
        Gen.Select(Gen.Int[1, 4], Gen.OneOfConst(1, 3, 4), Gen.OneOfConst(8, 16, 32, 64), Gen.Int[0, 1_000_000])
            .Sample((patchRows, c, n, seed) =>
            {
                var random = new Random(seed);
                int patchesX = random.Next(1, 8), w = patchesX * n - random.Next(0, n), h = patchRows * n - random.Next(0, n);
                var kinds = new[] { Pattern.Constant, Pattern.Sparse, Pattern.Noise, Pattern.Bands, Pattern.SmoothNoise };
                var pixels = new byte[w * h * c];
                for (int py = 0; py * n < h; py++)
                    for (int px = 0; px * n < w; px++)
                    {
                        int pw = Math.Min(n, w - px * n), ph = Math.Min(n, h - py * n);
                        var patch = SyntheticImages.Make(kinds[random.Next(kinds.Length)], pw, ph, c, random.Next());
                        for (int y = 0; y < ph; y++)
                            patch.AsSpan(y * pw * c, pw * c).CopyTo(pixels.AsSpan(((py * n + y) * w + px * n) * c));
                    }
                var reference = Encode(pixels, w, h, c, n, CpuPath.Scalar);
                Assert.True(reference.AsSpan().SequenceEqual(Encode(pixels, w, h, c, n, CpuPath.Vector512)),
                    $"the Vector512 encoder writes other bytes ({w}x{h}x{c}, N = {n})");
                Assert.Equal(pixels, L3Codec.Decode(reference).Pixels);
            }, iter: 60);
    }
}
