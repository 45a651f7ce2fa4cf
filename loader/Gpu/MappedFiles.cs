using System.IO.MemoryMappedFiles;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace L3.Loading;

/// <summary>
/// A dataset's shard files mapped read-only and registered with the CUDA driver
/// (<c>cuMemHostRegister</c>, read-only), so that the device copies each sample's touched patch rows
/// straight out of the page cache: no host thread copies pixel data, the host only reads headers.
/// The host never reads the mappings (a file truncated under the loader cannot fault it); the pages
/// stay pinned while registered, so the whole dataset must fit comfortably in memory.
/// </summary>
internal sealed unsafe class MappedFiles : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly List<(MemoryMappedFile File, MemoryMappedViewAccessor View, IntPtr Address, bool Registered)> _files = [];

    private MappedFiles(Accelerator accelerator) => _accelerator = accelerator;

    public IntPtr AddressOf(int file, long offset) => _files[file].Address + (nint)offset;

    /// <summary>Maps and registers <paramref name="files"/>; null, with the reason, where that is not
    /// possible or not wise (not CUDA, no files, more than half of the memory, a driver that refuses).</summary>
    public static MappedFiles? TryMap(Accelerator accelerator, IReadOnlyList<(string Path, long Length)> files, out string why)
    {
        if (accelerator is not CudaAccelerator) { why = "not a CUDA device"; return null; }
        if (files.Count == 0) { why = "the samples are files of their own"; return null; }
        long total = files.Sum(f => f.Length);
        long memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (total > memory / 2) { why = $"the dataset ({total / 1e9:F1} GB) is more than half of the memory ({memory / 1e9:F1} GB)"; return null; }
        var mapped = new MappedFiles(accelerator);
        try
        {
            accelerator.Bind();
            foreach (var (path, length) in files)
            {
                if (length == 0) throw new IOException($"{path} is empty");
                var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                var address = (IntPtr)(pointer + view.PointerOffset);
                var error = CudaAPI.CurrentAPI.MemHostRegister(address, (IntPtr)length,
                    MemHostRegisterFlags.CU_MEMHOSTREGISTER_READ_ONLY | MemHostRegisterFlags.CU_MEMHOSTREGISTER_PORTABLE);
                mapped._files.Add((file, view, address, error == CudaError.CUDA_SUCCESS));
                if (error != CudaError.CUDA_SUCCESS) throw new IOException($"cuMemHostRegister of {Path.GetFileName(path)} failed: {error}");
            }
            why = "";
            return mapped;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            mapped.Dispose();
            why = e.Message;
            return null;
        }
    }

    public void Dispose()
    {
        _accelerator.Bind();
        foreach (var (file, view, address, registered) in _files)
        {
            if (registered) CudaAPI.CurrentAPI.MemHostUnregister(address);
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        }
        _files.Clear();
    }
}
