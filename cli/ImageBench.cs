using System.Diagnostics;
using System.Text.Json.Serialization;

namespace L3.Cli;

/// <summary>One image measured: sizes against PNG-6 and single-thread encode and decode speed.</summary>
public sealed record BenchResult(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("patch_size")] int PatchSize,
    [property: JsonPropertyName("raw_bytes")] long RawBytes,
    [property: JsonPropertyName("png_bytes")] long PngBytes,
    [property: JsonPropertyName("l3_bytes")] long L3Bytes,
    [property: JsonPropertyName("l3_vs_png")] double L3VsPng,
    [property: JsonPropertyName("encode_mb_s")] double EncodeMBs,
    [property: JsonPropertyName("decode_mb_s")] double DecodeMBs,
    [property: JsonPropertyName("bit_exact")] bool BitExact);

/// <summary>Measures L3 on images: the PNG reference is a level-6 re-encode by SkiaSharp; speeds
/// are megabytes of raw pixels a second, one thread, in process, after a warm-up, the median of
/// <c>runs</c> timings.</summary>
public static class ImageBench
{
    public static BenchResult Measure(string path, int patchSize, int runs)
    {
        var image = ImageFiles.Read(path);
        long png = ImageFiles.EncodePng(image).Length;
        var options = new L3EncodeOptions { PatchSize = patchSize };
        byte[] file = L3Codec.Encode(image, options);
        var decoded = L3Codec.Decode(file);
        bool exact = decoded.Pixels.AsSpan().SequenceEqual(image.Pixels);

        double encodeSeconds = Median(runs, () => L3Codec.Encode(image, options));
        var target = new byte[image.Pixels.Length];
        double decodeSeconds = Median(runs, () => L3Codec.Decode(file, target));
        long raw = image.Pixels.LongLength;
        return new BenchResult(Path.GetFileNameWithoutExtension(path), image.Width, image.Height, image.Channels, patchSize,
            raw, png, file.Length, (double)file.Length / png, raw / encodeSeconds / 1e6, raw / decodeSeconds / 1e6, exact);
    }

    private static double Median(int runs, Action action)
    {
        action(); // warm-up: JIT and caches
        var times = new double[Math.Max(runs, 1)];
        for (int i = 0; i < times.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    public static double GeometricMean(IEnumerable<double> values)
    {
        double sum = 0;
        int count = 0;
        foreach (double v in values) { sum += Math.Log(v); count++; }
        return count == 0 ? double.NaN : Math.Exp(sum / count);
    }

    public static void PrintTable(TextWriter output, IReadOnlyList<BenchResult> results)
    {
        output.WriteLine($"{"image",-28} {"size",11} {"ch",2} {"N",2} {"PNG-6 bytes",12} {"L3 bytes",12} {"L3/PNG",7} {"enc MB/s",9} {"dec MB/s",9} {"exact",5}");
        foreach (var r in results)
            output.WriteLine($"{r.Name,-28} {$"{r.Width}x{r.Height}",11} {r.Channels,2} {r.PatchSize,2} {r.PngBytes,12:N0} {r.L3Bytes,12:N0} {r.L3VsPng,7:F3} {r.EncodeMBs,9:F0} {r.DecodeMBs,9:F0} {(r.BitExact ? "yes" : "NO"),5}");
        output.WriteLine($"{"geometric mean",-28} {"",11} {"",2} {"",2} {"",12} {"",12} {GeometricMean(results.Select(r => r.L3VsPng)),7:F3} {GeometricMean(results.Select(r => r.EncodeMBs)),9:F0} {GeometricMean(results.Select(r => r.DecodeMBs)),9:F0}");
    }
}
