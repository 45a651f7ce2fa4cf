using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ILGPU.Runtime;
using L3.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace L3.Interop;

/// <summary>
/// The loader's batches as TorchSharp tensors, laid out as PyTorch's l3.Loader gives them: images
/// N×C×H×W (a channels-last batch is the same tensor with NHWC memory, as torch.channels_last),
/// labels int64. On ILGPU's CPU accelerator the images are a CPU tensor over the batch's host copy
/// (no further copy). On CUDA the tensor is the batch's device memory itself (libtorch's from_blob):
/// the default stream of the device's primary context waits on the batch's ReadyEvent, and when
/// the tensor's storage is released the batch goes back to the loader once the default stream has
/// passed that point (an event polled by the next <see cref="NextTensors"/>; docs/PYTHON.md).
/// </summary>
public static class TorchSharpBatches
{
    /// <summary>The loader's next batch as (images, labels); the padded entries of a last batch are left out.</summary>
    public static (Tensor Images, Tensor Labels) NextTensors(this L3Loader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        // ILGPU binds its context on this thread (returning batches, the next batch): libtorch's must be current after
        var batch = loader.Accelerator.AcceleratorType == AcceleratorType.Cuda
            ? CudaOrdering.KeepingCurrentContext(() => { Retirement.Reap(wait: false); return loader.Next(); })
            : loader.Next();
        Tensor images;
        try { images = batch.ToTensor(); }
        catch { batch.Dispose(); throw; }
        var labels = torch.tensor(batch.Labels.Select(l => (long)l).ToArray(), device: images.device);
        if (batch.Valid < batch.Count)
        {
            using var all = images;
            using var allLabels = labels;
            images = all[..batch.Valid];
            labels = allLabels[..batch.Valid];
        }
        return (images, labels);
    }

    /// <summary>
    /// The batch's images as a tensor that owns the batch: on the CPU accelerator over its host copy
    /// (the batch is disposed at once), on CUDA over its device memory (the batch is disposed after
    /// the tensor's storage is released and the device's default stream has passed it).
    /// </summary>
    public static Tensor ToTensor(this L3DeviceBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        long[] shape = batch.Shape.Select(d => (long)d).ToArray();
        var type = ScalarTypeOf(batch.Type);
        Tensor tensor;
        if (batch.View.GetAccelerator().AcceleratorType == AcceleratorType.Cuda)
        {
            int device = ((ILGPU.Runtime.Cuda.CudaAccelerator)batch.View.GetAccelerator()).DeviceId;
            torch.InitializeDeviceType(DeviceType.CUDA);
            CudaOrdering.DefaultStreamWaits(device, batch.ReadyEvent);
            tensor = Blob.Create(batch.DevicePointer, shape, type, DeviceType.CUDA, device, () => Retirement.Add(device, batch));
        }
        else
        {
            batch.WaitReady();
            byte[] host = batch.CopyToHost();
            batch.Dispose();
            var pinned = GCHandle.Alloc(host, GCHandleType.Pinned);
            tensor = Blob.Create(pinned.AddrOfPinnedObject(), shape, type, DeviceType.CPU, 0, () => pinned.Free());
        }
        if (batch.Layout == TensorLayout.ChannelsLast)
        {
            using var nhwc = tensor;
            tensor = nhwc.permute(0, 3, 1, 2);
        }
        return tensor;
    }

    public static ScalarType ScalarTypeOf(OutputType type) => type switch
    {
        OutputType.UInt8 => ScalarType.Byte,
        OutputType.Float32 => ScalarType.Float32,
        OutputType.Float16 => ScalarType.Float16,
        OutputType.BFloat16 => ScalarType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>libtorch's from_blob through LibTorchSharp's THSTensor_new: a tensor over memory it
    /// does not own, with a callback when its storage is released.</summary>
    private static unsafe class Blob
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate void Deleter(IntPtr data);

        [DllImport("LibTorchSharp")]
        private static extern IntPtr THSTensor_new(IntPtr data, Deleter deleter, long* sizes, int dimensions, sbyte type, sbyte dtype,
            int deviceType, int deviceIndex, [MarshalAs(UnmanagedType.U1)] bool requiresGrad);

        // the delegates libtorch holds, kept alive until it calls them
        private static readonly ConcurrentDictionary<Deleter, byte> Live = new();

        public static Tensor Create(IntPtr data, long[] shape, ScalarType type, DeviceType device, int index, Action released)
        {
            Deleter? deleter = null;
            deleter = _ =>
            {
                Live.TryRemove(deleter!, out byte _);
                released();
            };
            Live.TryAdd(deleter, 0);
            IntPtr handle;
            fixed (long* sizes = shape)
                handle = THSTensor_new(data, deleter, sizes, shape.Length, (sbyte)type, (sbyte)type, (int)device, index, false);
            if (handle == IntPtr.Zero)
            {
                Live.TryRemove(deleter, out byte _);
                released();
                torch.CheckForErrors();
                throw new InvalidOperationException("libtorch refused the batch's memory");
            }
            return Tensor.UnsafeCreateTensor(handle);
        }
    }

    /// <summary>Batches whose tensors were released, with an event on the default stream recorded then.</summary>
    private static class Retirement
    {
        private static readonly ConcurrentQueue<(IntPtr Event, L3DeviceBatch Batch)> Queue = new();

        public static void Add(int device, L3DeviceBatch batch) => Queue.Enqueue((CudaOrdering.RecordOnDefaultStream(device), batch));

        public static void Reap(bool wait)
        {
            int count = Queue.Count;
            for (int i = 0; i < count && Queue.TryDequeue(out var entry); i++)
            {
                if (wait || CudaOrdering.HasPassed(entry.Event))
                {
                    CudaOrdering.Destroy(entry.Event);
                    entry.Batch.Dispose();
                }
                else Queue.Enqueue(entry);
            }
        }
    }
}
