using L3.Kernels;

namespace L3.Gpu.Tests;

/// <summary>The dense kernels' launch shapes: the grid covers every patch with no group to spare, and a
/// launch the kernels cannot take is refused when it is named.</summary>
public sealed class DenseLaunchTests
{
    [Theory]
    [InlineData(8)] [InlineData(16)] [InlineData(32)] [InlineData(64)]
    public void The_grid_covers_every_patch_and_no_group_is_empty(int patchSize)
    {
        int patchesPerWarp = 32 / (patchSize / DenseLayout.LaneColumns);
        foreach (var launch in new[] { DenseLaunch.Cuda, DenseLaunch.Emulated, new DenseLaunch(256, 4), new DenseLaunch(32, 0) })
        {
            int patchesPerGroup = launch.ThreadsPerGroup / 32 * patchesPerWarp;
            foreach (long patches in new long[] { 1, patchesPerGroup - 1, patchesPerGroup, patchesPerGroup + 1, 512 * 64 + 3 })
            {
                if (patches < 1) continue;
                var config = launch.Config(patches, patchSize);
                Assert.Equal(launch.ThreadsPerGroup, config.GroupDim.X);
                long groups = config.GridDim.X;
                Assert.True(groups * patchesPerGroup >= patches, $"{launch}: {groups} groups for {patches} patches of N = {patchSize}");
                Assert.True((groups - 1) * patchesPerGroup < patches, $"{launch}: a group to spare for {patches} patches of N = {patchSize}");
            }
        }
    }

    [Fact]
    public void A_launch_is_parsed_as_threads_by_groups_and_a_bad_one_is_refused()
    {
        Assert.Equal(new DenseLaunch(512, 2), DenseLaunch.Parse("512x2"));
        Assert.Equal(new DenseLaunch(128, 0), DenseLaunch.Parse("128x0"));
        Assert.Equal("256x4", new DenseLaunch(256, 4).ToString());
        // more threads than the kernels' shared memory is sized for, not whole warps, no groups, junk
        foreach (var bad in new[] { "1024x1", "100x2", "0x2", "512x-1", "512", "x2", "512x2x1", "" })
            Assert.Throws<FormatException>(() => DenseLaunch.Parse(bad));
        Assert.True(DenseLaunch.Cuda.ThreadsPerGroup <= GpuDenseDecodeKernel.MaxThreadsPerGroup);
    }
}
