using L3.Cpu;
using L3.Kernels;

namespace L3.Dense;

/// <summary>
/// The file-level side of a dense file on the CPU: its tables read once, every patch's structure
/// checked before the image is allocated (docs/FORMAT.md, 6.6), then the patches decoded by the
/// vector decoder where the CPU path has one, else the scalar reference, on one thread or patch-row parallel.
/// </summary>
internal static class DenseFileDecoder
{
    /// <summary>Reads and checks the tables at the payload's start.</summary>
    public static DenseTables ReadTables(ReadOnlySpan<byte> file, L3Header header) =>
        DenseTables.Read(file.Slice(header.PayloadStart, header.TablesLength), header.Channels, header.PayloadStart);

    /// <summary>The tables and every patch's structure: what a dense file must pass before its image
    /// is allocated or a kernel runs.</summary>
    public static DenseTables Validate(ReadOnlySpan<byte> file, L3Header header)
    {
        var tables = ReadTables(file, header);
        for (int i = 0; i < header.PatchCount; i++) ValidatePatch(file, header, i);
        return tables;
    }

    /// <summary>The structure of patch <paramref name="index"/> (<see cref="DensePatchDecoder.ValidateStructure"/>).</summary>
    public static void ValidatePatch(ReadOnlySpan<byte> file, L3Header header, int index)
    {
        var rect = header.PatchRect(index);
        var (start, length) = header.PatchRange(index);
        int at = header.PayloadStart + start;
        DensePatchDecoder.ValidateStructure(file.Slice(at, length), rect.Width, rect.Height, header.Channels, at);
    }

    [ThreadStatic] private static byte[]? t_scratch;

    private static byte[] Scratch(int patchSize, int channels)
    {
        int bytes = DensePatchDecoder.ScratchBytes(patchSize, channels);
        if (t_scratch is null || t_scratch.Length < bytes) t_scratch = new byte[DensePatchDecoder.ScratchBytes(64, 4)];
        return t_scratch;
    }

    /// <summary>Decodes patch <paramref name="index"/> into <paramref name="dest"/> (its top-left
    /// pixel at dest[0], <paramref name="destStride"/> bytes a row), by the vector decoder where the
    /// path has one (<see cref="DenseSimdDecoder.Serves"/>), else by the scalar reference.</summary>
    public static unsafe void DecodePatch(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, int index, Span<byte> dest, int destStride,
        CpuPath path = CpuPath.Auto)
    {
        var rect = header.PatchRect(index);
        var (start, length) = header.PatchRange(index);
        int at = header.PayloadStart + start;
        path = CpuPaths.Resolve(path);
        if (DenseSimdDecoder.Serves(path))
        {
            long destLength = (long)(rect.Height - 1) * destStride + rect.Width * header.Channels;
            if (dest.Length < destLength) throw new ArgumentException("the destination is too small for the patch", nameof(dest));
            try
            {
                fixed (byte* f = file)
                fixed (byte* d = dest)
                    DenseSimdDecoder.Decode(path, f + at, length, file.Length - at, rect.Width, rect.Height, header.Channels, tables,
                        d, destStride, DenseSimdDecoder.ThreadScratch, at);
                return;
            }
            catch (L3FormatException)
            {
                // the reference states the fault (its words are every path's: a fault found after a few
                // vector steps may be a different one); it refuses the same patches, so it throws here
                DensePatchDecoder.Decode(file.Slice(at, length), rect.Width, rect.Height, header.Channels, tables, dest, destStride,
                    Scratch(header.PatchSize, header.Channels), at);
                throw;
            }
        }
        DensePatchDecoder.Decode(file.Slice(at, length), rect.Width, rect.Height, header.Channels, tables, dest, destStride,
            Scratch(header.PatchSize, header.Channels), at);
    }

    /// <summary>Decodes every patch of a file that <see cref="Validate"/> accepted into
    /// <paramref name="pixels"/>; a stream fault throws, and it is the first bad patch's in index order,
    /// in the reference's words (<see cref="FirstFault"/>), whatever the path and the threads.</summary>
    public static void DecodeAll(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, Span<byte> pixels, int maxDegreeOfParallelism,
        CpuPath path = CpuPath.Auto)
    {
        try
        {
            DecodeAllOn(file, header, tables, pixels, maxDegreeOfParallelism, path);
        }
        catch (L3FormatException)
        {
            FirstFault(file, header, tables);
            throw; // the reference refuses the same patches: not reached
        }
    }

