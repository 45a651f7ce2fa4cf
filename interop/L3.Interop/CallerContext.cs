using System.Runtime.InteropServices;

namespace L3.Interop;

/// <summary>
/// Keeps the caller's current CUDA context across a call into the loader. ILGPU makes its own
/// context current on the calling thread (creating it, binding it for launches and copies); a
/// caller such as torch works in the primary context and, with ILGPU's left current, its next
/// runtime call fails ("invalid argument"). So every loader entry point restores what was current.
/// Without a CUDA driver it does nothing.
/// </summary>
internal readonly unsafe struct CallerContext : IDisposable
{
    private static readonly delegate* unmanaged<IntPtr*, int> GetCurrent;
    private static readonly delegate* unmanaged<IntPtr, int> SetCurrent;

    static CallerContext()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out var driver)
            && NativeLibrary.TryGetExport(driver, "cuCtxGetCurrent", out var get)
            && NativeLibrary.TryGetExport(driver, "cuCtxSetCurrent", out var set))
        {
            GetCurrent = (delegate* unmanaged<IntPtr*, int>)get;
            SetCurrent = (delegate* unmanaged<IntPtr, int>)set;
        }
    }

    private readonly IntPtr _context;
    private readonly bool _active;

    private CallerContext(IntPtr context)
    {
        _context = context;
        _active = true;
    }

    /// <summary>Notes the calling thread's current context (none before the driver is initialized).</summary>
    public static CallerContext Save()
    {
        if (GetCurrent == null) return default;
        IntPtr context;
        return new CallerContext(GetCurrent(&context) == 0 ? context : IntPtr.Zero);
    }

    public void Dispose()
    {
        if (_active) SetCurrent(_context);
    }
}
