using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>One image of a batch: its shape and where its pixels land in the batch's output.</summary>
public readonly record struct L3GpuImage(int Width, int Height, int Channels, int PatchSize, long OutputOffset)
{
    public long Bytes => (long)Width * Height * Channels;
}

/// <summary>
/// Files checked on the host (header, table, checksums, every patch's structure) and packed into
/// one page-locked buffer, ready to copy to the device and decode in as few launches as there are
/// image shapes. Made by <see cref="L3GpuCodec.Prepare"/>; reusable for many decodes.
/// </summary>
public sealed class L3GpuBatch : IDisposable
{
    internal L3GpuBatch(PageLockedArray1D<uint> packed, long compressedBytes, L3GpuImage[] images,
        Launch[] launches, int[] fileWords, long outputBytes)
    {
        Packed = packed;
        CompressedBytes = compressedBytes;
        Images = images;
        Launches = launches;
        FileWords = fileWords;
        OutputBytes = outputBytes;
    }

    /// <summary>The files, each at a 16-byte boundary, then 16 bytes of padding.</summary>
    internal PageLockedArray1D<uint> Packed { get; }

    /// <summary>Per launch, the word offset of each of its files in <see cref="Packed"/>, back to back.</summary>
    internal int[] FileWords { get; }

    internal Launch[] Launches { get; }

    /// <summary>Bytes of the files themselves (what a host→device copy must move at least).</summary>
    public long CompressedBytes { get; }

    /// <summary>Bytes copied to the device: the files with their alignment padding.</summary>
    public long PackedBytes => Packed.Length * 4L;

    /// <summary>The images in the order given, with where each one's pixels are in the output.</summary>
    public IReadOnlyList<L3GpuImage> Images { get; }

    /// <summary>Bytes of decoded output, the images and their alignment gaps.</summary>
    public long OutputBytes { get; }

    public void Dispose() => Packed.Dispose();

    /// <summary>One kernel launch: images of one shape whose outputs lie back to back.</summary>
    internal readonly record struct Launch(GpuDecodeShape Shape, int PatchSize, int Channels,
        int FirstFile, long OutputOffset);
}
