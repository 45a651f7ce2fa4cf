namespace L3.Gpu;

public sealed partial class L3GpuCodec
{
    private readonly object? _encodeInit;
    private object? LoadEncodeKernels() => null;
    private void DisposeEncode() { }
}
