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
/// image shapes. Made by <see cref="L3GpuCodec.Prepare"/>; reusable for many decodes until disposed,
/// which hands the buffer back to the codec for the next batch.
/// </summary>
public sealed class L3GpuBatch : IDisposable
{
    internal L3GpuBatch(PageLockedArray1D<uint> packed, long packedWords, Action<PageLockedArray1D<uint>> release,
        long compressedBytes, L3GpuImage[] images, Launch[] launches, int[] fileWords, long outputBytes)
    {
        Packed = packed;
        PackedWords = packedWords;
        _release = release;
        CompressedBytes = compressedBytes;
        Images = images;
        Launches = launches;
        FileWords = fileWords;
        OutputBytes = outputBytes;
    }

    private readonly Action<PageLockedArray1D<uint>> _release;
    private int _disposed;

    /// <summary>The files, each at a 16-byte boundary, then 16 zero bytes, in the first
    /// <see cref="PackedWords"/> words (a buffer of the codec's pool, maybe longer).</summary>
    internal PageLockedArray1D<uint> Packed { get; }

    /// <summary>Words of <see cref="Packed"/> the batch uses.</summary>
    internal long PackedWords { get; }

    /// <summary>Per launch, the word offset of each of its files in <see cref="Packed"/>, back to back.</summary>
    internal int[] FileWords { get; }

    internal Launch[] Launches { get; }

    /// <summary>Bytes of the files themselves (what a host→device copy must move at least).</summary>
    public long CompressedBytes { get; }

    /// <summary>Bytes copied to the device: the files with their alignment padding.</summary>
    public long PackedBytes => PackedWords * 4L;

    /// <summary>The images in the order given, with where each one's pixels are in the output.</summary>
    public IReadOnlyList<L3GpuImage> Images { get; }

    /// <summary>Bytes of decoded output, the images and their alignment gaps.</summary>
    public long OutputBytes { get; }

    /// <summary>Gives the page-locked buffer back to the codec, for the next batch.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _release(Packed);
    }

    /// <summary>One kernel launch: images of one shape whose outputs lie back to back.</summary>
    internal readonly record struct Launch(GpuDecodeShape Shape, int PatchSize, int Channels,
        int FirstFile, long OutputOffset);
}
