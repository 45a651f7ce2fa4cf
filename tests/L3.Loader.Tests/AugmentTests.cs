using System.Buffers.Binary;
using L3.Kernels;
using L3.Loading;

namespace L3.Loader.Tests;

/// <summary>The augmentation's definition: the arithmetic, the crops and the CPU reference.</summary>
public class AugmentTests
{
    private static IEnumerable<float> Floats()
    {
        var random = new Random(3);
        for (int i = 0; i < 200_000; i++) yield return BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32));
        for (uint bits = 0x33000000; bits < 0x48000000; bits += 0x1FF) yield return BitConverter.UInt32BitsToSingle(bits); // the half range, ties included
        foreach (float f in new[] { 0f, -0f, 65504f, 65519.99f, 65520f, 65536f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f,
                     float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -2.1179f, 2.64f })
            yield return f;
    }

    [Fact]
    public void HalfConversionIsRoundToNearestEvenLikeSystemHalf()
    {
        foreach (float f in Floats())
        {
            if (float.IsNaN(f)) { Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf((ushort)AugmentMath.ToHalfBits(f)))); continue; }
            Assert.True(BitConverter.HalfToUInt16Bits((Half)f) == AugmentMath.ToHalfBits(f), $"{f:R} (0x{BitConverter.SingleToUInt32Bits(f):X8})");
        }
    }

    [Fact]
    public void BFloat16ConversionIsRoundToNearestEven()
    {
        foreach (float f in Floats())
        {
            // beyond the largest bfloat16 the next step up is infinity, which this reference cannot weigh
            if (float.IsNaN(f) || float.IsInfinity(f) || Math.Abs(f) > 3.3e38f) continue;
            uint bits = BitConverter.SingleToUInt32Bits(f);
            uint down = bits >> 16, up = down + 1;
            double exact = f, below = BitConverter.UInt32BitsToSingle(down << 16), above = BitConverter.UInt32BitsToSingle(up << 16);
            double dBelow = Math.Abs(exact - below), dAbove = Math.Abs(above - exact);
            uint expected = dBelow < dAbove ? down : dAbove < dBelow ? up : (down & 1) == 0 ? down : up;
            Assert.True(expected == AugmentMath.ToBFloat16Bits(f), $"{f:R}");
        }
    }

    [Theory]
    [InlineData(17, 17)]
    [InlineData(1000, 224)]
    [InlineData(13, 224)]
    [InlineData(1, 5)]
    [InlineData(2048, 224)]
    public void FixedPointSourceCoordinatesAreHalfPixelCentresRoundedDown(int crop, int output)
    {
        for (int o = 0; o < output; o++)
        {
            double s = Math.Max(0, (o + 0.5) * crop / output - 0.5);
            long fixedPoint = AugmentMath.SourceCoordinate(o, crop, output);
            Assert.Equal((long)Math.Floor(s * AugmentMath.WeightOne), fixedPoint);
            Assert.InRange(fixedPoint >> AugmentMath.WeightBits, 0, crop - 1);
        }
    }

    [Fact]
    public void InterpolationIsWithinABitOfFloatBilinear()
    {
        var random = new Random(5);
        for (int i = 0; i < 100_000; i++)
        {
            int p00 = random.Next(256), p01 = random.Next(256), p10 = random.Next(256), p11 = random.Next(256);
            double ex = random.NextDouble(), ey = random.NextDouble();
            int fx = (int)(ex * AugmentMath.WeightOne), fy = (int)(ey * AugmentMath.WeightOne);
            double wx = (double)fx / AugmentMath.WeightOne, wy = (double)fy / AugmentMath.WeightOne;
            double exact = (1 - wy) * ((1 - wx) * p00 + wx * p01) + wy * ((1 - wx) * p10 + wx * p11);
            int v = AugmentMath.Interpolate(p00, p01, p10, p11, fx, fy);
            Assert.Equal(exact, v / (double)(1 << AugmentMath.ValueBits), 9);  // exact at the quantized weights
            Assert.Equal(Math.Floor(exact + 0.5), AugmentMath.ToByte(v));
        }
    }

    [Fact]
    public void RandomResizedCropsFollowTorchvisionsRanges()
    {
        var options = new AugmentOptions();
        int fallbacks = 0;
        for (long sample = 0; sample < 2000; sample++)
        {
            var box = CropBox.Choose(options, 640, 480, 11, 0, sample);
            Assert.Equal(box, CropBox.Choose(options, 640, 480, 11, 0, sample));
            Assert.True(box.X >= 0 && box.Y >= 0 && box.Width >= 1 && box.Height >= 1 && box.X + box.Width <= 640 && box.Y + box.Height <= 480, box.ToString());
            double area = (double)box.Width * box.Height / (640 * 480), ratio = (double)box.Width / box.Height;
            if (box == new CropBox(0, 0, 640, 480, box.Flip)) { fallbacks++; continue; }
            // sides are rounded, so area and ratio hold to a pixel
            Assert.InRange(area, 0.08 - 0.01, 1.0);
            Assert.InRange(ratio, 3.0 / 4 * 0.97, 4.0 / 3 * 1.03);
        }
        Assert.True(fallbacks < 20);
        Assert.NotEqual(CropBox.Choose(options, 640, 480, 11, 0, 1), CropBox.Choose(options, 640, 480, 11, 1, 1));
        // half the samples flip
        int flips = Enumerable.Range(0, 2000).Count(s => CropBox.Choose(options, 640, 480, 11, 0, s).Flip);
        Assert.InRange(flips, 900, 1100);
    }

    [Fact]
    public void AnImageTooThinForTheRatiosFallsBackToTheCentredCropOfTheNearestRatio()
    {
        var options = new AugmentOptions { ScaleMin = 0.9 };
        // 1000 × 10: no crop of area ≥ 0.9 fits a ratio ≤ 4/3, so the fallback: height 10, width round(10 × 4/3) = 13
        var box = CropBox.Choose(options, 1000, 10, 1, 0, 0);
        Assert.Equal((493, 0, 13, 10), (box.X, box.Y, box.Width, box.Height));
    }

    [Fact]
    public void CentreCropIsResize256ThenCentreCrop224()
    {
        var options = new AugmentOptions { Crop = CropMode.Center, RandomFlip = false };
        Assert.Equal(new CropBox(16, 16, 224, 224, false), CropBox.Choose(options, 256, 256, 0, 0, 0));
        Assert.Equal(new CropBox(112, 16, 224, 224, false), CropBox.Choose(options, 448, 256, 0, 0, 0));
    }

    [Theory]
    [InlineData(TensorLayout.ChannelsFirst)]
    [InlineData(TensorLayout.ChannelsLast)]
    public void FullUInt8IsTheImageItselfAndTheFlipMirrorsIt(TensorLayout layout)
    {
        var image = TestFiles.Image(37, 23, 3, 1);
        var options = new AugmentOptions { Crop = CropMode.Full, Type = OutputType.UInt8, Layout = layout };
        var plain = AugmentReference.Apply(image, new CropBox(0, 0, 37, 23, false), options);
        var flipped = AugmentReference.Apply(image, new CropBox(0, 0, 37, 23, true), options);
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 37; x++)
                for (int c = 0; c < 3; c++)
                {
                    int at = layout == TensorLayout.ChannelsLast ? (y * 37 + x) * 3 + c : (c * 23 + y) * 37 + x;
                    int mirrored = layout == TensorLayout.ChannelsLast ? (y * 37 + 36 - x) * 3 + c : (c * 23 + y) * 37 + 36 - x;
                    Assert.Equal(image.Pixels[(y * 37 + x) * 3 + c], plain[at]);
                    Assert.Equal(plain[at], flipped[mirrored]);
                }
    }

    [Fact]
    public void NormalizedFloatsAreTorchvisionsWithinRounding()
    {
        var image = TestFiles.Image(40, 30, 3, 2);
        var box = new CropBox(3, 4, 25, 20, false);
        var f32 = AugmentReference.Apply(image, box, new AugmentOptions { Width = 16, Height = 12, Type = OutputType.Float32 });
        var u8 = AugmentReference.Apply(image, box, new AugmentOptions { Width = 16, Height = 12, Type = OutputType.UInt8 });
        var f16 = AugmentReference.Apply(image, box, new AugmentOptions { Width = 16, Height = 12, Type = OutputType.Float16 });
        var bf16 = AugmentReference.Apply(image, box, new AugmentOptions { Width = 16, Height = 12, Type = OutputType.BFloat16 });
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        for (int i = 0; i < u8.Length; i++)
        {
            int c = i / (16 * 12);
            float value = BinaryPrimitives.ReadSingleLittleEndian(f32.AsSpan(4 * i));
            // the float path keeps the interpolated fraction the byte output rounds away
            Assert.Equal((u8[i] / 255.0 - mean[c]) / std[c], value, 0.5 / 255 / std[c] + 1e-5);
            Assert.Equal((float)(Half)value, (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(f16.AsSpan(2 * i))));
            Assert.Equal(value, BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bf16.AsSpan(2 * i)) << 16), Math.Abs(value) / 128 + 1e-6);
        }
    }

    [Fact]
    public void GrayBecomesThreeEqualChannelsAndAlphaIsKeptOrDropped()
    {
        var gray = TestFiles.Image(20, 20, 1, 3);
        var box = new CropBox(2, 3, 11, 9, false);
        var three = AugmentReference.Apply(gray, box, new AugmentOptions { Width = 8, Height = 8, Type = OutputType.UInt8 });
        var one = AugmentReference.Apply(gray, box, new AugmentOptions { Width = 8, Height = 8, Type = OutputType.UInt8, Channels = 1 });
        for (int c = 0; c < 3; c++) Assert.Equal(one, three.AsSpan(c * 64, 64).ToArray());

        var rgba = TestFiles.Image(20, 20, 4, 4);
        var four = AugmentReference.Apply(rgba, box, new AugmentOptions { Width = 8, Height = 8, Type = OutputType.UInt8, Channels = 4 });
        var rgb = AugmentReference.Apply(rgba, box, new AugmentOptions { Width = 8, Height = 8, Type = OutputType.UInt8 });
        Assert.Equal(rgb, four.AsSpan(0, 3 * 64).ToArray());
        Assert.Throws<ArgumentException>(() => AugmentReference.Apply(TestFiles.Image(20, 20, 3, 1), box, new AugmentOptions { Channels = 1 }));
    }
}
