using L3.Gpu;
using L3.Imaging;
using L3.Kernels;

namespace L3.GpuBench;

/// <summary>
/// Coding mode 1 (dense) against mode 0 (rows), the same images in the same run: each batch is
/// encoded in both modes, decoded once by each kernel and checked against the original pixels,
/// then each kernel is timed alone (profiling markers around the launch, median).
/// </summary>
internal static class DenseKernelBench
{
    /// <summary>
    /// Every patch size and channel count, with edge patches (widths and heights that are not
    /// multiples of N, single rows and columns), smooth, noisy and flat content, each shape one
    /// launch of 3 images: the kernel's output against the scalar reference (L3Codec.Decode).
    /// </summary>
    public static (string Row, bool Exact) Sweep(L3GpuCodec codec)
    {
        var rng = new Random(16);
        int shapes = 0, images = 0, mismatches = 0;
        foreach (int n in new[] { 8, 16, 32, 64 })
            foreach (int channels in new[] { 1, 3, 4 })
                foreach (var (w, h) in new[] { (1, 1), (n + 3, n / 2 + 5), (3 * n - 1, 2 * n + 1), (200, 150), (7, 300) })
                {
                    var files = new List<ReadOnlyMemory<byte>>();
                    var pixels = new List<byte[]>();
                    for (int k = 0; k < 3; k++)
                    {
                        var p = new byte[w * h * channels];
                        for (int i = 0; i < p.Length; i++)
                        {
                            int x = i / channels % w, y = i / channels / w;
                            p[i] = k switch { 0 => (byte)rng.Next(256), 1 => (byte)(x * 3 + y * 2 + rng.Next(5) + 40 * (i % channels)), _ => (byte)(y / 9 * 30 + i % channels) };
                        }
                        pixels.Add(p);
                        files.Add(L3Codec.Encode(p, w, h, channels, new L3EncodeOptions { PatchSize = n, Mode = L3CodingMode.Dense }));
                    }
                    var decoded = codec.Decode(files);
                    for (int k = 0; k < 3; k++)
                        if (!decoded[k].Pixels.AsSpan().SequenceEqual(pixels[k])
                            || !decoded[k].Pixels.AsSpan().SequenceEqual(L3Codec.Decode(files[k].Span).Pixels)) mismatches++;
                    shapes++;
                    images += 3;
                }
        string row = $"dense sweep: {shapes} shapes (N 8-64, 1/3/4 channels, edge patches), {images} images: " +
            (mismatches == 0 ? "every output bit-exact against the scalar reference" : $"{mismatches} MISMATCHES");
        Console.WriteLine(row);
        return (row, mismatches == 0);
    }

    public static (List<string> Rows, bool Exact) Run(L3GpuCodec codec, L3Image[] raws, int[] batchSizes, double copyGBs, bool small)
    {
        var rows = new List<string>();
        bool allExact = true;
        // L3_DENSE_SWEEP=0 leaves the sweep out (a profiling run that wants only the corpus batches)
        if (Environment.GetEnvironmentVariable("L3_DENSE_SWEEP") != "0")
        {
            var (sweepRow, sweepExact) = Sweep(codec);
            rows.Add(sweepRow);
            allExact = sweepExact;
        }
        var rowsFiles = raws.Select(r => L3Codec.Encode(r, new L3EncodeOptions { MaxDegreeOfParallelism = Environment.ProcessorCount })).ToArray();
        var denseFiles = raws.Select(r => L3Codec.Encode(r, new L3EncodeOptions { Mode = L3CodingMode.Dense, MaxDegreeOfParallelism = Environment.ProcessorCount })).ToArray();
        long imageBytes = raws[0].Pixels.LongLength;
        foreach (int batchSize in batchSizes)
        {
            var rowsList = Enumerable.Range(0, batchSize).Select(i => (ReadOnlyMemory<byte>)rowsFiles[i % raws.Length]).ToList();
            var denseList = Enumerable.Range(0, batchSize).Select(i => (ReadOnlyMemory<byte>)denseFiles[i % raws.Length]).ToList();
            long raw = imageBytes * batchSize;
            int reps = small ? 2 : Math.Clamp(2048 / batchSize, 10, 100);

            using var batch = codec.Prepare(rowsList);
            codec.UploadAndWait(batch);
            var rowsTime = Time(codec, reps, () => codec.Launch(batch, 0));

            using var dense = codec.PrepareDense(denseList);
            codec.LaunchDense(dense);
            codec.ComputeStream.Synchronize();
            var output = dense.OutputToHost();
            bool exact = !dense.FailedToHost().Any(f => f);
            for (int i = 0; i < batchSize; i++)
                exact &= output.AsSpan((int)(i * imageBytes), (int)imageBytes).SequenceEqual(raws[i % raws.Length].Pixels);
            allExact &= exact;
            var denseTime = Time(codec, reps, () => codec.LaunchDense(dense));
            long rowsBytes = rowsList.Sum(f => (long)f.Length), denseBytes = denseList.Sum(f => (long)f.Length);
            rows.Add($"batch {batchSize,4}: rows {rowsBytes / 1e6,8:F1} MB {rowsTime * 1e3,8:F3} ms {raw / rowsTime / 1e9,7:F0} GB/s | " +
                $"dense {denseBytes / 1e6,8:F1} MB ({(double)denseBytes / rowsBytes:F3} of rows) {denseTime * 1e3,8:F3} ms {raw / denseTime / 1e9,7:F0} GB/s " +
                $"({raw / denseTime / 1e9 / copyGBs:F3} of copy) {(exact ? "exact" : "MISMATCH")}");
            Console.WriteLine(rows[^1]);

            // L3_DENSE_LAUNCHES=128x8,256x4: the dense kernel launched otherwise (threads a group x groups
            // an SM that bound its registers; 0 none), each checked and timed on the last batch
            var launches = batchSize == batchSizes[^1] ? Environment.GetEnvironmentVariable("L3_DENSE_LAUNCHES") ?? "" : "";
            foreach (var launch in launches.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                using var other = new L3GpuCodec(new L3GpuOptions { DenseLaunch = DenseLaunch.Parse(launch) });
                using var otherBatch = other.PrepareDense(denseList);
                other.LaunchDense(otherBatch);
                other.ComputeStream.Synchronize();
                bool otherExact = !otherBatch.FailedToHost().Any(f => f) && otherBatch.OutputToHost().AsSpan().SequenceEqual(output);
                allExact &= otherExact;
                var otherTime = Time(other, reps, () => other.LaunchDense(otherBatch));
                rows.Add($"batch {batchSize,4}: dense, launched {launch} (threads x groups an SM): {otherTime * 1e3,8:F3} ms {raw / otherTime / 1e9,7:F0} GB/s " +
                    $"{(otherExact ? "exact" : "MISMATCH")}");
                Console.WriteLine(rows[^1]);
            }
        }
        return (rows, allExact);
    }

    private static double Time(L3GpuCodec codec, int reps, Action launch)
    {
        launch();
        codec.ComputeStream.Synchronize();
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            using var m0 = codec.ComputeStream.AddProfilingMarker();
            launch();
            using var m1 = codec.ComputeStream.AddProfilingMarker();
            times.Add((m1 - m0).TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
