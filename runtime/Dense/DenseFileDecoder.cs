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
            fixed (byte* f = file)
            fixed (byte* d = dest)
                DenseSimdDecoder.Decode(path, f + at, length, file.Length - at, rect.Width, rect.Height, header.Channels, tables,
                    d, destStride, DenseSimdDecoder.ThreadScratch, at);
            return;
        }
        DensePatchDecoder.Decode(file.Slice(at, length), rect.Width, rect.Height, header.Channels, tables, dest, destStride,
            Scratch(header.PatchSize, header.Channels), at);
    }

    /// <summary>Decodes every patch of a file that <see cref="Validate"/> accepted into
    /// <paramref name="pixels"/>; a stream fault found on the way throws.</summary>
    public static unsafe void DecodeAll(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, Span<byte> pixels, int maxDegreeOfParallelism,
        CpuPath path = CpuPath.Auto)
    {
        int stride = header.Width * header.Channels;
        if (maxDegreeOfParallelism <= 1 || header.PatchesY < 2)
        {
            for (int py = 0; py < header.PatchesY; py++) DecodePatchRow(file, header, tables, py, pixels, stride, path);
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
                    DecodePatchRow(f, header, tables, py, p, stride, path);
                }
                catch (L3FormatException e) { errors[py] = e; }
            });
            foreach (var error in errors)
                if (error is not null) throw error;
        }
    }

    /// <summary>Decodes row <paramref name="py"/> of patches; on the Vector512 path, two patches of the
    /// same size at a time (<see cref="DenseSimdDecoder.DecodePair"/>).</summary>
    private static unsafe void DecodePatchRow(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, int py, Span<byte> pixels, int stride, CpuPath path)
    {
        path = CpuPaths.Resolve(path);
        int px = 0, channels = header.Channels;
        if (path == CpuPath.Vector512 && DenseSimdDecoder.Serves(path))
            fixed (byte* f = file)
            fixed (byte* p = pixels)
                for (; px + 1 < header.PatchesX; px += 2)
                {
                    int a = py * header.PatchesX + px, b = a + 1;
                    var rectA = header.PatchRect(a);
                    var rectB = header.PatchRect(b);
                    if (rectA.Width != rectB.Width) break;
                    var (startA, lengthA) = header.PatchRange(a);
                    var (startB, lengthB) = header.PatchRange(b);
                    int atA = header.PayloadStart + startA, atB = header.PayloadStart + startB;
                    DenseSimdDecoder.DecodePair(f + atA, lengthA, file.Length - atA, atA, p + (long)rectA.Y * stride + rectA.X * channels,
                        f + atB, lengthB, file.Length - atB, atB, p + (long)rectB.Y * stride + rectB.X * channels,
                        rectA.Width, rectA.Height, channels, tables, stride, DenseSimdDecoder.ThreadScratch, DenseSimdDecoder.ThreadScratchB);
                }
        for (; px < header.PatchesX; px++)
        {
            var rect = header.PatchRect(py * header.PatchesX + px);
            DecodePatch(file, header, tables, py * header.PatchesX + px, pixels[(rect.Y * stride + rect.X * channels)..], stride, path);
        }
    }
}
