using System.Collections.Concurrent;
using ILGPU.Runtime;

namespace L3.Loading;

/// <summary>
/// A ring of page-locked host buffers (pinning is slow: buffers are kept and reused). At most
/// <c>capacity</c> exist; a renter waits for one to come back, and a buffer too small for a request
/// is replaced by a larger one (a quarter larger, so sizes settle).
/// </summary>
internal sealed class PinnedPool<T>(Accelerator accelerator, int capacity, CancellationToken stop) : IDisposable where T : unmanaged
{
    private readonly BlockingCollection<PageLockedArray1D<T>> _free = new();
    private readonly object _gate = new();
    private int _count;
    private bool _disposed;

    public PageLockedArray1D<T> Rent(long length)
    {
        // renters run on threads of their own: pinning needs the accelerator's context current
        accelerator.Bind();
        PageLockedArray1D<T>? buffer = null;
        lock (_gate)
        {
            if (_count < capacity && !_free.TryTake(out buffer))
            {
                _count++;
                return accelerator.AllocatePageLocked1D<T>(Math.Max(16, length + length / 4));
            }
        }
        buffer ??= _free.Take(stop);
        if (buffer.Length >= length) return buffer;
        buffer.Dispose();
        return accelerator.AllocatePageLocked1D<T>(length + length / 4);
    }

    public void Return(PageLockedArray1D<T>? buffer)
    {
        if (buffer is null) return;
        lock (_gate)
        {
            if (!_disposed)
            {
                _free.Add(buffer);
                return;
            }
        }
        accelerator.Bind();
        buffer.Dispose();
    }

    public void Dispose()
    {
        lock (_gate) _disposed = true;
        accelerator.Bind();
        while (_free.TryTake(out var buffer)) buffer.Dispose();
    }
}
