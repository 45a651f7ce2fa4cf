namespace L3.TestSupport;

/// <summary>Kinds of synthetic content, each chosen for what it exercises in the coder.</summary>
public enum Pattern
{
    /// <summary>Uniform random bytes: the widest residual groups, nothing to predict.</summary>
    Noise,
    /// <summary>A smooth ramp per channel: small residuals, every predictor close.</summary>
    Gradient,
    /// <summary>One random value everywhere: zero rows and zero-width groups.</summary>
    Constant,
    /// <summary>A 0/255 checkerboard across x, y and channel: the largest residuals.</summary>
    Alternating,
    /// <summary>A slow wave plus a little noise, as in photographs.</summary>
    SmoothNoise,
    /// <summary>A flat value with one random byte in twenty: isolated outliers in flat groups.</summary>
    Sparse,
    /// <summary>Every byte 0.</summary>
    AllZero,
    /// <summary>Every byte 255.</summary>
    AllMax,
    /// <summary>Bands of five rows, each band noise, gradient, flat, hard edges or noisy gradient:
    /// every predictor and group width within one patch.</summary>
    Bands,
}

/// <summary>The one generator of synthetic test images: interleaved 8-bit pixels, rows top to
/// bottom, deterministic for a given seed.</summary>
public static class SyntheticImages
{
    /// <summary>Every pattern, for tests that run them all or pick one at random.</summary>
    public static IReadOnlyList<Pattern> Patterns { get; } = Enum.GetValues<Pattern>();

    /// <summary>A pattern picked by <paramref name="random"/>.</summary>
    public static Pattern AnyPattern(Random random) => Patterns[random.Next(Patterns.Count)];

    public static byte[] Make(Pattern pattern, int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[checked(width * height * channels)];
        byte constant = (byte)random.Next(256);
        int band = 0;
        for (int y = 0; y < height; y++)
        {
            if (y % 5 == 0) band = random.Next(5);
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    pixels[(y * width + x) * channels + c] = pattern switch
                    {
                        Pattern.Noise => (byte)random.Next(256),
                        Pattern.Gradient => (byte)(x * (c + 1) + y * (3 - c) + 40 * c),
                        Pattern.Constant => constant,
                        Pattern.Alternating => (byte)(((x + y + c) & 1) == 0 ? 0 : 255),
                        Pattern.SmoothNoise => (byte)(128 + 60 * Math.Sin(x * 0.05 + c) * Math.Cos(y * 0.03) + random.Next(-6, 7)),
                        Pattern.Sparse => (byte)(random.Next(20) == 0 ? random.Next(256) : 100),
                        Pattern.AllZero => 0,
                        Pattern.AllMax => 255,
                        Pattern.Bands => band switch
                        {
                            0 => (byte)random.Next(256),
                            1 => (byte)(x * 3 + y * 2 + c * 50),
                            2 => 128,
                            3 => (byte)((x / 5 + y / 3) % 2 == 0 ? 0 : 255),
                            _ => (byte)(x + y + c * 20 + random.Next(6)),
                        },
                        _ => throw new ArgumentOutOfRangeException(nameof(pattern), pattern, null),
                    };
                }
        }
        return pixels;
    }

    /// <summary><see cref="Make"/> as an <see cref="L3Image"/>.</summary>
    public static L3Image Image(Pattern pattern, int width, int height, int channels, int seed) =>
        new(width, height, channels, Make(pattern, width, height, channels, seed));
}
