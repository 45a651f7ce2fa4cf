using L3.Loading;

namespace L3.Loader.Tests;

/// <summary>Small L3 files with structured content (gradients, edges and noise, so that crops,
/// flips and interpolation all show), written into a temporary folder.</summary>
public sealed class TestFiles : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "l3-loader-tests-" + Guid.NewGuid().ToString("N"));
    public List<string> Paths { get; } = [];
    public List<L3Image> Images { get; } = [];

    public TestFiles() => System.IO.Directory.CreateDirectory(Directory);

    public static L3Image Image(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * channels];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    pixels[(y * width + x) * channels + c] = (byte)((x * (3 + c) + y * (5 - c) + ((x / 7 + y / 5) % 2) * 90 + random.Next(9)) & 0xFF);
        return new L3Image(width, height, channels, pixels);
    }

    /// <summary>Adds an image as an L3 file of patch size <paramref name="patchSize"/> and coding
    /// <paramref name="mode"/>; returns its path.</summary>
    public string Add(L3Image image, int patchSize, string? name = null, L3CodingMode mode = L3CodingMode.Rows)
    {
        string path = Path.Combine(Directory, name ?? $"{Paths.Count:D4}.l3");
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, L3Codec.Encode(image, new L3EncodeOptions { PatchSize = patchSize, Mode = mode }));
        Paths.Add(path);
        Images.Add(image);
        return path;
    }

    public SampleSource Source() => SampleSource.FromFiles(Paths, Enumerable.Range(0, Paths.Count).Select(i => i % 3).ToList());

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
