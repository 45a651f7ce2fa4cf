using System.Runtime.InteropServices;

namespace L3.Interop;

/// <summary>
/// The CUDA driver calls that order libtorch's work (the device's primary context, its legacy
/// default stream, where TorchSharp runs unless told otherwise) after the loader's (ILGPU's own
/// context): a stream may wait on an event of another context; nothing waits on the host.
/// </summary>
internal static class CudaOrdering
{
    private const string Driver = "libcuda.so.1";
    private const uint DisableTiming = 2;  // CU_EVENT_DISABLE_TIMING
    private const int NotReady = 600;      // CUDA_ERROR_NOT_READY

    [DllImport(Driver)] private static extern int cuDeviceGet(out int device, int ordinal);
    [DllImport(Driver)] private static extern int cuDevicePrimaryCtxRetain(out IntPtr context, int device);
    [DllImport(Driver, EntryPoint = "cuCtxPushCurrent_v2")] private static extern int cuCtxPushCurrent(IntPtr context);
    [DllImport(Driver, EntryPoint = "cuCtxPopCurrent_v2")] private static extern int cuCtxPopCurrent(out IntPtr context);
    [DllImport(Driver)] private static extern int cuStreamWaitEvent(IntPtr stream, IntPtr cudaEvent, uint flags);
    [DllImport(Driver)] private static extern int cuEventCreate(out IntPtr cudaEvent, uint flags);
    [DllImport(Driver)] private static extern int cuEventRecord(IntPtr cudaEvent, IntPtr stream);
    [DllImport(Driver)] private static extern int cuEventQuery(IntPtr cudaEvent);
    [DllImport(Driver, EntryPoint = "cuEventDestroy_v2")] private static extern int cuEventDestroy(IntPtr cudaEvent);

    [DllImport(Driver)] private static extern int cuCtxGetCurrent(out IntPtr context);
    [DllImport(Driver)] private static extern int cuCtxSetCurrent(IntPtr context);

    private static readonly Dictionary<int, IntPtr> Primary = new();

    /// <summary>
    /// Runs <paramref name="body"/> (a call into the loader) and gives the calling thread back the CUDA
    /// context it had: ILGPU makes its own context current, and libtorch's next call must find the
    /// primary one. Without a CUDA driver it just runs the body.
    /// </summary>
    public static T KeepingCurrentContext<T>(Func<T> body)
    {
        IntPtr saved;
        try { if (cuCtxGetCurrent(out saved) != 0) saved = IntPtr.Zero; }
        catch (DllNotFoundException) { return body(); }
        try { return body(); }
        finally { cuCtxSetCurrent(saved); }
    }

    /// <summary>Makes the primary context's default stream wait for <paramref name="readyEvent"/> (0: nothing to wait for).</summary>
    public static void DefaultStreamWaits(int device, IntPtr readyEvent)
    {
        if (readyEvent == IntPtr.Zero) return;
        InPrimary(device, () => Check(cuStreamWaitEvent(IntPtr.Zero, readyEvent, 0), "cuStreamWaitEvent"));
    }

    public static IntPtr RecordOnDefaultStream(int device)
    {
        IntPtr recorded = IntPtr.Zero;
        InPrimary(device, () =>
        {
            Check(cuEventCreate(out recorded, DisableTiming), "cuEventCreate");
            Check(cuEventRecord(recorded, IntPtr.Zero), "cuEventRecord");
        });
        return recorded;
    }

    public static bool HasPassed(IntPtr cudaEvent)
    {
        int result = cuEventQuery(cudaEvent);
        if (result == NotReady) return false;
        Check(result, "cuEventQuery");
        return true;
    }

    public static void Destroy(IntPtr cudaEvent) => cuEventDestroy(cudaEvent);

    private static void InPrimary(int device, Action body)
    {
        IntPtr context;
        lock (Primary)
        {
            if (!Primary.TryGetValue(device, out context))
            {
                Check(cuDeviceGet(out int handle, device), "cuDeviceGet");
                Check(cuDevicePrimaryCtxRetain(out context, handle), "cuDevicePrimaryCtxRetain");
                Primary[device] = context;
            }
        }
        Check(cuCtxPushCurrent(context), "cuCtxPushCurrent");
        try { body(); }
        finally { cuCtxPopCurrent(out _); }
    }

    private static void Check(int result, string call)
    {
        if (result != 0) throw new InvalidOperationException($"{call} failed: CUDA error {result}");
    }
}
