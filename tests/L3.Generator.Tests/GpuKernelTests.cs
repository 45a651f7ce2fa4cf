using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using L3.Generator.Tests.Profiles;
using Xunit;
using L3.TestSupport;

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
/// what the generic runtime decoder does, on sizes that are not multiples of N and every channel
/// count.</summary>
public sealed class GpuKernelTests(AcceleratorFixture gpu) : IClassFixture<AcceleratorFixture>
{
    private delegate L3Header GpuDecoder(Accelerator accelerator, ReadOnlySpan<byte> file, Span<byte> pixels);

    private static readonly (string Name, int N, int Width, GpuDecoder Decode)[] Profiles =
    [
        (nameof(L3Profile_N8_W37), 8, L3Profile_N8_W37.Width, L3Profile_N8_W37.DecodeOnAccelerator),
        (nameof(L3Profile_N16_W100), 16, L3Profile_N16_W100.Width, L3Profile_N16_W100.DecodeOnAccelerator),
        (nameof(L3Profile_N32_W70), 32, L3Profile_N32_W70.Width, L3Profile_N32_W70.DecodeOnAccelerator),
        (nameof(L3Profile_N64_W130), 64, L3Profile_N64_W130.Width, L3Profile_N64_W130.DecodeOnAccelerator),
    ];

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var p in Profiles)
            foreach (int channels in new[] { 1, 3, 4 })
                data.Add(p.Name, channels);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kernel_matches_the_generic_decoder(string name, int channels)
    {
        var profile = Profiles.Single(p => p.Name == name);
        int height = profile.N + 3 + channels; // a partial bottom row of patches
        var pixels = SyntheticImages.Make(Pattern.Bands, profile.Width, height, channels, seed: name.Length * 10 + channels);
        byte[] file = L3Codec.Encode(pixels, profile.Width, height, channels, new L3EncodeOptions { PatchSize = profile.N });
        var decoded = new byte[pixels.Length];
        profile.Decode(gpu.Accelerator, file, decoded);
        Assert.Equal(RoundTripTests.GenericDecode(file), decoded);
        Assert.Equal(pixels, decoded);
        // the library's generic instantiation of the same kernel
        var generic = new byte[pixels.Length];
        L3.Gpu.GpuDecodeLaunch.DecodeOnAccelerator<L3.Kernels.AnyShape>(gpu.Accelerator, file, generic);
        Assert.Equal(generic, decoded);
    }

    /// <summary>A dense file (coding mode 1) through a profile's DecodeOnAccelerator: the dense
    /// patch-list kernel instantiated with the profile's shape, against the pixels and the generic shape.</summary>
    [Theory]
    [InlineData(nameof(L3Profile_N8_W37), 3)]
    [InlineData(nameof(L3Profile_N16_W100), 1)]
    [InlineData(nameof(L3Profile_N64_W130), 4)]
    public void Dense_files_decode_with_the_profiles_dense_kernel(string name, int channels)
    {
        var profile = Profiles.Single(p => p.Name == name);
        int height = profile.N + 5;
        var pixels = SyntheticImages.Make(Pattern.Bands, profile.Width, height, channels, seed: name.Length + channels);
        byte[] file = L3Codec.Encode(pixels, profile.Width, height, channels, new L3EncodeOptions { PatchSize = profile.N, Mode = L3CodingMode.Dense });
        var decoded = new byte[pixels.Length];
        profile.Decode(gpu.Accelerator, file, decoded);
        Assert.Equal(pixels, decoded);
        var generic = new byte[pixels.Length];
        L3.Gpu.GpuDecodeLaunch.DecodeOnAccelerator<L3.Kernels.AnyShape>(gpu.Accelerator, file, generic);
        Assert.Equal(generic, decoded);
    }

    [Fact]
    public void Kernel_of_a_profile_that_fixes_height_and_channels()
    {
        // the shape fixes the patch count and the image's bytes too: the kernel folds them
        var pixels = SyntheticImages.Make(Pattern.Bands, L3Profile_N8_W21_H19_C3.Width, L3Profile_N8_W21_H19_C3.Height, 3, seed: 21);
        byte[] file = L3Profile_N8_W21_H19_C3.Encode(pixels, L3Profile_N8_W21_H19_C3.Height, 3);
        var decoded = new byte[pixels.Length];
        L3Profile_N8_W21_H19_C3.DecodeOnAccelerator(gpu.Accelerator, file, decoded);
        Assert.Equal(pixels, decoded);
    }

    [Fact]
    public void Kernel_decodes_zero_rows_and_colour_transformed_patches()
    {
        // smooth colour: the encoder picks the colour transform, and many rows are zero rows
        const int w = L3Profile_N16_W100.Width, h = 21;
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int g = x + 2 * y;
                pixels[(y * w + x) * 3] = (byte)(g + 10);
                pixels[(y * w + x) * 3 + 1] = (byte)g;
                pixels[(y * w + x) * 3 + 2] = (byte)(g - 7);
            }
        byte[] file = L3Profile_N16_W100.Encode(pixels, h, 3);
        var header = L3Codec.ReadHeader(file);
        Assert.Contains(Enumerable.Range(0, header.PatchCount),
            i => (file[header.PayloadStart + header.PatchRange(i).Start] & PatchFormat.ColorTransformFlag) != 0);
        var decoded = new byte[pixels.Length];
        L3Profile_N16_W100.DecodeOnAccelerator(gpu.Accelerator, file, decoded);
        Assert.Equal(pixels, decoded);
    }

    [Fact]
    public void Host_validates_before_any_kernel_runs()
    {
        var pixels = SyntheticImages.Make(Pattern.Bands, L3Profile_N8_W37.Width, 12, 3, seed: 8);
        byte[] file = L3Profile_N8_W37.Encode(pixels, 12, 3);
        file[^1] ^= 0x10; // payload checksum no longer matches
        var output = new byte[pixels.Length];
        Assert.Throws<L3FormatException>(() => L3Profile_N8_W37.DecodeOnAccelerator(gpu.Accelerator, file, output));
        Assert.All(output, b => Assert.Equal(0, b));
    }
}
