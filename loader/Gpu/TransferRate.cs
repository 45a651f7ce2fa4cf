using System.Diagnostics;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace L3.Loading;

/// <summary>
/// The host→device copy rate of this machine now, the bound of a loader that moves compressed bytes
/// over PCIe: from page-locked memory, and from a dataset's files mapped and registered as the loader
/// maps them (<see cref="HostPath.MappedFiles"/>). For benchmarks, which report a loader's bytes a
/// second as a fraction of these, measured in the same run.
/// </summary>
public static class TransferRate
{
    /// <summary>GB/s (10⁹ bytes) of the two copies on <paramref name="accelerator"/> (a CUDA device),
    /// each timed over at least <paramref name="bytes"/>, after one untimed pass; NaN for the mapped
    /// rate where <paramref name="source"/>'s files cannot be mapped.</summary>
    public static (double PageLocked, double MappedFiles) Measure(Accelerator accelerator, SampleSource source, long bytes = 2L << 30)
    {
        var files = source.BackingFiles;
        if (accelerator is not CudaAccelerator) throw new NotSupportedException("the host→device rate is measured on a CUDA device");
        accelerator.Bind();
        const int chunk = 64 << 20;
        using var device = accelerator.Allocate1D<byte>(chunk);
        using var stream = accelerator.CreateStream();
        using var pinned = accelerator.AllocatePageLocked1D<byte>(chunk);
        double pageLocked = Time(bytes, () =>
        {
            device.View.CopyFrom(stream, pinned.ArrayView);
            return chunk;
        }, stream);

        double mapped = double.NaN;
        using var map = MappedFiles.TryMap(accelerator, files, out _);
        if (map is not null && files.Sum(f => f.Length) > 0)
        {
            int file = 0;
            long offset = 0;
            mapped = Time(bytes, () =>
            {
                // the files in turn, a chunk at a time, as the loader's copies read them
                while (offset >= files[file].Length) (file, offset) = ((file + 1) % files.Count, 0);
                int length = (int)Math.Min(chunk, files[file].Length - offset);
                DeviceEvent.Check(CudaAPI.CurrentAPI.MemcpyAsync(device.NativePtr, map.AddressOf(file, offset), length, stream), "cuMemcpyAsync");
                offset += length;
                return length;
            }, stream);
        }
        return (pageLocked, mapped);
    }

    /// <summary>GB/s of <paramref name="copy"/> (which starts a copy and returns its bytes) repeated
    /// over <paramref name="bytes"/>, after one untimed pass over the same.</summary>
    private static double Time(long bytes, Func<long> copy, AcceleratorStream stream)
    {
        for (long done = 0; done < bytes;) done += copy();
        stream.Synchronize();
        var clock = Stopwatch.StartNew();
        long moved = 0;
        while (moved < bytes) moved += copy();
        stream.Synchronize();
        return moved / clock.Elapsed.TotalSeconds / 1e9;
    }
}
