using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>The signature of a mode-1 patch-list decode kernel (<see cref="GpuDenseDecodeKernel.DecodePatchList{TShape}"/>):
/// what a generated profile hands the loader as its fused dense decode.</summary>
public delegate void DensePatchListDecodeKernel(
    ArrayView<byte> data, ArrayView<PatchTask> tasks, ArrayView<byte> slotRanks, ArrayView<uint> tokenEntries, ArrayView<ulong> outLongs,
    ArrayView<byte> outBytes, ArrayView<int> firstBad, int taskCount, SpecializedValue<int> patchSizeValue, SpecializedValue<int> channelsValue);

public static partial class GpuDenseDecodeKernel
{
    /// <summary>
    /// Decodes a list of mode-1 patches (of any files, at any places) to interleaved pixels: the
    /// loader's decode of dense samples, as <see cref="GpuDecodeKernel.DecodePatchList"/> is of row-coded
    /// ones. Patch size and channel count are one per launch; task i's file has the expanded tables
    /// set <see cref="PatchTask.Tables"/> of <paramref name="slotRanks"/> and <paramref name="tokenEntries"/>
    /// (each set as <c>DenseKernelTables</c> writes one file's). Every task was written and its
    /// structure checked on the device (<see cref="PatchTaskKernel"/>: a task switched off has width
    /// 0); the stream is checked here, and the smallest index of a task whose stream is corrupt goes
    /// to <paramref name="firstBad"/>[0] (an atomic minimum).
    /// </summary>
    public static void DecodePatchList(
        ArrayView<byte> data, ArrayView<PatchTask> tasks, ArrayView<byte> slotRanks, ArrayView<uint> tokenEntries, ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes, ArrayView<int> firstBad, int taskCount, SpecializedValue<int> patchSizeValue, SpecializedValue<int> channelsValue) =>
        DecodePatchList<AnyShape>(data, tasks, slotRanks, tokenEntries, outLongs, outBytes, firstBad, taskCount, patchSizeValue, channelsValue);

    /// <summary>
    /// <see cref="DecodePatchList"/> with the patch size and, when <typeparamref name="TShape"/> fixes it,
    /// the channel count read through the shape (<see cref="PatchShape"/>): a generated profile's fused
    /// dense decode. One segment of N / 8 lanes a task, 32 / (N / 8) tasks a warp, as the file kernel.
    /// </summary>
    public static void DecodePatchList<TShape>(
        ArrayView<byte> data, ArrayView<PatchTask> tasks, ArrayView<byte> slotRanks, ArrayView<uint> tokenEntries, ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes, ArrayView<int> firstBad, int taskCount, SpecializedValue<int> patchSizeValue, SpecializedValue<int> channelsValue)
        where TShape : struct, IPatchShape
    {
        int n = PatchShape.N<TShape>(patchSizeValue.Value), channels = PatchShape.Channels<TShape>(channelsValue.Value);
        int lanes = n / DenseLayout.LaneColumns;
        long globalWarp = (long)Grid.IdxX * (Group.DimX / 32) + Warp.WarpIdx;
        long slot = globalWarp * (32 / lanes) + Warp.LaneIdx / lanes;
        // every lane runs the body (its ballots and shuffles are warp-wide); a slot past the list is not live
        var task = slot < taskCount ? tasks[(int)slot] : default;
        bool live = task.Width > 0;
        long tables = task.Tables;
        // the group's first task's file (when it has a patch) has its tables in shared memory
        long first = (long)Grid.IdxX * (Group.DimX / 32) * (32 / lanes);
        var firstTask = first < taskCount ? tasks[(int)first] : default;
        long homeTables = firstTask.Width > 0 ? firstTask.Tables : -1;
        bool bad = DecodePatch(data, task.Start, task.Length, task.Width, task.Height, channels, n, live,
            slotRanks, tokenEntries, tables, homeTables, outLongs, outBytes, task.Out, task.RowStride);
        if (bad && live) Atomic.Min(ref firstBad[0], (int)slot);
    }
}
