using System.Text.Json.Serialization;
using ILGPU.Runtime;
using L3.Gpu;
using L3.Imaging;

namespace L3.Cli;

/// <summary>One image through the GPU codec: kernel time of decode and encode (device markers,
/// median of the runs), and whether both match the CPU codec byte for byte.</summary>
public sealed record GpuBenchResult(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("raw_bytes")] long RawBytes,
    [property: JsonPropertyName("l3_bytes")] long L3Bytes,
    [property: JsonPropertyName("decode_gb_s")] double DecodeGBs,
    [property: JsonPropertyName("encode_gb_s")] double EncodeGBs,
    [property: JsonPropertyName("bit_exact")] bool BitExact);

public static class GpuImageBench
{
    public static List<GpuBenchResult> Measure(IReadOnlyList<string> paths, int patchSize, int runs)
    {
        using var codec = GpuCodecs.Open();
        var results = new List<GpuBenchResult>();
        foreach (string path in paths)
        {
            var image = ImageFiles.Read(path);
            byte[] cpuFile = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = patchSize });
            bool exact = codec.Encode([image], patchSize)[0].AsSpan().SequenceEqual(cpuFile)
                && codec.Decode(cpuFile).Pixels.AsSpan().SequenceEqual(image.Pixels);

            using var batch = codec.Prepare([cpuFile]);
            codec.UploadAndWait(batch);
            double decode = Median(runs, () => codec.Launch(batch, 0), codec);

            using var job = codec.CreateEncodeJob(image.Width, image.Height, image.Channels, patchSize, 1);
            job.Input.SubView(0, image.Pixels.Length).CopyFromCPU(codec.ComputeStream, image.Pixels);
            double encode = Median(runs, () => codec.LaunchEncode(job), codec);

            long raw = image.Pixels.LongLength;
            results.Add(new GpuBenchResult(Path.GetFileNameWithoutExtension(path), codec.DeviceName, raw, cpuFile.Length,
                raw / decode / 1e9, raw / encode / 1e9, exact));
        }
        return results;
    }

    private static double Median(int runs, Action launch, L3GpuCodec codec)
    {
        launch(); // warm-up: kernel compilation
        codec.ComputeStream.Synchronize();
        var times = new double[Math.Max(runs, 1)];
        for (int i = 0; i < times.Length; i++)
        {
            using var start = codec.ComputeStream.AddProfilingMarker();
            launch();
            using var end = codec.ComputeStream.AddProfilingMarker();
            times[i] = (end - start).TotalSeconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    public static void PrintTable(TextWriter output, IReadOnlyList<GpuBenchResult> results)
    {
        output.WriteLine($"GPU: {results.FirstOrDefault()?.Device} (kernel time, one image per launch; batches: bench/gpu/run.sh)");
        output.WriteLine($"{"image",-28} {"raw bytes",12} {"L3 bytes",12} {"dec GB/s",9} {"enc GB/s",9} {"exact",5}");
        foreach (var r in results)
            output.WriteLine($"{r.Name,-28} {r.RawBytes,12:N0} {r.L3Bytes,12:N0} {r.DecodeGBs,9:F2} {r.EncodeGBs,9:F2} {(r.BitExact ? "yes" : "NO"),5}");
    }
}
