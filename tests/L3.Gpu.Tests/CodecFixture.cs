using L3.Gpu;

namespace L3.Gpu.Tests;

/// <summary>One GPU codec on the CPU accelerator, shared by the tests (kernels compile once).</summary>
public sealed class CodecFixture : IDisposable
{
    public L3GpuCodec Codec { get; } = new(forceCpu: true);

    public void Dispose() => Codec.Dispose();

    /// <summary>Random pixels with some structure (smooth ramps, flat areas, noise), so that every
    /// predictor, width and the colour transform get used.</summary>
    public static byte[] RandomImage(Random rng, int width, int height, int channels)
    {
        var pixels = new byte[width * height * channels];
        int kind = rng.Next(3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int shared = kind == 0 ? rng.Next(256) : kind == 1 ? (x * 3 + y * 2) & 0xFF : (x / 5 + y / 7) * 40 & 0xFF;
                for (int c = 0; c < channels; c++)
                {
                    int noise = kind == 0 ? 0 : rng.Next(kind == 1 ? 9 : 3) - (kind == 1 ? 4 : 1);
                    pixels[(y * width + x) * channels + c] = (byte)(kind == 0 ? rng.Next(256) : shared + noise + 17 * c);
                }
            }
        return pixels;
    }
}

[CollectionDefinition("gpu")]
public sealed class GpuCollection : ICollectionFixture<CodecFixture>;
