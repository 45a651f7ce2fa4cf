using L3.Gpu;
using L3.Imaging;

namespace L3.GpuBench;

/// <summary>
/// Coding mode 1 (dense) against mode 0 (rows), the same images in the same run: each batch is
/// encoded in both modes, decoded once by each kernel and checked against the original pixels,
/// then each kernel is timed alone (profiling markers around the launch, median).
/// </summary>
internal static class DenseKernelBench
{
    public static (List<string> Rows, bool Exact) Run(L3GpuCodec codec, L3Image[] raws, int[] batchSizes, double copyGBs, bool small)
    {
        var rows = new List<string>();
        bool allExact = true;
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
