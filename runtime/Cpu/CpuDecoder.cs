using System.Runtime.CompilerServices;
using L3.Kernels;

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

    /// <summary>
    /// Decodes every patch of a validated file into <paramref name="pixels"/> (stride width ×
    /// channels), on one thread or patch-parallel. Generic over the file's shape: for a profile's
    /// shape the geometry (columns of patches, the edge column's width, the channel count) is
    /// constant and whole patches decode through a copy of the decoder with N folded in;
    /// <see cref="AnyShape"/> is the generic decoder. The file must be of the shape.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodeAll<TShape>(ReadOnlySpan<byte> file, L3Header header, Span<byte> pixels, CpuPath path,
        int maxDegreeOfParallelism) where TShape : struct, IPatchShape
    {
        path = CpuPaths.Resolve(path);
        int count = header.PatchCount;
        fixed (byte* f = file)
        fixed (byte* p = pixels)
        {
            if (maxDegreeOfParallelism <= 1 || header.PatchesY < 2 && header.PatchesX < 2)
            {
                var scratch = Scratch;
                for (int py = 0; py < header.PatchesY; py++) DecodePatchRow<TShape>(f, file.Length, header, py, p, path, scratch);
                return;
            }
            nint fp = (nint)f, pp = (nint)p;
            int fileLength = file.Length;
            // patch rows are the unit of work: each is a contiguous band of the output
            int rows = header.PatchesY;
            int units = rows >= maxDegreeOfParallelism * 2 ? rows : count;
            Parallel.For(0, units, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, unit =>
            {
                var scratch = Scratch;
                if (units == rows)
                    DecodePatchRow<TShape>((byte*)fp, fileLength, header, unit, (byte*)pp, path, scratch);
                else
                    DecodePatch<TShape>((byte*)fp, fileLength, header, unit, (byte*)pp, path, scratch);
            });
        }
    }

    /// <summary>Decodes the validated patches of row <paramref name="py"/> of patches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodePatchRow<TShape>(byte* file, int fileLength, L3Header header, int py, byte* pixels, CpuPath path,
        SimdPatchDecoder.Scratch scratch) where TShape : struct, IPatchShape
    {
        int n = PatchShape.N<TShape>(header.PatchSize);
        int channels = PatchShape.Channels<TShape>(header.Channels);
        int patchesX = PatchShape.FixesColumns<TShape>() ? PatchShape.PatchesX<TShape>(header.Width, n) : header.PatchesX;
        int stride = PatchShape.Width<TShape>(header.Width) * channels;
        int y = py * n, height = Math.Min(n, header.Height - y);
        byte* row = pixels + (long)y * stride;
        int index = py * patchesX;
        for (int px = 0, x = 0; px < patchesX; px++, x += n, index++)
        {
            int width = Math.Min(n, PatchShape.Width<TShape>(header.Width) - x);
            var (start, length) = header.PatchRange(index);
            DecodePatchTo<TShape>(file + header.PayloadStart + start, length, fileLength - header.PayloadStart - start,
                width, height, channels, row + (long)x * channels, stride, path, scratch);
        }
    }

    /// <summary>Decodes validated patch <paramref name="index"/> into the image at <paramref name="pixels"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodePatch<TShape>(byte* file, int fileLength, L3Header header, int index, byte* pixels, CpuPath path,
        SimdPatchDecoder.Scratch scratch) where TShape : struct, IPatchShape
    {
        int channels = header.Channels, stride = header.Width * channels;
        var rect = header.PatchRect(index);
        var (start, length) = header.PatchRange(index);
        byte* dest = pixels + (long)rect.Y * stride + (long)rect.X * channels;
        DecodePatchTo<TShape>(file + header.PayloadStart + start, length, fileLength - header.PayloadStart - start,
            rect.Width, rect.Height, channels, dest, stride, path, scratch);
    }

    /// <summary>Decodes one validated patch of <paramref name="length"/> bytes, of which
    /// <paramref name="readable"/> bytes from its start may be read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodePatchTo(byte* patch, int length, long readable, int width, int height, int channels,
        byte* dest, int destStride, CpuPath path) =>
        DecodePatchTo<AnyShape>(patch, length, readable, width, height, channels, dest, destStride, CpuPaths.Resolve(path), Scratch);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DecodePatchTo<TShape>(byte* patch, int length, long readable, int width, int height, int channels,
        byte* dest, int destStride, CpuPath path, SimdPatchDecoder.Scratch scratch) where TShape : struct, IPatchShape
    {
        if (path == CpuPath.Scalar)
        {
            var planes = scratch.ScalarPlanes.AsSpan(0, width * height * channels);
            long destLength = (long)(height - 1) * destStride + width * channels;
            PatchDecoder.Decode<TShape>(new ReadOnlySpan<byte>(patch, length), width, height, channels,
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
                SimdPatchDecoder.Decode<TShape>(path, copy, width, height, channels, dest, destStride, scratch);
            return;
        }
        SimdPatchDecoder.Decode<TShape>(path, patch, width, height, channels, dest, destStride, scratch);
    }
}
