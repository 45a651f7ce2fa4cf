using L3.Cpu;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>
/// Patches that pass PatchFormat.Validate but that no encoder writes (random group bytes, so
/// non-zero codes past the row's width; random predictors): every vector path must still give the
/// scalar reference's bytes, and must read nothing outside the patch (the patch is decoded at the
/// very end of its buffer, the case that the decoder copies to a padded scratch).
/// </summary>
public class MutatedPatchTests
{
    [Theory]
    [MemberData(nameof(DecodePathTests.Paths), MemberType = typeof(DecodePathTests))]
    public unsafe void RandomGroupBytesAndPredictors(int pathValue)
    {
        var path = (CpuPath)pathValue;
        if (!CpuPaths.IsSupported(path)) return;
        var rng = new Random(pathValue);
        for (int trial = 0; trial < 300; trial++)
        {
            int channels = new[] { 1, 3, 4 }[rng.Next(3)];
            int w = rng.Next(1, 65), h = rng.Next(1, 65);
            var pixels = SyntheticImages.Make(SyntheticImages.AnyPattern(rng), w, h, channels, trial);
            var file = L3Codec.Encode(pixels, w, h, channels, new L3EncodeOptions { PatchSize = 64 });
            var header = L3Codec.ReadHeader(file);
            var patch = file.AsSpan(header.PayloadStart).ToArray(); // one patch: the whole payload
            Mutate(patch, w, h, channels, rng);
            PatchFormat.Validate(patch, w, h, channels, 0); // still valid

            var expected = new byte[w * h * channels];
            var actual = new byte[w * h * channels];
            fixed (byte* p = patch)
            fixed (byte* e = expected)
            fixed (byte* a = actual)
            {
                CpuDecoder.DecodePatchTo(p, patch.Length, patch.Length, w, h, channels, e, w * channels, CpuPath.Scalar);
                CpuDecoder.DecodePatchTo(p, patch.Length, patch.Length, w, h, channels, a, w * channels, path);
            }
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path}: {w}x{h}x{channels} trial {trial}");
        }
    }

    /// <summary>Randomizes the group bytes and the predictors of every row, zero rows included
    /// (keeping the padding bits zero), and
    /// sometimes sets the colour transform flag.</summary>
    private static void Mutate(byte[] patch, int w, int h, int channels, Random rng)
    {
        if (channels >= 3) patch[0] = (byte)rng.Next(2);
        int groups = (w + 7) / 8, maskBytes = (h + 7) / 8, predictorBytes = (h + 3) / 4;
        int at = 1;
        for (int c = 0; c < channels; c++)
        {
            // the zero-row mask stays (it fixes the layout); zero rows keep a random predictor too
            int codedRows = h;
            for (int i = 0; i < maskBytes; i++) codedRows -= System.Numerics.BitOperations.PopCount(patch[at + i]);
            int widthBytes = (codedRows * groups + 1) / 2;
            at += maskBytes;
            for (int i = 0; i < predictorBytes; i++)
            {
                int rows = Math.Min(4, h - 4 * i);
                patch[at + i] = (byte)(rng.Next(256) & ((1 << (2 * rows)) - 1));
            }
            at += predictorBytes;
            int payload = 0;
            for (int i = 0; i < widthBytes; i++) payload += (patch[at + i] & 0xF) + (patch[at + i] >> 4);
            at += widthBytes;
            for (int i = 0; i < payload; i++) patch[at + i] = (byte)rng.Next(256);
            at += payload;
        }
    }
}
