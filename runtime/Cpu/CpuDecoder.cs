using System.Runtime.CompilerServices;

namespace L3.Cpu;

/// <summary>
/// Decodes the patches of a file whose header was read: validation of every patch first
/// (<see cref="PatchFormat.ValidatePatches"/>, the one validation, run by the caller), then the patches, on the chosen code
/// path, on one thread or patch-parallel. Nothing is written to the output before every patch
/// has been validated.
/// </summary>
internal static unsafe class CpuDecoder
{
    [ThreadStatic] private static SimdPatchDecoder.Scratch? t_scratch;

    private static SimdPatchDecoder.Scratch Scratch => t_scratch ??= new SimdPatchDecoder.Scratch();

    /// <summary>Decodes every patch of a validated file into <paramref name="pixels"/> (stride width × channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodeAll(ReadOnlySpan<byte> file, L3Header header, Span<byte> pixels, CpuPath path, int maxDegreeOfParallelism)
    {
        path = CpuPaths.Resolve(path);
        int count = header.PatchCount;
        fixed (byte* f = file)
        fixed (byte* p = pixels)
        {
            if (maxDegreeOfParallelism <= 1 || header.PatchesY < 2 && header.PatchesX < 2)
            {
                var scratch = Scratch;
                for (int i = 0; i < count; i++) DecodePatch(f, file.Length, header, i, p, path, scratch);
                return;
            }
            nint fp = (nint)f, pp = (nint)p;
            int fileLength = file.Length;
            // patch rows are the unit of work: each is a contiguous band of the output
            int rows = header.PatchesY, columns = header.PatchesX;
            int units = rows >= maxDegreeOfParallelism * 2 ? rows : count;
            Parallel.For(0, units, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, unit =>
            {
                var scratch = Scratch;
                if (units == rows)
                    for (int i = unit * columns; i < (unit + 1) * columns; i++) DecodePatch((byte*)fp, fileLength, header, i, (byte*)pp, path, scratch);
                else
                    DecodePatch((byte*)fp, fileLength, header, unit, (byte*)pp, path, scratch);
            });
        }
    }

    /// <summary>Decodes validated patch <paramref name="index"/> into the image at <paramref name="pixels"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodePatch(byte* file, int fileLength, L3Header header, int index, byte* pixels, CpuPath path,
        SimdPatchDecoder.Scratch scratch)
    {
        int channels = header.Channels, stride = header.Width * channels;
        var rect = header.PatchRect(index);
        var (start, length) = header.PatchRange(index);
        byte* dest = pixels + (long)rect.Y * stride + (long)rect.X * channels;
        DecodePatchTo(file + header.PayloadStart + start, length, fileLength - header.PayloadStart - start,
            rect.Width, rect.Height, channels, dest, stride, path, scratch);
    }

    /// <summary>Decodes one validated patch of <paramref name="length"/> bytes, of which
    /// <paramref name="readable"/> bytes from its start may be read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodePatchTo(byte* patch, int length, long readable, int width, int height, int channels,
        byte* dest, int destStride, CpuPath path) =>
        DecodePatchTo(patch, length, readable, width, height, channels, dest, destStride, CpuPaths.Resolve(path), Scratch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodePatchTo(byte* patch, int length, long readable, int width, int height, int channels,
        byte* dest, int destStride, CpuPath path, SimdPatchDecoder.Scratch scratch)
    {
        if (path == CpuPath.Scalar)
        {
            var planes = scratch.ScalarPlanes.AsSpan(0, width * height * channels);
            long destLength = (long)(height - 1) * destStride + width * channels;
            PatchDecoder.Decode(new ReadOnlySpan<byte>(patch, length), width, height, channels,
                new Span<byte>(dest, (int)destLength), destStride, planes);
            return;
        }
        if (readable - length < SimdPatchDecoder.ReadPadding)
        {
            // near the end of the file: decode from a copy with zero padding after it
            var padded = scratch.Padded(length);
            new ReadOnlySpan<byte>(patch, length).CopyTo(padded);
            padded.AsSpan(length, SimdPatchDecoder.ReadPadding).Clear();
            fixed (byte* copy = padded)
                SimdPatchDecoder.Decode(path, copy, width, height, channels, dest, destStride, scratch);
            return;
        }
        SimdPatchDecoder.Decode(path, patch, width, height, channels, dest, destStride, scratch);
    }
}
