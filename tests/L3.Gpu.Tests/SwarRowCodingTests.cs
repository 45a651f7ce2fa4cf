using L3.Kernels;

namespace L3.Gpu.Tests;

/// <summary>
/// The GPU decoder's three-planes-in-a-word rules (<see cref="SwarRowCoding"/>) against the scalar
/// rules of <see cref="RowCoding"/>, field by field, over every predictor combination and random
/// values at the bounds the kernel relies on.
/// </summary>
public sealed class SwarRowCodingTests
{
    private static uint Word(int f0, int f1, int f2) =>
        SwarRowCoding.Field((uint)f0, 0) | SwarRowCoding.Field((uint)f1, 1) | SwarRowCoding.Field((uint)f2, 2);

    [Fact]
    public void UnzigzagMatchesTheScalarRuleInEveryField()
    {
        var rng = new Random(1);
        for (int code = 0; code < 256; code++)
            for (int field = 0; field < 3; field++)
            {
                int[] codes = [rng.Next(256), rng.Next(256), rng.Next(256)];
                codes[field] = code;
                uint e = SwarRowCoding.Unzigzag(Word(codes[0], codes[1], codes[2]));
                for (int f = 0; f < 3; f++)
                    Assert.Equal(RowCoding.Unzigzag(codes[f]) & 0xFF, SwarRowCoding.FieldOf(e, f));
                Assert.Equal(e, SwarRowCoding.Clean(e));
            }
    }

    [Fact]
    public void BaseMatchesTheScalarRuleForEveryPredictorCombination()
    {
        var rng = new Random(2);
        for (int p = 0; p < 64; p++)
        {
            int[] predictors = [p & 3, (p >> 2) & 3, p >> 4];
            var masks = SwarRowCoding.Masks(Word(predictors[0], predictors[1], predictors[2]));
            for (int trial = 0; trial < 200; trial++)
            {
                int[] top = Values(rng), topRight = Values(rng), first = Values(rng);
                uint b = SwarRowCoding.Base(masks, Word(top[0], top[1], top[2]),
                    Word(topRight[0], topRight[1], topRight[2]), Word(first[0], first[1], first[2]));
                for (int f = 0; f < 3; f++)
                    Assert.Equal(RowCoding.Base(predictors[f], top[f], topRight[f], first[f]), SwarRowCoding.FieldOf(b, f));
                Assert.Equal(b, SwarRowCoding.Clean(b));
            }
        }
    }

    [Fact]
    public void PixelMatchesTheScalarRuleAtTheBoundsTheKernelUses()
    {
        // carry: a clean word; partial: a lane's running sum, up to 1,275 a field (cleaned after
        // 4 of the 8 residuals); residual: a clean word
        var rng = new Random(3);
        for (int p = 0; p < 64; p++)
        {
            int[] predictors = [p & 3, (p >> 2) & 3, p >> 4];
            var masks = SwarRowCoding.Masks(Word(predictors[0], predictors[1], predictors[2]));
            for (int trial = 0; trial < 300; trial++)
            {
                int[] baseValue = Values(rng), carry = Values(rng), residual = Values(rng);
                int[] partial = trial % 3 == 0 ? [1275, 1275, 1275] : [rng.Next(1276), rng.Next(1276), rng.Next(1276)];
                if (trial % 5 == 0) baseValue = carry = [255, 255, 255];
                uint v = SwarRowCoding.Pixel(masks, Word(baseValue[0], baseValue[1], baseValue[2]),
                    Word(carry[0], carry[1], carry[2]), Word(partial[0], partial[1], partial[2]),
                    Word(residual[0], residual[1], residual[2]));
                for (int f = 0; f < 3; f++)
                {
                    int running = RowCoding.Accumulates(predictors[f]) ? carry[f] + partial[f] : residual[f];
                    Assert.Equal(RowCoding.Reconstruct(baseValue[f], running), SwarRowCoding.FieldOf(v, f));
                }
                Assert.Equal(v, SwarRowCoding.Clean(v));
            }
        }
    }

    [Fact]
    public void EightCleanWordsAddWithoutCarryingBetweenFields()
    {
        // the lane's running sum and the segment scan add up to 8 clean words before cleaning
        var rng = new Random(4);
        for (int trial = 0; trial < 2000; trial++)
        {
            uint sum = 0;
            int[] expected = new int[3];
            int terms = 1 + rng.Next(8);
            for (int i = 0; i < terms; i++)
            {
                int[] v = trial % 7 == 0 ? [255, 255, 255] : Values(rng);
                sum += Word(v[0], v[1], v[2]);
                for (int f = 0; f < 3; f++) expected[f] += v[f];
            }
            for (int f = 0; f < 3; f++) Assert.Equal(expected[f] & 0xFF, SwarRowCoding.FieldOf(sum, f));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RestoreInterleavedGivesTheColourRestoredBytes(bool transform)
    {
        var rng = new Random(transform ? 5 : 6);
        for (int trial = 0; trial < 5000; trial++)
        {
            int[] planes = trial < 8 ? [trial * 36 % 256, 255, 255 - trial] : Values(rng);
            uint pixel = SwarRowCoding.RestoreInterleaved(Word(planes[0], planes[1], planes[2]),
                transform ? SwarRowCoding.RestorePlanes : 0u);
            int r = transform ? ColorTransform.Restore(planes[0], planes[1]) : planes[0];
            int b = transform ? ColorTransform.Restore(planes[2], planes[1]) : planes[2];
            Assert.Equal((uint)(r | planes[1] << 8 | b << 16), pixel);
        }
    }

    private static int[] Values(Random rng) => [rng.Next(256), rng.Next(256), rng.Next(256)];
}
