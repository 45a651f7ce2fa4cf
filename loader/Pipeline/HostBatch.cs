using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Loading;

/// <summary>One sample as the reader prepared it: its checked header, its crop, and the rectangle
/// of patches the crop touches (the region the GPU decodes), with where its bytes and pixels go.</summary>
internal sealed class PreparedSample
{
    public long Sample;
    public int Label;
    public L3Header Header = null!;
    /// <summary>A dense file's checked probability tables (null for row coding).</summary>
    public L3.Dense.DenseTables? DenseTables;
    public CropBox Box;
    /// <summary>The patches touched: columns Px0..Px1 and rows Py0..Py1 (inclusive).</summary>
    public int Px0, Px1, Py0, Py1;
    /// <summary>The decoded region in image pixels: the touched patches' union.</summary>
    public int RegionX, RegionY, RegionWidth, RegionHeight;
    /// <summary>The whole file, when checksums are verified (read whole to hash the payload).</summary>
    public byte[]? WholeFile;
    /// <summary>Bytes of the touched patches in the batch's data: the touched rows back to back, or
    /// (the mapped path) the band from the first touched row's first patch to the last row's last.</summary>
    public int Bytes;
    /// <summary>Where they go in the batch's data, and the region's pixels in the staging buffer.</summary>
    public int DataAt, StagingAt;
    /// <summary>Where its slice of the patch table lies in the data (a word index), and its first row bias.</summary>
    public int TableWord, RowBias;
    /// <summary>Where its band of patch rows lies in a mapped file (the mapped path).</summary>
    public IntPtr Mapped;
    /// <summary>Its decode tasks: [TaskFirst, TaskFirst + TaskCount) of the batch's list, row by row.</summary>
    public int TaskFirst;
    /// <summary>Mode 1: its set of expanded tables in its launch, and where the set's rank maps
    /// (a data byte) and token entries (a data word) lie.</summary>
    public int TableSet;
    public long RanksByte, EntriesWord;
    public int Columns => Px1 - Px0 + 1;
    public int Rows => Py1 - Py0 + 1;
    public int TaskCount => Columns * Rows;
    /// <summary>The table entries its tasks read: from (Py0, Px0) to (Py1, Px1 + 1).</summary>
    public int TableEntries => (Rows - 1) * Header.PatchesX + Columns + 1;
    public int FirstEntry => Py0 * Header.PatchesX + Px0;

    /// <summary>The same sample, to take a bad one's place in a batch (its own layout fields).</summary>
    public PreparedSample Copy() => (PreparedSample)MemberwiseClone();

    public int RowBytes(int py) => RangeEnd(py) - RangeStart(py);
    public int RangeStart(int py) => Header.PayloadStart + (int)Header.PatchOffsets[py * Header.PatchesX + Px0];
    public int RangeEnd(int py) => Header.PayloadStart + (int)Header.PatchOffsets[py * Header.PatchesX + Px1 + 1];

    /// <summary>What the device needs to write its tasks (<see cref="PatchTaskKernel.WriteTasks"/>),
    /// its first task <paramref name="taskFirst"/> of its launch.</summary>
    public SampleRegion Region(int taskFirst) => new()
    {
        TaskFirst = taskFirst, Px0 = Px0, Py0 = Py0, Columns = Columns, Rows = Rows,
        PatchesX = Header.PatchesX, ImageWidth = Header.Width, ImageHeight = Header.Height,
        TableWord = TableWord, RowBias = RowBias, DataAt = DataAt, DataBytes = Bytes,
        RegionX = RegionX, RegionY = RegionY, RegionWidth = RegionWidth, RegionHeight = RegionHeight, StagingAt = StagingAt,
        Tables = TableSet,
    };
}

/// <summary>A host→device copy of the mapped path: <see cref="Length"/> bytes from a registered
/// host address to byte <see cref="Offset"/> of the slot's data.</summary>
internal readonly record struct DeviceCopy(IntPtr Source, int Offset, int Length);

/// <summary>One launch of the patch-list decode: tasks [First, First + Count) share the coding mode,
/// N and channels, and are written from regions [RegionFirst, RegionFirst + RegionCount). A dense
/// launch (<see cref="Mode"/> 1) has <see cref="TableSets"/> sets of expanded tables, their rank
/// maps from data word <see cref="RanksWord"/>, their token entries from <see cref="EntriesWord"/>.</summary>
internal readonly record struct DecodeLaunch(int PatchSize, int Channels, int First, int Count, int RegionFirst, int RegionCount)
{
    public int Mode { get; init; }
    public int TableSets { get; init; }
    public int RanksWord { get; init; }
    public int EntriesWord { get; init; }
}

/// <summary>
/// A batch ready for the device. Its data: every sample's touched patches (in page-locked memory, or
/// on the mapped path as copies for the device to make from the mapped files), then the samples'
/// slices of their patch tables (4-byte aligned, in page-locked memory), then at least 16 zero
/// bytes (set on the device). Then the samples'
/// regions (one launch's together), from which the device writes the decode tasks, the row biases,
/// the output stage's per-sample parameters, and the labels.
/// </summary>
internal sealed class HostBatch
{
    public required SampleBatch Plan;
    public required PreparedSample[] Samples;
    /// <summary>Why each bad sample of the batch was replaced (<see cref="BadSamplePolicy.Replace"/>).</summary>
    public IReadOnlyList<string> Replaced = [];
    /// <summary>The samples' bytes ([0, <see cref="DataBytes"/>) of the data) in page-locked memory, or
    /// null on the mapped path (<see cref="Copies"/>: the samples' bands, in order).</summary>
    public required PageLockedArray1D<uint>? Packed;
    public DeviceCopy[]? Copies;
    public required int DataBytes;
    /// <summary>The samples' table slices in page-locked memory: words [0, <see cref="TableWords"/>),
    /// for words [<see cref="TablesWord"/>, + <see cref="TableWords"/>) of the data.</summary>
    public required PageLockedArray1D<uint> Tables;
    public required int TablesWord, TableWords;
    /// <summary>Bytes of the data, padding included (a multiple of 8).</summary>
    public required int PackedBytes;
    /// <summary>Zero words from here to the end, after everything else.</summary>
    public required int ZeroWord;
    /// <summary>The samples' regions, in launch order, and their row biases (<see cref="SampleRegion.RowBias"/>).</summary>
    public required SampleRegion[] Regions;
    public required int[] RowBiases;
    /// <summary>Decode tasks the device writes.</summary>
    public required int TaskCount;
    public required DecodeLaunch[] Launches;
    public required AugmentSample[] Outputs;
    public required int StagingBytes;
    public required int OutputWidth, OutputHeight;
    /// <summary>Bytes of compressed data read for the batch (what the host→device copy moves).</summary>
    public long CompressedBytes => Samples.Sum(s => (long)s.Bytes);
    /// <summary>Bytes of decoded pixels of the regions (the patches decoded).</summary>
    public long RegionBytes => Samples.Sum(s => (long)s.RegionWidth * s.RegionHeight * s.Header.Channels);
}
