using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>One patch to decode from a list: where its bytes lie in the data (<see cref="Start"/>,
/// <see cref="Length"/> bytes), its size, and where its pixel (0, 0) lands in an interleaved output
/// whose rows are <see cref="RowStride"/> bytes apart. Width and height 0: a task switched off.</summary>
public struct PatchTask
{
    public int Start, Width, Height, Out, RowStride, Length;
    /// <summary>Mode 1: which of the launch's expanded table sets the patch's file has (<see cref="SampleRegion.Tables"/>).</summary>
    public int Tables;
}

public static partial class GpuDecodeKernel
{
    /// <summary>
    /// Decodes a list of patches (of any files, at any places) to interleaved pixels: what a loader
    /// needs when a crop touches only some patches of each image. Patch size and channel count are
    /// one per launch. <paramref name="data"/>/<paramref name="dataWords"/> hold the patches' bytes
    /// and at least 16 zero bytes after the last, word <paramref name="zeroWord"/> among them; every
    /// task was checked on the host (bytes inside the data, output inside the output, 8-byte
    /// aligned output rows where the fast store applies is not required).
    /// </summary>
    public static void DecodePatchList(
        ArrayView<ulong> data,
        ArrayView<uint> dataWords,
        ArrayView<PatchTask> tasks,
        ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes,
        int taskCount,
        int zeroWord,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue) =>
        DecodePatchList<AnyShape>(data, dataWords, tasks, outLongs, outBytes, taskCount, zeroWord, patchSizeValue, channelsValue);

    /// <summary>
    /// <see cref="DecodePatchList"/> with the patch size and, when <typeparamref name="TShape"/> fixes it,
    /// the channel count read through the shape (<see cref="PatchShape"/>): a generated profile's fused
    /// decode. Only N and the channels matter to a patch list (a task carries its patch's place); the
    /// host launches it only for patches of the shape's N and channels.
    /// </summary>
    public static void DecodePatchList<TShape>(
        ArrayView<ulong> data,
        ArrayView<uint> dataWords,
        ArrayView<PatchTask> tasks,
        ArrayView<ulong> outLongs,
        ArrayView<byte> outBytes,
        int taskCount,
        int zeroWord,
        SpecializedValue<int> patchSizeValue,
        SpecializedValue<int> channelsValue)
        where TShape : struct, IPatchShape
    {
        int n = PatchShape.N<TShape>(patchSizeValue.Value), channels = PatchShape.Channels<TShape>(channelsValue.Value);
        int lanes = n / RowCoding.GroupSize;
        int patchesPerWarp = 32 / lanes;
        int lane = Warp.LaneIdx;
        long globalWarp = (long)Grid.IdxX * (Group.DimX / 32) + Warp.WarpIdx;
        int seg = lane / lanes;
        var patch = new PatchLane { G = lane - seg * lanes, Lanes = lanes, SegFirst = seg * lanes, ZeroWord = zeroWord };
        long slot = globalWarp * patchesPerWarp + seg;
        bool active = slot < taskCount;
        var task = active ? tasks[(int)slot] : default;
        DecodePatch(data, dataWords, outLongs, outBytes, patch, active, task.Width, task.Height, task.Start,
            task.Out, task.RowStride, 0, n, channels, planar: false);
    }
}
