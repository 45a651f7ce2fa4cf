using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>
/// How the dense kernels (<see cref="GpuDenseDecodeKernel"/>) are launched: threads a group and, on
/// CUDA, the groups an SM must hold at once (the launch bound, which caps the registers a thread:
/// 65,536 / (threads × groups)); 0 groups = no bound. The kernels are written for any group of whole
/// warps: a warp's patches are its own, nothing is shared across warps.
/// </summary>
public readonly record struct DenseLaunch(int ThreadsPerGroup, int GroupsPerSM)
{
    /// <summary>
    /// On CUDA: groups of 512 threads, two an SM (64 registers a thread, half the SM's warps). A group
    /// decodes 16 warps' consecutive patches, so an SM's resident warps work on one or two images and
    /// their probability tables (54 KB a file) stay in L1, and its 20 KB of shared memory (context
    /// tables, the row above's pixels) is paid twice an SM, not eight times. On an H200 (bench/RESULTS.md,
    /// "Dense mode", 08:42 UTC): 241 GB/s, against 211 for 256 × 4, 196 for 512 × 1 and 113 for 128 × 8.
    /// </summary>
    public static DenseLaunch Cuda => new(512, 2);

    /// <summary>On ILGPU's CPU accelerator (tests): groups of 128 threads, no bound.</summary>
    public static DenseLaunch Emulated => new(128, 0);

    /// <summary>The launch for <paramref name="accelerator"/>: <see cref="Cuda"/> or <see cref="Emulated"/>.</summary>
    public static DenseLaunch For(Accelerator accelerator) =>
        accelerator.AcceleratorType == AcceleratorType.Cuda ? Cuda : Emulated;

    /// <summary>The grid for <paramref name="patches"/> patches of size <paramref name="patchSize"/>.</summary>
    public KernelConfig Config(long patches, int patchSize) =>
        new(GpuDenseDecodeKernel.GroupsFor(patches, patchSize, ThreadsPerGroup), ThreadsPerGroup);

    /// <summary>The launch bound to load the kernel with on <paramref name="accelerator"/> (CUDA only).</summary>
    public KernelSpecialization Bounds(Accelerator accelerator) =>
        accelerator.AcceleratorType == AcceleratorType.Cuda && GroupsPerSM > 0
            ? new KernelSpecialization(ThreadsPerGroup, GroupsPerSM) : KernelSpecialization.Empty;

    /// <summary>Parses "512x2" (threads × groups an SM).</summary>
    public static DenseLaunch Parse(string text)
    {
        var parts = text.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int threads) || !int.TryParse(parts[1], out int groups)
            || threads <= 0 || threads % 32 != 0 || threads > GpuDenseDecodeKernel.MaxThreadsPerGroup || groups < 0)
            throw new FormatException($"'{text}' is not a dense launch THREADSxGROUPS (threads a multiple of 32 up to " +
                                      $"{GpuDenseDecodeKernel.MaxThreadsPerGroup}, groups ≥ 0)");
        return new DenseLaunch(threads, groups);
    }

    public override string ToString() => $"{ThreadsPerGroup}x{GroupsPerSM}";
}
