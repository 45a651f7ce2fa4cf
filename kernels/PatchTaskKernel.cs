using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>
/// One sample of a batch as the device sees it: the rectangle of patches its crop touches, where its
/// slice of the patch table and its bytes lie in the batch's data, and where its region's pixels go.
/// The host writes one of these a sample (a few dozen bytes) instead of one task a patch; the device
/// turns it into tasks (<see cref="PatchTaskKernel.WriteTasks"/>).
/// </summary>
public struct SampleRegion
{
    /// <summary>Its first task (in the launch's list); <see cref="Columns"/> × <see cref="Rows"/> tasks follow, row by row.</summary>
    public int TaskFirst;
    /// <summary>The touched patches: <see cref="Columns"/> from column <see cref="Px0"/>, <see cref="Rows"/> from row <see cref="Py0"/>.</summary>
    public int Px0, Py0, Columns, Rows;
    /// <summary>The image's patches a row (the table's stride) and its size in pixels.</summary>
    public int PatchesX, ImageWidth, ImageHeight;
    /// <summary>The data word holding table entry (<see cref="Py0"/>, <see cref="Px0"/>): the table's
    /// entries from there to (last row, last column + 1) lie in the words that follow, as in the file.</summary>
    public int TableWord;
    /// <summary>Where its first row's bias lies in the batch's row biases: payload offset u of touched
    /// row r lies at data byte u + bias[<see cref="RowBias"/> + r] (one bias for a band copied whole,
    /// one a row for rows packed back to back).</summary>
    public int RowBias;
    /// <summary>Its bytes in the data: [<see cref="DataAt"/>, <see cref="DataAt"/> + <see cref="DataBytes"/>).</summary>
    public int DataAt, DataBytes;
    /// <summary>Its region (the touched patches' union, in image pixels) and where its pixels go in the staging buffer.</summary>
    public int RegionX, RegionY, RegionWidth, RegionHeight, StagingAt;
    /// <summary>Mode 1: the sample's set of expanded tables in the batch's (its file's probability tables).</summary>
    public int Tables;

    /// <summary>The task of the patch at (<paramref name="column"/>, <paramref name="row"/>) of the
    /// rectangle whose bytes lie at [<paramref name="start"/>, + <paramref name="length"/>) of the data.</summary>
    public readonly PatchTask TaskAt(int column, int row, int patchSize, int channels, int start, int length)
    {
        int x = (Px0 + column) * patchSize, y = (Py0 + row) * patchSize;
        return new PatchTask
        {
            Start = start, Length = length,
            Width = IntrinsicMath.Min(patchSize, ImageWidth - x), Height = IntrinsicMath.Min(patchSize, ImageHeight - y),
            Out = StagingAt + ((y - RegionY) * RegionWidth + x - RegionX) * channels, RowStride = RegionWidth * channels,
            Tables = Tables,
        };
    }
}

/// <summary>
/// Writes a batch's decode tasks on the device from its samples' regions and patch tables, and checks
/// each patch as it goes (<see cref="PatchCheck"/>, as <see cref="PatchCheckKernel"/> does): one thread
/// a patch. A task whose table entries point outside its sample's bytes, or whose patch is bad, is
/// switched off (no bytes, width and height 0) and the smallest such index recorded, for the host to
/// name the sample and state the fault with the CPU validation. So the host reads two table entries a
/// touched row, never the whole table, and the tables may come straight from the files.
/// </summary>
public static class PatchTaskKernel
{
    /// <summary>
    /// Writes tasks [0, <paramref name="taskCount"/>) of <paramref name="tasks"/> for the
    /// <paramref name="regionCount"/> regions (in task order) of patches of <paramref name="patchSize"/>
    /// and <paramref name="channels"/>. <paramref name="firstBad"/>[0] becomes the smallest index of a
    /// bad task (it must hold <see cref="int.MaxValue"/> before). <paramref name="codingMode"/> is the
    /// files' coding mode, whose patch rule checks each patch (<see cref="PatchCheck"/> for 0,
    /// <see cref="DensePatchCheck"/> for 1).
    /// </summary>
    public static void WriteTasks(Index1D index, ArrayView<uint> dataWords, ArrayView<SampleRegion> regions, int regionCount,
        ArrayView<int> rowBiases, ArrayView<PatchTask> tasks, int taskCount, int patchSize, int channels, int codingMode, ArrayView<int> firstBad)
    {
        int i = index;
        if (i >= taskCount) return;
        // the sample: the last region starting at or before task i
        int low = 0, high = regionCount - 1;
        while (low < high)
        {
            int middle = (low + high + 1) >> 1;
            if (regions[middle].TaskFirst <= i) low = middle;
            else high = middle - 1;
        }
        var region = regions[low];
        int local = i - region.TaskFirst, row = local / region.Columns, column = local - row * region.Columns;
        long entry = region.TableWord + (long)row * region.PatchesX + column;
        long start = dataWords[entry], end = dataWords[entry + 1];
        long at = start + rowBiases[region.RowBias + row];
        bool inside = end >= start && at >= region.DataAt && at + (end - start) <= (long)region.DataAt + region.DataBytes;
        var task = region.TaskAt(column, row, patchSize, channels, inside ? (int)at : 0, inside ? (int)(end - start) : 0);
        bool valid = codingMode == 0 ? PatchCheckKernel.IsValid(dataWords, task, channels) : PatchCheckKernel.IsValidDense(dataWords, task, channels);
        if (!inside || !valid)
        {
            task = default;
            Atomic.Min(ref firstBad[0], i);
        }
        tasks[i] = task;
    }
}
