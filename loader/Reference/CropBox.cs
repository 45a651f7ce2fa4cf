namespace L3.Loading;

/// <summary>A sample's crop, in its image's pixels, and whether its output is flipped left to right.</summary>
public readonly record struct CropBox(int X, int Y, int Width, int Height, bool Flip)
{
    /// <summary>
    /// The crop of sample <paramref name="sample"/> in epoch <paramref name="epoch"/>, from
    /// <see cref="SampleRandom.ForSample"/>: a function of (seed, epoch, sample) and the image size
    /// alone, chosen on the host before anything is read, so only the patches it touches are read.
    /// </summary>
    public static CropBox Choose(AugmentOptions options, int width, int height, ulong seed, long epoch, long sample)
    {
        var random = SampleRandom.ForSample(seed, epoch, sample);
        var box = options.Crop switch
        {
            CropMode.RandomResized => RandomResized(options, width, height, ref random),
            CropMode.Center => Center(options, width, height),
            _ => new CropBox(0, 0, width, height, false),
        };
        return box with { Flip = options.RandomFlip && random.NextDouble() < 0.5 };
    }

    /// <summary>torchvision's <c>RandomResizedCrop.get_params</c>, step for step: ten tries of an area
    /// and a log-uniform aspect ratio (sides rounded half to even, as Python's round), then the
    /// centred fallback clamped to the ratio range.</summary>
    public static CropBox RandomResized(AugmentOptions options, int width, int height, ref SampleRandom random)
    {
        double area = (double)width * height;
        double logMin = Math.Log(options.RatioMin), logMax = Math.Log(options.RatioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * random.NextUniform(options.ScaleMin, options.ScaleMax);
            double aspect = Math.Exp(random.NextUniform(logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int y = (int)random.NextBelow((ulong)(height - h + 1));
                int x = (int)random.NextBelow((ulong)(width - w + 1));
                return new CropBox(x, y, w, h, false);
            }
        }
        double ratio = (double)width / height;
        int cw = width, ch = height;
        if (ratio < options.RatioMin) ch = (int)Math.Round(width / options.RatioMin, MidpointRounding.ToEven);
        else if (ratio > options.RatioMax) cw = (int)Math.Round(height * options.RatioMax, MidpointRounding.ToEven);
        cw = Math.Clamp(cw, 1, width);
        ch = Math.Clamp(ch, 1, height);
        return new CropBox((width - cw) / 2, (height - ch) / 2, cw, ch, false);
    }

    /// <summary>The centred crop of the output's aspect, <see cref="AugmentOptions.CenterFraction"/> of the
    /// largest such crop.</summary>
    public static CropBox Center(AugmentOptions options, int width, int height)
    {
        double k = Math.Min((double)width / options.Width, (double)height / options.Height) * options.CenterFraction;
        int cw = Math.Clamp((int)Math.Round(options.Width * k, MidpointRounding.ToEven), 1, width);
        int ch = Math.Clamp((int)Math.Round(options.Height * k, MidpointRounding.ToEven), 1, height);
        return new CropBox((width - cw) / 2, (height - ch) / 2, cw, ch, false);
    }
}
