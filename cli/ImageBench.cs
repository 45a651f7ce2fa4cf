using System.Diagnostics;
using System.Text.Json.Serialization;
using L3.Imaging;
using L3.Qoi;

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
    [property: JsonPropertyName("bit_exact")] bool BitExact,
    [property: JsonPropertyName("qoi_bytes")] long? QoiBytes = null,
    [property: JsonPropertyName("qoi_encode_mb_s")] double? QoiEncodeMBs = null,
    [property: JsonPropertyName("qoi_decode_mb_s")] double? QoiDecodeMBs = null,
    [property: JsonPropertyName("encode_vs_qoi")] double? EncodeVsQoi = null,
    [property: JsonPropertyName("decode_vs_qoi")] double? DecodeVsQoi = null,
    [property: JsonPropertyName("clock")] string Clock = "",
    [property: JsonPropertyName("mode")] string Mode = "rows");

/// <summary>Measures L3 on images: the PNG reference is a level-6 re-encode by SkiaSharp; speeds
/// are megabytes of raw pixels a second, one thread, in process, after a warm-up, the median of
/// <c>runs</c> timings. RGB and RGBA images are also timed with QOI (reference/Qoi, a C# port written
/// from the QOI specification) in the same run, L3 and QOI runs alternating, so the L3/QOI ratios
/// hold on a noisy machine; QOI has no gray mode, so gray images have no QOI figures. On Linux each
/// run is timed by the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not the wall clock, so time the
/// thread spent descheduled on a shared machine does not count; elsewhere by the wall clock.</summary>
public static class ImageBench
{
    public static BenchResult Measure(string path, int patchSize, int runs, L3CodingMode mode = L3CodingMode.Rows) =>
        Measure(path, ImageFiles.Read(path), null, patchSize, runs, mode);

    /// <summary>Measures an image already read, with its PNG-6 size when known (so that both modes
    /// of one image share the reading and the PNG reference).</summary>
    public static BenchResult Measure(string path, L3Image image, long? pngBytes, int patchSize, int runs, L3CodingMode mode)
    {
        long png = pngBytes ?? ImageFiles.EncodePng(image).Length;
        var options = new L3EncodeOptions { PatchSize = patchSize, Mode = mode };
        byte[] file = L3Codec.Encode(image, options);
        var decoded = L3Codec.Decode(file);
        bool exact = decoded.Pixels.AsSpan().SequenceEqual(image.Pixels);

        var target = new byte[image.Pixels.Length];
        long raw = image.Pixels.LongLength;
        if (image.Channels == 1)
        {
            double encodeSeconds = Median(runs, () => L3Codec.Encode(image, options));
            double decodeSeconds = Median(runs, () => L3Codec.Decode(file, target));
            return new BenchResult(Path.GetFileNameWithoutExtension(path), image.Width, image.Height, image.Channels, patchSize,
                raw, png, file.Length, (double)file.Length / png, raw / encodeSeconds / 1e6, raw / decodeSeconds / 1e6, exact,
                Clock: Timer.Name, Mode: CodingModes.Name(mode));
        }

        var qoiBuffer = new byte[QoiCodec.MaxEncodedLength(image.Width, image.Height, image.Channels)];
        int qoiLength = QoiCodec.Encode(image.Pixels, image.Width, image.Height, image.Channels, qoiBuffer);
        var qoiFile = qoiBuffer.AsSpan(0, qoiLength).ToArray();
        var qoiTarget = new byte[image.Pixels.Length];
        QoiCodec.Decode(qoiFile, qoiTarget);
        if (!qoiTarget.AsSpan().SequenceEqual(image.Pixels)) throw new InvalidOperationException("QOI round trip failed");

        var (l3Encode, qoiEncode) = MedianPair(runs, () => L3Codec.Encode(image, options),
            () => QoiCodec.Encode(image.Pixels, image.Width, image.Height, image.Channels, qoiBuffer));
        var (l3Decode, qoiDecode) = MedianPair(runs, () => L3Codec.Decode(file, target), () => QoiCodec.Decode(qoiFile, qoiTarget));
        return new BenchResult(Path.GetFileNameWithoutExtension(path), image.Width, image.Height, image.Channels, patchSize,
            raw, png, file.Length, (double)file.Length / png, raw / l3Encode / 1e6, raw / l3Decode / 1e6, exact,
            qoiLength, raw / qoiEncode / 1e6, raw / qoiDecode / 1e6, qoiEncode / l3Encode, qoiDecode / l3Decode, Timer.Name, CodingModes.Name(mode));
    }

