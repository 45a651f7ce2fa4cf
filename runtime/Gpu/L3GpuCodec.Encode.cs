using ILGPU;
using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>Device buffers for encoding a run of images of one shape; reusable for many runs.</summary>
public sealed class L3GpuEncodeJob : IDisposable
{
    internal L3GpuEncodeJob(Accelerator accelerator, GpuEncodeShape shape, int patchSize, int channels)
    {
        Shape = shape;
        PatchSize = patchSize;
        Channels = channels;
        long patches = (long)shape.Images * shape.PatchCount;
        int planes = EncoderPolicy.PlaneCount(channels);
        Pixels = accelerator.Allocate1D<byte>(Math.Max(1, (long)shape.Images * shape.ImageBytes));
        Scratch = accelerator.Allocate1D<byte>(patches * planes * shape.BlockStride);
        Lengths = accelerator.Allocate1D<int>(patches * planes);
        Table = accelerator.Allocate1D<int>((long)shape.Images * (shape.PatchCount + 1));
        Flags = accelerator.Allocate1D<int>(patches);
        Files = accelerator.Allocate1D<byte>((long)shape.Images * shape.FileStride);
    }

    internal GpuEncodeShape Shape { get; }
    internal int PatchSize { get; }
    public int Channels { get; }
    public int Images => Shape.Images;
    public long InputBytes => (long)Shape.Images * Shape.ImageBytes;

    internal MemoryBuffer1D<byte, Stride1D.Dense> Pixels { get; }
    internal MemoryBuffer1D<byte, Stride1D.Dense> Scratch { get; }
    internal MemoryBuffer1D<int, Stride1D.Dense> Lengths { get; }
    internal MemoryBuffer1D<int, Stride1D.Dense> Table { get; }
    internal MemoryBuffer1D<int, Stride1D.Dense> Flags { get; }
    internal MemoryBuffer1D<byte, Stride1D.Dense> Files { get; }

    /// <summary>The device buffer the images' pixels go into, back to back.</summary>
    public ArrayView<byte> Input => Pixels.View;

    public void Dispose()
    {
        Pixels.Dispose(); Scratch.Dispose(); Lengths.Dispose(); Table.Dispose(); Flags.Dispose(); Files.Dispose();
    }
}

public sealed partial class L3GpuCodec
{
    private sealed record EncodeKernels(
        Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, GpuEncodeShape,
            SpecializedValue<int>, SpecializedValue<int>> Planes,
        Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, GpuEncodeShape,
            SpecializedValue<int>> Choose,
        Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<int>, ArrayView<int>, ArrayView<int>,
            ArrayView<byte>, GpuEncodeShape, SpecializedValue<int>> Assemble);

    private readonly EncodeKernels _encodeInit;

    private EncodeKernels LoadEncodeKernels() => new(
        Accelerator.LoadKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<int>, GpuEncodeShape,
            SpecializedValue<int>, SpecializedValue<int>>(GpuEncodeKernel.EncodePlanes),
        Accelerator.LoadKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, GpuEncodeShape,
            SpecializedValue<int>>(GpuEncodeKernel.ChooseAndScan),
        Accelerator.LoadKernel<ArrayView<byte>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<byte>,
            GpuEncodeShape, SpecializedValue<int>>(GpuEncodeKernel.Assemble));

    /// <summary>Device buffers to encode <paramref name="images"/> images of one shape at a time.</summary>
    public L3GpuEncodeJob CreateEncodeJob(int width, int height, int channels, int patchSize, int images)
    {
        Accelerator.Bind();
        L3Header.ValidateShape(width, height, channels, patchSize);
        long imageBytes = (long)width * height * channels;
        if (images < 1 || imageBytes * images > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(images), $"{images} images of {imageBytes} bytes do not fit one launch");
        int px = FileLayout.PatchesAlong(width, patchSize), py = FileLayout.PatchesAlong(height, patchSize);
        int patches = px * py;
        int payloadStart = FileLayout.PayloadStart(patches);
        long fileStride = (payloadStart + (long)patches * PatchLayout.MaxPatchBytes(patchSize, patchSize, channels) + 3) / 4 * 4;
        var shape = new GpuEncodeShape
        {
            Width = width, Height = height, PatchesX = px, PatchCount = patches, Images = images,
            ImageBytes = (int)imageBytes, BlockStride = GpuEncodeKernel.BlockStride(patchSize),
            FileStride = checked((int)fileStride), PayloadStart = payloadStart,
            GroupsOffset = PatchLayout.BlockHeaderBytes(patchSize, patchSize),
        };
        return new L3GpuEncodeJob(Accelerator, shape, patchSize, channels);
    }