    /// <summary>
    /// Throws the fault the scalar reference finds first, patch by patch in index order (as
    /// <see cref="L3Codec.Verify"/> reads them). The vector decoders find faults in lockstep, a group
    /// of patches at once, and the paths and threads visit patches in different orders: after any
    /// fault, this makes the one every path reports.
    /// </summary>
    private static void FirstFault(ReadOnlySpan<byte> file, L3Header header, DenseTables tables)
    {
        var patch = new byte[header.PatchSize * header.PatchSize * header.Channels];
        for (int index = 0; index < header.PatchCount; index++)
            DecodePatch(file, header, tables, index, patch, header.PatchRect(index).Width * header.Channels, CpuPath.Scalar);
    }

    private static unsafe void DecodeAllOn(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, Span<byte> pixels, int maxDegreeOfParallelism,
        CpuPath path)
    {
        int stride = header.Width * header.Channels;
        if (maxDegreeOfParallelism <= 1 || header.PatchesY < 2)
        {
            DecodePatchRows(file, header, tables, 0, header.PatchesY, pixels, stride, path);
            return;
        }
        fixed (byte* f = file)
        fixed (byte* p = pixels)
        {
            nint fp = (nint)f, pp = (nint)p;
            int fileLength = file.Length, pixelsLength = pixels.Length;
            var errors = new L3FormatException?[header.PatchesY];
            Parallel.For(0, header.PatchesY, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, py =>
            {
                var f = new ReadOnlySpan<byte>((byte*)fp, fileLength);
                var p = new Span<byte>((byte*)pp, pixelsLength);
                try
                {
                    DecodePatchRows(f, header, tables, py, 1, p, stride, path);
                }
                catch (L3FormatException e) { errors[py] = e; }
            });
            foreach (var error in errors)
                if (error is not null) throw error;
        }
    }

    /// <summary>
    /// Decodes the patches of <paramref name="rowCount"/> rows of patches from row <paramref name="firstRow"/>.
    /// On the Vector512 path patches of the same size go in groups of 4 (else 2) through
    /// <see cref="DenseSimdDecoder.DecodeGroup"/>; so that most groups are full, the patches are taken
    /// row by row without the last column (all of a size but in the last row), then the last column.
    /// </summary>
    private static unsafe void DecodePatchRows(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, int firstRow, int rowCount,
        Span<byte> pixels, int stride, CpuPath path)
    {
        path = CpuPaths.Resolve(path);
        int channels = header.Channels, inner = header.PatchesX - 1, count = rowCount * header.PatchesX;
        // the k-th patch of that order
        int PatchAt(int k) => k < rowCount * inner
            ? (firstRow + k / inner) * header.PatchesX + k % inner
            : (firstRow + k - rowCount * inner) * header.PatchesX + inner;
        int k = 0;
        if (path == CpuPath.Vector512 && DenseSimdDecoder.Serves(path))
        {
            Span<DenseSimdDecoder.GroupPatch> group = stackalloc DenseSimdDecoder.GroupPatch[DenseSimdDecoder.GroupSize];
            fixed (byte* f = file)
            fixed (byte* p = pixels)
                while (k + 1 < count)
                {
                    var rect = header.PatchRect(PatchAt(k));
                    int size = 1;
                    while (size < DenseSimdDecoder.GroupSize && k + size < count && header.PatchRect(PatchAt(k + size)) is var next
                        && next.Width == rect.Width && next.Height == rect.Height)
                        size++;
                    size = Math.Min(size, LargestGroup);
                    while (!DenseSimdDecoder.IsGroupSize(size) && size > 1) size--;
                    if (size == 1) { DecodeOne(PatchAt(k), file, header, tables, pixels, stride, path); k++; continue; }
                    for (int q = 0; q < size; q++)
                    {
                        int index = PatchAt(k + q);
                        var at = header.PatchRect(index);
                        var (start, length) = header.PatchRange(index);
                        int offset = header.PayloadStart + start;
                        group[q] = new DenseSimdDecoder.GroupPatch(f + offset, length, file.Length - offset, offset, p + (long)at.Y * stride + at.X * channels);
                    }
                    DenseSimdDecoder.DecodeGroup(group[..size], rect.Width, rect.Height, channels, tables, stride);
                    k += size;
                }
        }
        for (; k < count; k++) DecodeOne(PatchAt(k), file, header, tables, pixels, stride, path);
    }

    /// <summary>The largest group <see cref="DecodePatchRows"/> forms (4, 2 or 1): 4 but where tests
    /// cover the smaller groups and measurements compare them.</summary>
    internal static int LargestGroup { get; set; } = DenseSimdDecoder.GroupSize;

    private static void DecodeOne(int index, ReadOnlySpan<byte> file, L3Header header, DenseTables tables, Span<byte> pixels, int stride, CpuPath path)
    {
        var rect = header.PatchRect(index);
        DecodePatch(file, header, tables, index, pixels[(rect.Y * stride + rect.X * header.Channels)..], stride, path);
    }
}
