using System.Diagnostics;
using ILGPU.Runtime;
using L3;
using L3.Gpu;

/// <summary>Encode on the GPU: kernel time (the three launches, from pixels on the device to
/// assembled files) and the host's completion (copy back, header, XXH64), every file compared
/// byte for byte with the CPU encoder's.</summary>
static class GpuEncodeBench
{
    public static (string Row, bool Exact)? Run(L3GpuCodec codec, L3Image[] raws, byte[][] files, int batchSize, double copyGBs, bool small)
    {
        var first = raws[0];
        using var job = codec.CreateEncodeJob(first.Width, first.Height, first.Channels, 64, batchSize);
        long imageBytes = first.Pixels.Length;
        for (int i = 0; i < batchSize; i++)
            job.Input.SubView(i * imageBytes, imageBytes).CopyFromCPU(codec.ComputeStream, raws[i % raws.Length].Pixels);
        codec.ComputeStream.Synchronize();

        codec.LaunchEncode(job);
        var th = Stopwatch.StartNew();
        var encoded = codec.DownloadEncoded(job);
        double hostSeconds = th.Elapsed.TotalSeconds;
        bool exact = true;
        for (int i = 0; i < batchSize; i++) exact &= encoded[i].AsSpan().SequenceEqual(files[i % files.Length]);

        int reps = small ? 2 : Math.Clamp(1024 / batchSize, 10, 100);
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            using var m0 = codec.ComputeStream.AddProfilingMarker();
            codec.LaunchEncode(job);
            using var m1 = codec.ComputeStream.AddProfilingMarker();
            times.Add((m1 - m0).TotalSeconds);
        }
        times.Sort();
        double kernel = times[times.Count / 2];
        double gbs = job.InputBytes / kernel / 1e9;
        long compressed = encoded.Sum(f => (long)f.Length);
        string row = $"encode {batchSize,4} {job.InputBytes / 1e6,9:F0} {compressed / 1e6,8:F1} {kernel * 1e3,8:F3} {gbs,8:F0} {gbs / copyGBs,6:F3} " +
            $"{hostSeconds * 1e3,8:F1} {"",7} {"",6} {"",8} {"",8} {(exact ? "yes" : "NO"),5}";
        return (row, exact);
    }
}
