using System.Diagnostics;

namespace L3.Loading;

/// <summary>Where a loader's threads spend their time, summed over all threads (stopwatch ticks),
/// for benchmarks: which stage bounds the rate, and what each image costs on the host.</summary>
public sealed class LoaderTimings
{
    internal long OpenTicks, ReadTicks, FillTicks, LayoutTicks, SubmitTicks, WaitTicks, Images;
    /// <summary>Device time of the batches timed (<see cref="LoaderOptions.TimeDevice"/>), in microseconds.</summary>
    internal long UploadMicroseconds, DecodeMicroseconds, OutputMicroseconds, TimedBatches;

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
    /// <summary>Device time per batch (<see cref="LoaderOptions.TimeDevice"/>): the upload, from the
    /// batch's start on its stream (so including any wait for the copy engine) to its data's arrival;
    /// the task writer and decode; the output stage. Zero when not timed.</summary>
    public TimeSpan DeviceUploadPerBatch => PerBatch(UploadMicroseconds);
    public TimeSpan DeviceDecodePerBatch => PerBatch(DecodeMicroseconds);
    public TimeSpan DeviceOutputPerBatch => PerBatch(OutputMicroseconds);
    private TimeSpan PerBatch(long microseconds) => TimedBatches == 0 ? TimeSpan.Zero : TimeSpan.FromMicroseconds((double)microseconds / TimedBatches);

    internal void AddDevice(double uploadMs, double decodeMs, double outputMs)
    {
        Interlocked.Add(ref UploadMicroseconds, (long)(uploadMs * 1000));
        Interlocked.Add(ref DecodeMicroseconds, (long)(decodeMs * 1000));
        Interlocked.Add(ref OutputMicroseconds, (long)(outputMs * 1000));
        Interlocked.Increment(ref TimedBatches);
    }

    /// <summary>Images prepared.</summary>
    public long PreparedImages => Interlocked.Read(ref Images);

    /// <summary>A copy of the counters now, to measure a span of work with <see cref="Since"/>.</summary>
    public LoaderTimings Snapshot() => new()
    {
        OpenTicks = Interlocked.Read(ref OpenTicks), ReadTicks = Interlocked.Read(ref ReadTicks), FillTicks = Interlocked.Read(ref FillTicks),
        LayoutTicks = Interlocked.Read(ref LayoutTicks), SubmitTicks = Interlocked.Read(ref SubmitTicks), WaitTicks = Interlocked.Read(ref WaitTicks),
        Images = Interlocked.Read(ref Images),
        UploadMicroseconds = Interlocked.Read(ref UploadMicroseconds), DecodeMicroseconds = Interlocked.Read(ref DecodeMicroseconds),
        OutputMicroseconds = Interlocked.Read(ref OutputMicroseconds), TimedBatches = Interlocked.Read(ref TimedBatches),
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
            UploadMicroseconds = now.UploadMicroseconds - earlier.UploadMicroseconds, DecodeMicroseconds = now.DecodeMicroseconds - earlier.DecodeMicroseconds,
            OutputMicroseconds = now.OutputMicroseconds - earlier.OutputMicroseconds, TimedBatches = now.TimedBatches - earlier.TimedBatches,
        };
    }

    internal static long Now => Stopwatch.GetTimestamp();
    internal static void Add(ref long counter, long since) => Interlocked.Add(ref counter, Stopwatch.GetTimestamp() - since);

    public override string ToString()
    {
        double perImage(TimeSpan t) => PreparedImages == 0 ? 0 : t.TotalMilliseconds / PreparedImages;
        return $"per image: open {perImage(Open):F3} ms, fill {perImage(Fill):F3} ms (read {perImage(Read):F3}), layout {perImage(Layout):F3} ms; " +
               $"device thread {perImage(Submit):F3} ms, completion wait {perImage(DeviceWait):F3} ms" +
               (TimedBatches == 0 ? "" : $"; device per batch: upload {DeviceUploadPerBatch.TotalMilliseconds:F2} ms, tasks and decode " +
                                         $"{DeviceDecodePerBatch.TotalMilliseconds:F2} ms, output {DeviceOutputPerBatch.TotalMilliseconds:F2} ms");
    }
}