    private static void WarmUp(Action action)
    {
        // long enough for tiered JIT to reach its optimized code: rounds of at least 0.2 s and 3
        // calls, with pauses that let the background JIT thread compile on a busy (or pinned) core
        for (int round = 0; round < 3; round++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 3 || Stopwatch.GetElapsedTime(start).TotalSeconds < 0.2; i++) action();
            Thread.Sleep(150);
        }
    }

    private static double Median(int runs, Action action)
    {
        WarmUp(action);
        var times = new double[Math.Max(runs, 1)];
        for (int i = 0; i < times.Length; i++)
        {
            double start = Timer.Now();
            action();
            times[i] = Timer.Now() - start;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    /// <summary>Median times of two actions timed alternately (so both see the same machine load).</summary>
    private static (double A, double B) MedianPair(int runs, Action a, Action b)
    {
        WarmUp(a);
        WarmUp(b);
        int n = Math.Max(runs, 1);
        var ta = new double[n];
        var tb = new double[n];
        for (int i = 0; i < n; i++)
        {
            double start = Timer.Now();
            a();
            ta[i] = Timer.Now() - start;
            start = Timer.Now();
            b();
            tb[i] = Timer.Now() - start;
        }
        Array.Sort(ta);
        Array.Sort(tb);
        return (ta[n / 2], tb[n / 2]);
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
        PrintHeader(output);
        foreach (var r in results) PrintRow(output, r);
        PrintSummary(output, results);
    }

    /// <summary>The table in three pieces, so `l3 bench` prints each image as it is measured.</summary>
    public static void PrintHeader(TextWriter output) =>
        output.WriteLine($"{"image",-28} {"size",11} {"ch",2} {"N",2} {"mode",5} {"PNG-6 bytes",12} {"L3 bytes",12} {"L3/PNG",7} {"enc MB/s",9} {"dec MB/s",9} {"QOI enc",8} {"QOI dec",8} {"enc/QOI",7} {"dec/QOI",7} {"exact",5}");

    public static void PrintRow(TextWriter output, BenchResult r) =>
        output.WriteLine($"{r.Name,-28} {$"{r.Width}x{r.Height}",11} {r.Channels,2} {r.PatchSize,2} {r.Mode,5} {r.PngBytes,12:N0} {r.L3Bytes,12:N0} {r.L3VsPng,7:F3} {r.EncodeMBs,9:F0} {r.DecodeMBs,9:F0} {Format(r.QoiEncodeMBs, 8, "F0")} {Format(r.QoiDecodeMBs, 8, "F0")} {Format(r.EncodeVsQoi, 7, "F2")} {Format(r.DecodeVsQoi, 7, "F2")} {(r.BitExact ? "yes" : "NO"),5}");

    public static void PrintSummary(TextWriter output, IReadOnlyList<BenchResult> results)
    {
        foreach (var group in results.GroupBy(r => r.Mode))
        {
            var modeResults = group.ToList();
            var colour = modeResults.Where(r => r.QoiDecodeMBs is not null).ToList();
            output.WriteLine($"{"geometric mean",-28} {"",11} {"",2} {"",2} {group.Key,5} {"",12} {"",12} {GeometricMean(modeResults.Select(r => r.L3VsPng)),7:F3} {GeometricMean(modeResults.Select(r => r.EncodeMBs)),9:F0} {GeometricMean(modeResults.Select(r => r.DecodeMBs)),9:F0} {Format(Mean(colour, r => r.QoiEncodeMBs), 8, "F0")} {Format(Mean(colour, r => r.QoiDecodeMBs), 8, "F0")} {Format(Mean(colour, r => r.EncodeVsQoi), 7, "F2")} {Format(Mean(colour, r => r.DecodeVsQoi), 7, "F2")}");
        }
        var anyColour = results.Where(r => r.QoiDecodeMBs is not null).Select(r => r.Name).Distinct().Count();
        int images = results.Select(r => r.Name).Distinct().Count();
        if (anyColour > 0 && anyColour < images)
            output.WriteLine($"(QOI columns: the {anyColour} RGB/RGBA images; QOI has no gray mode)");
        output.WriteLine($"(speeds: MB of raw pixels a second, one thread, timed by {Timer.Name}; QOI = reference/Qoi, a C# port written from the QOI spec; mode rows = 0, dense = 1)");
    }

    private static double? Mean(List<BenchResult> results, Func<BenchResult, double?> value) =>
        results.Count == 0 ? null : GeometricMean(results.Select(r => value(r)!.Value));

    private static string Format(double? value, int width, string format) =>
        (value is null ? "-" : value.Value.ToString(format, System.Globalization.CultureInfo.InvariantCulture)).PadLeft(width);

    /// <summary>The bench's clock: the calling thread's CPU time on Linux, the wall clock elsewhere.</summary>
    private static unsafe class Timer
    {
        private const int ClockThreadCpuTimeId = 3;

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, long* timespec);

        private static readonly bool UseThreadCpu = OperatingSystem.IsLinux() && Probe();

        public static string Name => UseThreadCpu ? "thread_cpu" : "wall";

        private static bool Probe()
        {
            try
            {
                long* t = stackalloc long[2];
                return ClockGetTime(ClockThreadCpuTimeId, t) == 0;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }

        public static double Now()
        {
            if (!UseThreadCpu) return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
            long* t = stackalloc long[2];
            ClockGetTime(ClockThreadCpuTimeId, t);
            return t[0] + t[1] * 1e-9;
        }
    }
}
