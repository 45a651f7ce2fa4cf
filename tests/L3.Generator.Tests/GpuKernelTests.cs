using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using L3.Generator.Tests.Profiles;
using Xunit;

namespace L3.Generator.Tests;

/// <summary>One ILGPU CPU accelerator (emulating a CUDA device, warp 32) shared by the GPU tests.</summary>
public sealed class AcceleratorFixture : IDisposable
{
    public Context Context { get; } = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia));
    public Accelerator Accelerator { get; }

    public AcceleratorFixture() => Accelerator = Context.CreateCPUAccelerator(0);

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

/// <summary>The generated ILGPU kernels, run on ILGPU's CPU accelerator, must decode bit for bit
/// what the generic runtime decoder does.</summary>
public sealed class GpuKernelTests(AcceleratorFixture gpu) : IClassFixture<AcceleratorFixture>
{
    private static byte[] Generic(byte[] file)
    {
        using var _ = L3Profiles.UseGenericPath();
        return L3Codec.Decode(file).Pixels;
    }

    [Theory]
    [InlineData(1, 11)]
    [InlineData(3, 13)]
    [InlineData(4, 9)]
    public void N8_W37_kernel_matches_generic_decoder(int channels, int height)
    {
        var pixels = Images.Random(L3Profile_N8_W37.Width, height, channels, seed: 100 + channels);
        byte[] file = L3Profile_N8_W37.Encode(pixels, height, channels);
        var decoded = new byte[pixels.Length];
        L3Profile_N8_W37.DecodeOnAccelerator(gpu.Accelerator, file, decoded);
        Assert.Equal(Generic(file), decoded);
        Assert.Equal(pixels, decoded);
    }
}
