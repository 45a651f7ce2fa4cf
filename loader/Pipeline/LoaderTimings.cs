using System.Diagnostics;

namespace L3.Loading;

/// <summary>Where a loader's threads spend their time, summed over all threads (stopwatch ticks),
/// for benchmarks: which stage bounds the rate, and what each image costs on the host.</summary>
public sealed class LoaderTimings
{
    internal long OpenTicks, ReadTicks, FillTicks, LayoutTicks, SubmitTicks, WaitTicks, Images;

    /// <summary>Headers and tables read and checked, crops chosen.</summary>
    public TimeSpan Open => Stopwatch.GetElapsedTime(0, OpenTicks);
    /// <summary>Patch rows read into page-locked memory (inside <see cref="Fill"/>).</summary>
    public TimeSpan Read => Stopwatch.GetElapsedTime(0, ReadTicks);
    /// <summary>Patch rows read and their decode tasks written.</summary>
    public TimeSpan Fill => Stopwatch.GetElapsedTime(0, FillTicks);
    /// <summary>The serial part of preparing a batch: layout, launches, buffer rental.</summary>
    public TimeSpan Layout => Stopwatch.GetElapsedTime(0, LayoutTicks);
    /// <summary>The device thread starting batches (uploads of tasks and parameters, launches).</summary>
    public TimeSpan Submit => Stopwatch.GetElapsedTime(0, SubmitTicks);
    /// <summary>The completion thread waiting for the device.</summary>
    public TimeSpan DeviceWait => Stopwatch.GetElapsedTime(0, WaitTicks);
    /// <summary>Images prepared.</summary>
    public long PreparedImages => Interlocked.Read(ref Images);

    /// <summary>A copy of the counters now, to measure a span of work with <see cref="Since"/>.</summary>
    public LoaderTimings Snapshot() => new()
    {
        OpenTicks = Interlocked.Read(ref OpenTicks), ReadTicks = Interlocked.Read(ref ReadTicks), FillTicks = Interlocked.Read(ref FillTicks),
        LayoutTicks = Interlocked.Read(ref LayoutTicks), SubmitTicks = Interlocked.Read(ref SubmitTicks), WaitTicks = Interlocked.Read(ref WaitTicks),
        Images = Interlocked.Read(ref Images),
    };

    /// <summary>The work done since <paramref name="earlier"/> (a <see cref="Snapshot"/>).</summary>
    public LoaderTimings Since(LoaderTimings earlier)
    {
        var now = Snapshot();
        return new LoaderTimings
        {
            OpenTicks = now.OpenTicks - earlier.OpenTicks, ReadTicks = now.ReadTicks - earlier.ReadTicks, FillTicks = now.FillTicks - earlier.FillTicks,
            LayoutTicks = now.LayoutTicks - earlier.LayoutTicks, SubmitTicks = now.SubmitTicks - earlier.SubmitTicks, WaitTicks = now.WaitTicks - earlier.WaitTicks,
            Images = now.Images - earlier.Images,
        };
    }

    internal static long Now => Stopwatch.GetTimestamp();
    internal static void Add(ref long counter, long since) => Interlocked.Add(ref counter, Stopwatch.GetTimestamp() - since);

    public override string ToString()
    {
        double perImage(TimeSpan t) => PreparedImages == 0 ? 0 : t.TotalMilliseconds / PreparedImages;
        return $"per image: open {perImage(Open):F3} ms, fill {perImage(Fill):F3} ms (read {perImage(Read):F3}), layout {perImage(Layout):F3} ms; " +
               $"device thread {perImage(Submit):F3} ms, completion wait {perImage(DeviceWait):F3} ms";
    }
}
