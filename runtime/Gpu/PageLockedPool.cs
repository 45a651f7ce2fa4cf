using ILGPU.Runtime;

namespace L3.Gpu;

/// <summary>
/// Page-locked host buffers kept for reuse: pinning memory costs far more than filling it (the
/// first touch of every page, and the driver's pinning), so a loader that prepares batch after
/// batch takes a buffer back from here instead of pinning a new one each time.
/// </summary>
internal sealed class PageLockedPool(Accelerator accelerator) : IDisposable
{
    /// <summary>Buffers kept when returned; more are freed.</summary>
    private const int Kept = 4;

    private readonly List<PageLockedArray1D<uint>> _free = [];
    private bool _disposed;

    /// <summary>A buffer of at least <paramref name="words"/> words, its contents whatever they were.</summary>
    public PageLockedArray1D<uint> Rent(long words)
    {
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int best = -1;
            for (int i = 0; i < _free.Count; i++)
                if (_free[i].Length >= words && (best < 0 || _free[i].Length < _free[best].Length)) best = i;
            if (best >= 0)
            {
                var buffer = _free[best];
                _free.RemoveAt(best);
                return buffer;
            }
        }
        // an eighth to spare, so that a slightly larger next batch fits too
        return accelerator.AllocatePageLocked1D<uint>(words + words / 8);
    }

    /// <summary>Takes a buffer back; beyond <see cref="Kept"/> buffers the smallest is freed (a large
    /// one is what is expensive to pin again), and every one once the pool is gone.</summary>
    public void Return(PageLockedArray1D<uint> buffer)
    {
        PageLockedArray1D<uint>? freed = buffer;
        lock (_free)
        {
            if (!_disposed)
            {
                _free.Add(buffer);
                freed = null;
                if (_free.Count > Kept)
                {
                    int smallest = 0;
                    for (int i = 1; i < _free.Count; i++)
                        if (_free[i].Length < _free[smallest].Length) smallest = i;
                    freed = _free[smallest];
                    _free.RemoveAt(smallest);
                }
            }
        }
        freed?.Dispose();
    }

    public void Dispose()
    {
        lock (_free)
        {
            _disposed = true;
            foreach (var buffer in _free) buffer.Dispose();
            _free.Clear();
        }
    }
}