    /// <summary>Starts the encode of the pixels in <see cref="L3GpuEncodeJob.Input"/> on
    /// <see cref="ComputeStream"/>: patches coded, transform chosen, table scanned, files assembled.</summary>
    public void LaunchEncode(L3GpuEncodeJob job)
    {
        Accelerator.Bind();
        var k = _encodeInit;
        var shape = job.Shape;
        long patches = (long)shape.Images * shape.PatchCount;
        int groups = GpuDecodeKernel.GroupsFor(patches, job.PatchSize, _threadsPerGroup);
        k.Planes(ComputeStream, new KernelConfig(groups, _threadsPerGroup), job.Pixels.View, job.Scratch.View, job.Lengths.View,
            shape, SpecializedValue.New(job.PatchSize), SpecializedValue.New(job.Channels));
        int warpsPerGroup = _threadsPerGroup / 32;
        k.Choose(ComputeStream, new KernelConfig((shape.Images + warpsPerGroup - 1) / warpsPerGroup, _threadsPerGroup),
            job.Lengths.View, job.Table.View, job.Flags.View, shape, SpecializedValue.New(job.Channels));
        k.Assemble(ComputeStream, new KernelConfig((int)((patches + warpsPerGroup - 1) / warpsPerGroup), _threadsPerGroup),
            job.Scratch.View, job.Lengths.View, job.Table.View, job.Flags.View, job.Files.View, shape,
            SpecializedValue.New(job.Channels));
    }

    /// <summary>Waits for the encode, copies the files back and completes them on the host: the
    /// fixed header fields and the two XXH64 checksums.</summary>
    public byte[][] DownloadEncoded(L3GpuEncodeJob job)
    {
        Accelerator.Bind();
        ComputeStream.Synchronize();
        var shape = job.Shape;
        var table = new int[(long)shape.Images * (shape.PatchCount + 1)];
        job.Table.View.CopyToCPU(ComputeStream, table);
        var files = new byte[shape.Images][];
        for (int i = 0; i < shape.Images; i++)
        {
            uint payload = (uint)table[i * (shape.PatchCount + 1) + shape.PatchCount];
            var file = new byte[shape.PayloadStart + payload];
            job.Files.View.SubView((long)i * shape.FileStride, file.Length).CopyToCPU(ComputeStream, ref file[0], file.Length);
            files[i] = file;
        }
        ComputeStream.Synchronize();
        Parallel.For(0, files.Length, i => L3Header.Complete(files[i], shape.Width, shape.Height, job.Channels, job.PatchSize));
        return files;
    }

    /// <summary>Encodes images on the device (grouped by shape); byte-identical to <see cref="L3Codec.Encode(L3Image, L3EncodeOptions?)"/>.</summary>
    public byte[][] Encode(IReadOnlyList<L3Image> images, int patchSize = 64)
    {
        var result = new byte[images.Count][];
        foreach (var group in Enumerable.Range(0, images.Count).GroupBy(i => (images[i].Width, images[i].Height, images[i].Channels)))
        {
            var (width, height, channels) = group.Key;
            var indices = group.ToArray();
            long imageBytes = (long)width * height * channels;
            int perLaunch = (int)Math.Clamp((1L << 30) / imageBytes, 1, indices.Length);
            for (int start = 0; start < indices.Length; start += perLaunch)
            {
                int count = Math.Min(perLaunch, indices.Length - start);
                using var job = CreateEncodeJob(width, height, channels, patchSize, count);
                for (int j = 0; j < count; j++)
                    job.Pixels.View.SubView(j * imageBytes, imageBytes).CopyFromCPU(ComputeStream, images[indices[start + j]].Pixels);
                LaunchEncode(job);
                var files = DownloadEncoded(job);
                for (int j = 0; j < count; j++) result[indices[start + j]] = files[j];
            }
        }
        return result;
    }
}
