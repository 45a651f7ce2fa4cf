namespace L3.Fuzz;

/// <summary>Writes the seed corpus (fuzz/corpus): small files of every patch size and channel
/// count, with edge patches, zero rows, flat, smooth and noisy rows, so that the first inputs
/// already reach every block kind of the decoder. Committed; rerun with `L3.Fuzz --seeds fuzz/corpus`.</summary>
internal static class Seeds
{
    public static void Write(string directory)
    {
        string l3 = Directory.CreateDirectory(Path.Combine(directory, "l3")).FullName;
        string raw = Directory.CreateDirectory(Path.Combine(directory, "raw")).FullName;
        var random = new Random(12);
        foreach (int n in new[] { 8, 16, 32, 64 })
            foreach (int channels in new[] { 1, 3, 4 })
                foreach (var (kind, width, height) in new[] { ("flat", n, n), ("smooth", n + 3, 5), ("noise", 9, n + 1), ("mixed", 2 * n - 1, 7) })
                {
                    var pixels = new byte[width * height * channels];
                    for (int y = 0; y < height; y++)
                        for (int x = 0; x < width; x++)
                            for (int c = 0; c < channels; c++)
                                pixels[(y * width + x) * channels + c] = kind switch
                                {
                                    "flat" => (byte)(40 * c),
                                    "smooth" => (byte)(x * 3 + y * 2 + c * 50),
                                    "noise" => (byte)random.Next(256),
                                    _ => y % 3 == 0 ? (byte)7 : (byte)(x * y + random.Next(4) + c),
                                };
                    var file = L3Codec.Encode(pixels, width, height, channels, new L3EncodeOptions { PatchSize = n });
                    if (file.Length <= 8192) File.WriteAllBytes(Path.Combine(l3, $"n{n}-c{channels}-{kind}.l3"), file);
                    // coding mode 1 of the same pixels, for the dense target (and every decode target)
                    var dense = L3Codec.Encode(pixels, width, height, channels, new L3EncodeOptions { PatchSize = n, Mode = L3CodingMode.Dense });
                    if (dense.Length <= 8192 && kind != "flat") File.WriteAllBytes(Path.Combine(l3, $"dense-n{n}-c{channels}-{kind}.l3"), dense);
                    if (n == 8)
                    {
                        // the encode target's input: 4 bytes of shape, then pixels
                        var shape = new byte[] { (byte)((channels == 1 ? 0 : channels == 3 ? 1 : 2) << 2), (byte)(width - 1), (byte)(height - 1), 0 };
                        File.WriteAllBytes(Path.Combine(raw, $"c{channels}-{kind}.raw"), [.. shape, .. pixels.AsSpan(0, Math.Min(pixels.Length, 600))]);
                    }
                }
    }
}
