namespace L3.Tests;

/// <summary>Synthetic contents, chosen among those that broke the prototype.</summary>
public enum Content { Noise, Alternating, Gradient, Constant, AllZero, AllMax, SmoothNoise }

public static class TestImages
{
    public static byte[] Make(int width, int height, int channels, Content content, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * channels];
        byte constant = (byte)random.Next(256);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    int i = (y * width + x) * channels + c;
                    pixels[i] = content switch
                    {
                        Content.Noise => (byte)random.Next(256),
                        Content.Alternating => (byte)(((x + y + c) & 1) == 0 ? 0 : 255),
                        Content.Gradient => (byte)(x * 3 + y * 5 + c * 40),
                        Content.Constant => constant,
                        Content.AllZero => 0,
                        Content.AllMax => 255,
                        _ => (byte)(x + y / 2 + c * 17 + random.Next(5)),
                    };
                }
        return pixels;
    }

    /// <summary>The real images shipped in tests/data, read through the CLI's image reader.</summary>
    public static IEnumerable<string> RealImagePaths() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "data"), "*.png").Order();
}
