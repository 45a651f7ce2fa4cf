
namespace L3.Simd.Tests;

/// <summary>Synthetic and real images for the path-equivalence tests.</summary>
internal static class TestImages
{
    public enum Kind { Noise, Gradient, Constant, Alternating, SmoothNoise, Sparse }

    public static byte[] Make(Kind kind, int width, int height, int channels, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[width * height * channels];
        switch (kind)
        {
            case Kind.Noise:
                rng.NextBytes(pixels);
                break;
            case Kind.Gradient:
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                        for (int c = 0; c < channels; c++)
                            pixels[(y * width + x) * channels + c] = (byte)(x * (c + 1) + y * (3 - c) + 7 * c);
                break;
            case Kind.Constant:
                byte v = (byte)rng.Next(256);
                Array.Fill(pixels, v);
                break;
            case Kind.Alternating:
                for (int i = 0; i < pixels.Length; i++)
                {
                    int px = i / channels, x = px % width, y = px / width;
                    pixels[i] = (byte)(((x + y + i % channels) & 1) == 0 ? 0 : 255);
                }
                break;
            case Kind.SmoothNoise:
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                        for (int c = 0; c < channels; c++)
                            pixels[(y * width + x) * channels + c] = (byte)(128 + 60 * Math.Sin(x * 0.05 + c) * Math.Cos(y * 0.03) + rng.Next(-6, 7));
                break;
            case Kind.Sparse:
                for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(rng.Next(20) == 0 ? rng.Next(256) : 100);
                break;
        }
        return pixels;
    }

    public static string DataDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "data");
            if (File.Exists(Path.Combine(dir.FullName, "L3.Gen.sln")) && Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/data not found above " + AppContext.BaseDirectory);
    }

    public static IEnumerable<string> RealImages() => Directory.GetFiles(DataDirectory(), "*.png").Order();

    /// <summary>Reads a PNG as gray, RGB or RGBA bytes, through the CLI's reader.</summary>
    public static L3Image ReadPng(string path) => L3.Imaging.ImageFiles.Read(path);
}
