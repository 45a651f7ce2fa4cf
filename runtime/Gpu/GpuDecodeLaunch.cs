using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>
/// How files are laid out and launched for <see cref="GpuDecodeKernel"/>, in one place for
/// <see cref="L3GpuCodec"/> and for the decoders the generator emits per profile.
/// </summary>
public static class GpuDecodeLaunch
{
    /// <summary>Files start on 16-byte boundaries.</summary>
    public const int Alignment = 16;

    /// <summary>Zero bytes after the last file: the kernel reads up to 12 bytes past a group and
    /// takes the widths of rows that have none from here.</summary>
    public const int Padding = 16;

    /// <summary>A file's bytes rounded up to <see cref="Alignment"/>.</summary>
    public static long AlignedBytes(long fileBytes) => (fileBytes + Alignment - 1) / Alignment * Alignment;

    /// <summary>Threads per group on <paramref name="accelerator"/>: 128 on a GPU; a warp on ILGPU's
    /// CPU accelerator, where fewer threads a group run faster.</summary>
    public static int ThreadsPerGroup(Accelerator accelerator) =>
        accelerator.AcceleratorType == AcceleratorType.Cuda ? GpuDecodeKernel.ThreadsPerGroup : 32;

    /// <summary><see cref="ThreadsPerGroup"/> under the name the generator's profiles call today;
    /// to go once they launch through the library (issue 11, profiles).</summary>
    public static int GroupSize(Accelerator accelerator) => ThreadsPerGroup(accelerator);

    /// <summary>The shape of a launch over <paramref name="images"/> files of
    /// <paramref name="header"/>'s shape, the zero padding starting at byte <paramref name="paddingAt"/>.</summary>
    public static GpuDecodeShape Shape(L3Header header, int images, long paddingAt) => new()
    {
        Width = header.Width, Height = header.Height, PatchesX = header.PatchesX, PatchCount = header.PatchCount,
        Images = images, ImageBytes = checked((int)header.DecodedBytes), PayloadStart = header.PayloadStart,
        ZeroWord = checked((int)(paddingAt / 4)),
    };

    /// <summary>Groups to launch for <paramref name="shape"/>.</summary>
    public static int Groups(GpuDecodeShape shape, int patchSize, int threadsPerGroup) =>
        GpuDecodeKernel.GroupsFor((long)shape.Images * shape.PatchCount, patchSize, threadsPerGroup);
}
