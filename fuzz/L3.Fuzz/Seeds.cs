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
        WriteDatasets(Directory.CreateDirectory(Path.Combine(directory, "dataset")).FullName, random);
    }

    /// <summary>The dataset-read target's input (<see cref="LoaderTargets.PackDataset"/>): small datasets
    /// written by the converter, one shard each: gray, RGB and RGBA images in two classes.</summary>
    private static void WriteDatasets(string directory, Random random)
    {
        foreach (var (name, patchSize, channels) in new[] { ("rgb-n8", 8, new[] { 3, 3, 3 }), ("mixed-n16", 16, new[] { 1, 3, 4, 3 }) })
        {
            string work = Path.Combine(Path.GetTempPath(), $"l3-fuzz-seeds-{Environment.ProcessId}-{name}");
            if (Directory.Exists(work)) Directory.Delete(work, true);
            string images = Path.Combine(work, "images"), dataset = Path.Combine(work, "dataset");
            for (int i = 0; i < channels.Length; i++)
            {
                int width = 9 + 3 * i, height = 7 + i;
                var pixels = new byte[width * height * channels[i]];
                random.NextBytes(pixels);
                string path = Path.Combine(images, $"class{i % 2}", $"{i}.png");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                L3.Imaging.ImageFiles.Write(path, new L3Image(width, height, channels[i], pixels));
            }
            using (var source = L3.Datasets.ImageSource.Open(images))
                L3.Datasets.DatasetConverter.Convert(source, dataset, new L3.Datasets.ConvertOptions
                {
                    DecodeImage = bytes => L3.Imaging.ImageFiles.Read(bytes), PatchSize = patchSize, Jobs = 1,
                });
            File.WriteAllBytes(Path.Combine(directory, name + ".dataset"), LoaderTargets.PackDataset(
                File.ReadAllBytes(Path.Combine(dataset, "dataset.json")),
                File.ReadAllBytes(Path.Combine(dataset, L3.Datasets.DatasetLayout.ShardIndexPath(0))),
                File.ReadAllBytes(Path.Combine(dataset, L3.Datasets.DatasetLayout.ShardTarPath(0)))));
            Directory.Delete(work, true);
        }
    }
}
