using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace L3.Loading;

/// <summary>
/// A CUDA event recorded on a stream (ILGPU exposes the driver's events but no wrapper): other CUDA
/// code, in this context or another (e.g. PyTorch's), orders its work after the point it marks with
/// <c>cuStreamWaitEvent</c> instead of waiting on the host. None on ILGPU's CPU accelerator, whose
/// streams finish their work before a launch returns.
/// </summary>
public sealed class DeviceEvent : IDisposable
{
    private readonly Accelerator _accelerator;
    private IntPtr _handle;

    private DeviceEvent(Accelerator accelerator, IntPtr handle)
    {
        _accelerator = accelerator;
        _handle = handle;
    }

    /// <summary>The <c>CUevent</c>, valid until disposed.</summary>
    public IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(DeviceEvent));

    /// <summary>An event recorded on <paramref name="stream"/> now, or null when it is not a CUDA stream.</summary>
    public static DeviceEvent? RecordOn(AcceleratorStream stream)
    {
        if (stream is not CudaStream cuda) return null;
        var api = CudaAPI.CurrentAPI;
        Check(api.CreateEvent(out var handle, CudaEventFlags.CU_EVENT_DISABLE_TIMING | CudaEventFlags.CU_EVENT_BLOCKING_SYNC), "cuEventCreate");
        var recorded = new DeviceEvent(stream.Accelerator, handle);
        Check(api.RecordEvent(handle, cuda.StreamPtr), "cuEventRecord");
        return recorded;
    }

    /// <summary>An event that keeps time, to be recorded again and again (<see cref="Record"/>), or null
    /// on a device that is not CUDA: for timing the device's stages (<see cref="MillisecondsBetween"/>).</summary>
    public static DeviceEvent? Timed(Accelerator accelerator)
    {
        if (accelerator is not CudaAccelerator) return null;
        accelerator.Bind();
        Check(CudaAPI.CurrentAPI.CreateEvent(out var handle, CudaEventFlags.CU_EVENT_DEFAULT), "cuEventCreate");
        return new DeviceEvent(accelerator, handle);
    }

    /// <summary>Marks the point <paramref name="stream"/> has reached (a CUDA stream).</summary>
    public void Record(AcceleratorStream stream) =>
        Check(CudaAPI.CurrentAPI.RecordEvent(Handle, ((CudaStream)stream).StreamPtr), "cuEventRecord");

    /// <summary>Milliseconds of device time between two timed events, both done.</summary>
    public static double MillisecondsBetween(DeviceEvent start, DeviceEvent end)
    {
        Check(CudaAPI.CurrentAPI.ElapsedTime(out float milliseconds, start.Handle, end.Handle), "cuEventElapsedTime");
        return milliseconds;
    }

    /// <summary>Waits on the host until the marked work is done, asleep (a blocking-sync event).</summary>
    public void Synchronize()
    {
        _accelerator.Bind();
        Check(CudaAPI.CurrentAPI.SynchronizeEvent(Handle), "cuEventSynchronize");
    }

    /// <summary>A failed CUDA driver call as an exception naming the call.</summary>
    internal static void Check(CudaError error, string call)
    {
        if (error != CudaError.CUDA_SUCCESS) throw new InvalidOperationException($"{call} failed: {error}");
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (handle == IntPtr.Zero) return;
        _accelerator.Bind();
        CudaAPI.CurrentAPI.DestroyEvent(handle);
    }
}
