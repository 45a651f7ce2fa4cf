using L3;
using L3.Imaging;
using L3.Gpu;

/// <summary>
/// Every corpus image at its own size and channel count (gray, RGB, RGBA), every patch size:
/// decoded on the GPU in one mixed batch, interleaved and planar, and encoded on the GPU, each
/// compared with the CPU codec. Correctness only, no timing.
/// </summary>
static class CorpusCheck
{
    public static bool Run(L3GpuCodec codec, string directory)
    {
        var names = Directory.GetFiles(directory, "*.png").Order().ToArray();
        var images = names.Select(name => ImageFiles.Read(name)).ToArray();
        bool all = true;
        foreach (int n in new[] { 8, 16, 32, 64 })
        {
            var files = images.Select(im => L3Codec.Encode(im, new L3EncodeOptions { PatchSize = n, MaxDegreeOfParallelism = Environment.ProcessorCount })).ToArray();
            var batch = files.Select(f => (ReadOnlyMemory<byte>)f).ToList();
            var interleaved = codec.Decode(batch);
            var planar = codec.DecodePlanar(batch);
            var encoded = codec.Encode(images, n);
            for (int i = 0; i < images.Length; i++)
            {
                var im = images[i];
                bool decode = interleaved[i].Pixels.AsSpan().SequenceEqual(im.Pixels);
                bool planes = planar[i].AsSpan().SequenceEqual(Planar(im));
                bool encode = encoded[i].AsSpan().SequenceEqual(files[i]);
                all &= decode && planes && encode;
                Console.WriteLine($"corpus N={n,2} {Path.GetFileName(names[i]),-30} {im.Width,5}x{im.Height,-5} C={im.Channels} " +
                    $"decode {(decode ? "yes" : "NO")}, planar {(planes ? "yes" : "NO")}, encode {(encode ? "yes" : "NO")}");
            }
        }
        Console.WriteLine($"corpus: {images.Length} images x 4 patch sizes, GPU decode (HWC and CHW) and encode " +
            (all ? "bit-exact against the CPU codec" : "MISMATCH against the CPU codec"));
        return all;
    }

    private static byte[] Planar(L3Image image)
    {
        int pixels = image.Width * image.Height, c = image.Channels;
        var planar = new byte[image.Pixels.Length];
        for (int p = 0; p < pixels; p++)
            for (int k = 0; k < c; k++) planar[k * pixels + p] = image.Pixels[p * c + k];
        return planar;
    }
}
