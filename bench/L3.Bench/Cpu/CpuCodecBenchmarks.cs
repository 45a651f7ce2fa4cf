using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using L3.Cpu;
using L3.Qoi;

namespace L3.Bench.Cpu;

/// <summary>Shared set-up: one image, its L3 / QOI / PNG files, output buffers; a column of MB/s of raw pixels.</summary>
[Config(typeof(CpuConfig))]
public abstract class CpuBenchmarkBase
{
    [ParamsSource(nameof(Images))]
    public string Image { get; set; } = "";

    public static IEnumerable<string> Images() => BenchImages.ColourImages();

    protected L3Image Pixels = null!;
    protected byte[] L3File = null!, QoiFile = null!, PngFile = null!;
    protected byte[] Target = null!, QoiBuffer = null!, RgbaScratch = null!, PngTarget = null!;

    [GlobalSetup]
    public void Setup()
    {
        Pixels = BenchImages.Load(Image);
        L3File = L3Codec.Encode(Pixels);
        QoiFile = QoiCodec.Encode(Pixels.Pixels, Pixels.Width, Pixels.Height, Pixels.Channels);
        RgbaScratch = new byte[Pixels.Width * Pixels.Height * 4];
        PngFile = BenchImages.EncodePng(Pixels, RgbaScratch);
        Target = new byte[Pixels.Pixels.Length];
        PngTarget = new byte[Pixels.Width * Pixels.Height * 4];
        QoiBuffer = new byte[QoiCodec.MaxEncodedLength(Pixels.Width, Pixels.Height, Pixels.Channels)];
        // every codec must round-trip before it is timed
        if (!L3Codec.Decode(L3File).Pixels.AsSpan().SequenceEqual(Pixels.Pixels)) throw new InvalidOperationException("L3 round trip");
        if (!QoiCodec.Decode(QoiFile).Pixels.AsSpan().SequenceEqual(Pixels.Pixels)) throw new InvalidOperationException("QOI round trip");
    }

    private sealed class CpuConfig : ManualConfig
    {
        public CpuConfig()
        {
            // a shared, noisy 2-core machine: few but repeated measurements; ratios to QOI (the baseline) are what to read
            AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(9).WithLaunchCount(1));
            AddColumn(new ThroughputColumn());
            AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByParams, BenchmarkLogicalGroupRule.ByCategory);
            HideColumns(Column.Error, Column.StdDev);
        }
    }
}

/// <summary>Decode: L3 on each CPU path and patch-parallel, against QOI (baseline) and PNG.</summary>
public class CpuDecodeBenchmarks : CpuBenchmarkBase
{
    [Benchmark(Baseline = true, Description = "QOI decode")]
    public void Qoi() => QoiCodec.Decode(QoiFile, Target);

    [Benchmark(Description = "L3 decode (auto path)")]
    public void L3() => L3Codec.Decode(L3File, Target);

    [Benchmark(Description = "L3 decode Vector512")]
    public void L3Vector512() => Decode(CpuPath.Vector512);

    [Benchmark(Description = "L3 decode Vector256")]
    public void L3Vector256() => Decode(CpuPath.Vector256);

    [Benchmark(Description = "L3 decode Vector128")]
    public void L3Vector128() => Decode(CpuPath.Vector128);

    [Benchmark(Description = "L3 decode scalar")]
    public void L3Scalar() => Decode(CpuPath.Scalar);

    [Benchmark(Description = "L3 decode, all cores")]
    public void L3AllCores() => L3Codec.Decode(L3File, Target, new L3DecodeOptions { MaxDegreeOfParallelism = Environment.ProcessorCount });

    [Benchmark(Description = "PNG decode (SkiaSharp)")]
    public void Png() => BenchImages.DecodePng(PngFile, PngTarget);

    private void Decode(CpuPath path)
    {
        if (!CpuPaths.IsSupported(path)) throw new NotSupportedException($"{path} is not supported here");
        L3Codec.Decode(L3File, Target, new L3DecodeOptions { Path = path });
    }
}

/// <summary>Encode: L3 on each CPU path, against QOI (baseline) and PNG level 6.</summary>
public class CpuEncodeBenchmarks : CpuBenchmarkBase
{
    [Benchmark(Baseline = true, Description = "QOI encode")]
    public int Qoi() => QoiCodec.Encode(Pixels.Pixels, Pixels.Width, Pixels.Height, Pixels.Channels, QoiBuffer);

    [Benchmark(Description = "L3 encode (auto path)")]
    public byte[] L3() => L3Codec.Encode(Pixels);

    [Benchmark(Description = "L3 encode Vector128")]
    public byte[] L3Vector128() => L3Codec.Encode(Pixels, new L3EncodeOptions { Path = CpuPath.Vector128 });

    [Benchmark(Description = "L3 encode scalar")]
    public byte[] L3Scalar() => L3Codec.Encode(Pixels, new L3EncodeOptions { Path = CpuPath.Scalar });

    [Benchmark(Description = "PNG-6 encode (SkiaSharp)")]
    public byte[] Png() => BenchImages.EncodePng(Pixels, RgbaScratch);
}
