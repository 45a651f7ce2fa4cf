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
    public CropBox Box;
    /// <summary>The patches touched: columns Px0..Px1 and rows Py0..Py1 (inclusive).</summary>
    public int Px0, Px1, Py0, Py1;
    /// <summary>The decoded region in image pixels: the touched patches' union.</summary>
    public int RegionX, RegionY, RegionWidth, RegionHeight;
    /// <summary>The whole file, when checksums are verified (read whole to hash the payload).</summary>
    public byte[]? WholeFile;
    /// <summary>Bytes of the touched patches (one contiguous payload range per patch row).</summary>
    public int Bytes;
    /// <summary>Where they go in the packed buffer, and the region's pixels in the staging buffer.</summary>
    public int PackedAt, StagingAt;
    /// <summary>Where its band of patch rows lies in a mapped file (the mapped path).</summary>
    public IntPtr Mapped;
    /// <summary>Its decode tasks: [TaskFirst, TaskFirst + TaskCount) of the batch's list, row by row.</summary>
    public int TaskFirst;
    public int TaskCount => (Px1 - Px0 + 1) * (Py1 - Py0 + 1);

    /// <summary>The same sample, to take a bad one's place in a batch (its own layout fields).</summary>
    public PreparedSample Copy() => (PreparedSample)MemberwiseClone();

    public int RowBytes(int py) => RangeEnd(py) - RangeStart(py);
    public int RangeStart(int py) => Header.PayloadStart + (int)Header.PatchOffsets[py * Header.PatchesX + Px0];
    public int RangeEnd(int py) => Header.PayloadStart + (int)Header.PatchOffsets[py * Header.PatchesX + Px1 + 1];
}

/// <summary>A host→device copy of the mapped path: <see cref="Length"/> bytes from a registered
/// host address to byte <see cref="Offset"/> of the slot's data.</summary>
internal readonly record struct DeviceCopy(IntPtr Source, int Offset, int Length);

/// <summary>One launch of the patch-list decode: tasks [First, First + Count) share N and channels.</summary>
internal readonly record struct DecodeLaunch(int PatchSize, int Channels, int First, int Count);

/// <summary>
/// A batch ready for the device: the touched patches of every sample packed into page-locked
/// memory (then at least 16 zero bytes), the decode tasks (one launch's tasks together, each
/// sample's in a row), the output stage's per-sample parameters, and the labels.
/// </summary>
internal sealed class HostBatch
{
    public required SampleBatch Plan;
    public required PreparedSample[] Samples;
    /// <summary>Why each bad sample of the batch was replaced (<see cref="BadSamplePolicy.Replace"/>).</summary>
    public IReadOnlyList<string> Replaced = [];
    /// <summary>The packed patches in page-locked memory, or null on the mapped path (<see cref="Copies"/>).</summary>
    public required PageLockedArray1D<uint>? Packed;
    public DeviceCopy[]? Copies;
    /// <summary>Bytes of <see cref="Packed"/> in use, padding included (a multiple of 8).</summary>
    public required int PackedBytes;
    public required int ZeroWord;
    /// <summary>The decode tasks, [0, <see cref="TaskCount"/>) of a page-locked buffer.</summary>
    public required PageLockedArray1D<PatchTask> Tasks;
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
