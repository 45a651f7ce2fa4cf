using ILGPU;
using ILGPU.Runtime;

namespace L3.Loading;

/// <summary>
/// One batch on the device: the tensor (shape N×C×H×W or N×H×W×C, <see cref="Type"/> elements),
/// as an ILGPU view and as a raw device pointer for other CUDA code, with the labels and where
/// each entry came from. It is complete when handed out (its stream has finished it); its
/// <see cref="ReadyEvent"/> marks that point for CUDA code that orders work by events. Dispose
/// gives its memory back to the loader for a later batch: do so once the device work that reads
/// it is done.
/// </summary>
public sealed class L3DeviceBatch : IDisposable
{
    private readonly L3Loader _loader;
    private MemoryBuffer1D<ulong, Stride1D.Dense>? _buffer;
    private readonly DeviceEvent? _ready;

    internal L3DeviceBatch(L3Loader loader, MemoryBuffer1D<ulong, Stride1D.Dense> buffer, long bytes, int[] shape, OutputType type,
        TensorLayout layout, AcceleratorStream stream, DeviceEvent? ready, int[] labels, long[] samples, int valid, long epoch, int index, CropBox[] crops)
    {
        _loader = loader;
        _buffer = buffer;
        Stream = stream;
        _ready = ready;
        Bytes = bytes;
        Shape = shape;
        Type = type;
        Layout = layout;
        Labels = labels;
        Samples = samples;
        Valid = valid;
        Epoch = epoch;
        Index = index;
        Crops = crops;
    }

    /// <summary>The tensor's dimensions: N, C, H, W (channels first) or N, H, W, C (channels last).</summary>
    public IReadOnlyList<int> Shape { get; }
    public OutputType Type { get; }
    public TensorLayout Layout { get; }
    public long Bytes { get; }
    public int Count => Shape[0];
    /// <summary>Per entry: its label (−1: none), its sample number, its crop (in its image's pixels).</summary>
    public IReadOnlyList<int> Labels { get; }
    public IReadOnlyList<long> Samples { get; }
    public IReadOnlyList<CropBox> Crops { get; }
    /// <summary>Entries that are real; the rest repeat the last real one (<see cref="LastBatchPolicy.Pad"/>).</summary>
    public int Valid { get; }
    public long Epoch { get; }
    public int Index { get; }

    /// <summary>The tensor's bytes on the device.</summary>
    public ArrayView<byte> View => Buffer.View.AsContiguous().Cast<byte>().SubView(0, Bytes);

    /// <summary>The tensor's device address (a CUDA device pointer on a GPU), valid until disposed.</summary>
    public IntPtr DevicePointer => Buffer.NativePtr;

    /// <summary>The stream that wrote the tensor (already finished), for CUDA code that orders after it.</summary>
    public AcceleratorStream Stream { get; }

    /// <summary>A <c>CUevent</c> recorded after the kernels that wrote the tensor (already complete when
    /// the batch is handed out), for CUDA code in another context to wait on with
    /// <c>cuStreamWaitEvent</c>; <see cref="IntPtr.Zero"/> on ILGPU's CPU accelerator.</summary>
    public IntPtr ReadyEvent => _ready?.Handle ?? IntPtr.Zero;

    /// <summary>Always true: <see cref="L3Loader.Next"/> returns a finished batch.</summary>
    public bool IsReady => true;

    /// <summary>Waits until the tensor is written (it already is when handed out; kept for code
    /// written against events).</summary>
    public void WaitReady() => _ready?.Synchronize();

    private MemoryBuffer1D<ulong, Stride1D.Dense> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(L3DeviceBatch));

    /// <summary>The tensor copied to the host (tests, checks).</summary>
    public byte[] CopyToHost()
    {
        var host = new byte[Bytes];
        _loader.Accelerator.Bind();
        View.CopyToCPU(Stream, host);
        Stream.Synchronize();
        return host;
    }

    /// <summary>Entry <paramref name="index"/>'s bytes of a host copy.</summary>
    public ReadOnlySpan<byte> Entry(byte[] host, int index)
    {
        long each = Bytes / Count;
        return host.AsSpan((int)(each * index), (int)each);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is null) return;
        _ready?.Dispose();
        _loader.ReturnOutput(buffer);
    }
}
