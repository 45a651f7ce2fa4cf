using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace L3.Bench.Cpu;

/// <summary>MB/s of raw pixels (width × height × channels) from the benchmark's mean time.</summary>
public sealed class ThroughputColumn : IColumn
{
    private static readonly Dictionary<string, long> RawBytes = new();

    public string Id => "MBps";
    public string ColumnName => "MB/s (raw)";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "megabytes of decoded pixels a second (raw image size / mean time)";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null) return "-";
        string image = (string)benchmarkCase.Parameters["Image"];
        long raw;
        lock (RawBytes)
            if (!RawBytes.TryGetValue(image, out raw))
                RawBytes[image] = raw = BenchImages.Load(image).Pixels.LongLength;
        double seconds = report.ResultStatistics.Mean / 1e9;
        return (raw / seconds / 1e6).ToString("F0");
    }
}
