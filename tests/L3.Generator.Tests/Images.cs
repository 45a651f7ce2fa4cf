namespace L3.Generator.Tests;

/// <summary>Random test images that exercise every predictor and every group width: smooth
/// gradients (small residuals), noise (wide groups), flat runs (width 0) and hard edges.</summary>
internal static class Images
{
    public static byte[] Random(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * channels];
        int style = 0;
        for (int y = 0; y < height; y++)
        {
            if (y % 5 == 0) style = random.Next(5);
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    int v = style switch
                    {
                        0 => random.Next(256),                                   // noise
                        1 => x * 3 + y * 2 + c * 50,                             // gradient
                        2 => 128,                                                // flat
                        3 => (x / 5 + y / 3) % 2 == 0 ? 0 : 255,                 // edges
                        _ => x + y + c * 20 + random.Next(6),                    // gradient + noise
                    };
                    pixels[(y * width + x) * channels + c] = (byte)v;
                }
        }
        return pixels;
    }
}
