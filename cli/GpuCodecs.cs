using L3.Gpu;

namespace L3.Cli;

/// <summary>The GPU codec behind `--gpu`, and the one line that says when it is only emulated.</summary>
internal static class GpuCodecs
{
    public const string EmulatorNotice =
        "l3: note: no CUDA GPU found; --gpu runs on ILGPU's CPU accelerator, an emulator far slower than the CPU codec (leave out --gpu for speed)";

    public static L3GpuCodec Open()
    {
        var codec = new L3GpuCodec();
        if (!codec.IsCuda) Console.Error.WriteLine(EmulatorNotice);
        return codec;
    }
}
