using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>
/// How files are laid out and launched for <see cref="GpuDecodeKernel"/>, in one place for
/// <see cref="L3GpuCodec"/> and for the profiles the generator emits: <see cref="Launch{TShape}"/> and
/// <see cref="DecodeOnAccelerator{TShape}"/> run the kernel instantiated with a profile's shape.
/// </summary>
public static class GpuDecodeLaunch
{
    /// <summary>Files start on 16-byte boundaries.</summary>
    public const int Alignment = 16;

    /// <summary>Zero bytes after the last file: the kernel reads up to 12 bytes past a group and
    /// takes the widths of rows that have none from here.</summary>
    public const int Padding = 16;

    /// <summary>A file's bytes rounded up to <see cref="Alignment"/>.</summary>
    public static long AlignedBytes(long fileBytes) => (fileBytes + Alignment - 1) / Alignment * Alignment;

    /// <summary>Threads per group on <paramref name="accelerator"/>: 128 on a GPU; a warp on ILGPU's
    /// CPU accelerator, where fewer threads a group run faster.</summary>
    public static int ThreadsPerGroup(Accelerator accelerator) =>
        accelerator.AcceleratorType == AcceleratorType.Cuda ? GpuDecodeKernel.ThreadsPerGroup : 32;

    /// <summary><see cref="ThreadsPerGroup"/> under the name the generator's profiles call today;
    /// to go once they launch through the library (issue 11, profiles).</summary>
    public static int GroupSize(Accelerator accelerator) => ThreadsPerGroup(accelerator);

    /// <summary>The shape of a launch over <paramref name="images"/> files of
    /// <paramref name="header"/>'s shape, the zero padding starting at byte <paramref name="paddingAt"/>.</summary>
    public static GpuDecodeShape Shape(L3Header header, int images, long paddingAt) => new()
    {
        Width = header.Width, Height = header.Height, PatchesX = header.PatchesX, PatchCount = header.PatchCount,
        Images = images, ImageBytes = checked((int)header.DecodedBytes), PayloadStart = header.PayloadStart,
        ZeroWord = checked((int)(paddingAt / 4)),
    };

    /// <summary>Groups to launch for <paramref name="shape"/>.</summary>
    public static int Groups(GpuDecodeShape shape, int patchSize, int threadsPerGroup) =>
        GpuDecodeKernel.GroupsFor((long)shape.Images * shape.PatchCount, patchSize, threadsPerGroup);

    /// <summary>
    /// Launches <c>GpuDecodeKernel.Decode&lt;TShape&gt;</c> on one file already on the accelerator:
    /// <paramref name="file"/> holds the file from word 0, then zero bytes up to
    /// <see cref="AlignedBytes"/>(file length) + <see cref="Padding"/>; <paramref name="pixels"/>
    /// receives header.DecodedBytes bytes, interleaved; <paramref name="fileWords"/> holds one 0 (the
    /// file's first word). <paramref name="header"/> must come from a file the host validated (as
    /// <see cref="DecodeOnAccelerator{TShape}"/> does) and be of the shape. Returns at once;
    /// synchronize the stream before reading the pixels. The kernel is compiled once per accelerator.
    /// </summary>
    public static void Launch<TShape>(AcceleratorStream stream, L3Header header, ArrayView<uint> file, ArrayView<ulong> pixels,
        ArrayView<int> fileWords) where TShape : struct, IPatchShape
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(header);
        if (!L3Codec.IsOfShape<TShape>(header))
            throw new ArgumentException($"the header is not of the shape {typeof(TShape)}", nameof(header));
        long fileBytes = AlignedBytes(header.FileLength);
        if (pixels.Length * 8 < header.DecodedBytes || file.Length * 4 < fileBytes + Padding || fileWords.Length < 1)
            throw new ArgumentException("the device buffers are smaller than the file with its padding, or its image");
        var decode = ShapeKernel<TShape>.For(stream.Accelerator);
        var shape = Shape(header, 1, fileBytes);
        int threadsPerGroup = ThreadsPerGroup(stream.Accelerator);
        decode(stream, new KernelConfig(Groups(shape, header.PatchSize, threadsPerGroup), threadsPerGroup),
            file.Cast<ulong>(), file, fileWords, pixels, pixels.Cast<byte>(), shape,
            SpecializedValue.New(header.PatchSize), SpecializedValue.New(header.Channels), SpecializedValue.New(GpuDecodeKernel.Interleaved));
    }

    /// <summary>
    /// Decodes one file of the shape on <paramref name="accelerator"/>: the host makes every check
    /// <see cref="L3Codec.Decode{TShape}(ReadOnlySpan{byte}, Span{byte}, L3DecodeOptions?)"/> makes
    /// before any kernel runs, then the file is copied over, <see cref="Launch{TShape}"/> runs and
    /// the pixels are copied back.
    /// </summary>
    /// <exception cref="L3FormatException">the file is not a valid L3 file</exception>
    /// <exception cref="ArgumentException">the file is not of the shape, or <paramref name="pixels"/> is too small</exception>
    public static L3Header DecodeOnAccelerator<TShape>(Accelerator accelerator, ReadOnlySpan<byte> file, Span<byte> pixels)
        where TShape : struct, IPatchShape
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        var header = L3Codec.ReadAndValidate<TShape>(file, 1, out var tables);
        if (pixels.Length < header.DecodedBytes)
            throw new ArgumentException($"the destination holds {pixels.Length} bytes; the image needs {header.DecodedBytes}", nameof(pixels));
        if (tables is not null)
        {
            DecodeDenseOnAccelerator<TShape>(accelerator, file, header, tables, pixels);
            return header;
        }
        long words = (AlignedBytes(file.Length) + Padding) / 4;
        using var deviceFile = accelerator.Allocate1D<uint>(words + words % 2);
        using var devicePixels = accelerator.Allocate1D<ulong>((header.DecodedBytes + 7) / 8);
        using var fileWords = accelerator.Allocate1D<int>(1);
        deviceFile.MemSetToZero();
        fileWords.MemSetToZero();
        deviceFile.View.AsContiguous().Cast<byte>().SubView(0, file.Length).CopyFromCPU(ref MemoryMarshal.GetReference(file), file.Length);
        Launch<TShape>(accelerator.DefaultStream, header, deviceFile.View, devicePixels.View, fileWords.View);
        accelerator.Synchronize();
        devicePixels.View.AsContiguous().Cast<byte>().SubView(0, header.DecodedBytes)
            .CopyToCPU(ref MemoryMarshal.GetReference(pixels), header.DecodedBytes);
        return header;
    }

    /// <summary>
    /// A validated dense file (coding mode 1) on <paramref name="accelerator"/>: its tables expanded on
    /// the host (<see cref="DenseKernelTables"/>), one task a patch, and the dense patch-list kernel
    /// instantiated with <typeparamref name="TShape"/> (<see cref="GpuDenseDecodeKernel.DecodePatchList{TShape}"/>,
    /// the loader's fused dense decode). A stream the kernel finds corrupt throws, and nothing is
    /// copied back.
    /// </summary>
    private static void DecodeDenseOnAccelerator<TShape>(Accelerator accelerator, ReadOnlySpan<byte> file, L3Header header, Dense.DenseTables tables,
        Span<byte> pixels) where TShape : struct, IPatchShape
    {
        var ranks = new byte[DenseKernelTables.RankBytes(header.Channels)];
        var entries = new uint[DenseKernelTables.Entries(header.Channels)];
        DenseKernelTables.Write(tables, ranks, entries);
        var tasks = new PatchTask[header.PatchCount];
        for (int i = 0; i < tasks.Length; i++)
        {
            var rect = header.PatchRect(i);
            var (start, length) = header.PatchRange(i);
            tasks[i] = new PatchTask
            {
                Start = header.PayloadStart + start, Length = length, Width = rect.Width, Height = rect.Height,
                Out = (rect.Y * header.Width + rect.X) * header.Channels, RowStride = header.Width * header.Channels,
            };
        }
        using var deviceFile = accelerator.Allocate1D<byte>(AlignedBytes(file.Length) + Padding);
        using var deviceTasks = accelerator.Allocate1D(tasks);
        using var deviceRanks = accelerator.Allocate1D(ranks);
        using var deviceEntries = accelerator.Allocate1D(entries);
        using var devicePixels = accelerator.Allocate1D<ulong>((header.DecodedBytes + 7) / 8);
        using var firstBad = accelerator.Allocate1D(new[] { int.MaxValue });
        deviceFile.MemSetToZero();
        deviceFile.View.SubView(0, file.Length).CopyFromCPU(ref MemoryMarshal.GetReference(file), file.Length);
        int n = header.PatchSize;
        DenseShapeKernel<TShape>.For(accelerator)(accelerator.DefaultStream,
            DenseLaunch.For(accelerator).Config(tasks.Length, n),
            deviceFile.View, deviceTasks.View, deviceRanks.View, deviceEntries.View, devicePixels.View, devicePixels.View.AsContiguous().Cast<byte>(),
            firstBad.View, tasks.Length, SpecializedValue.New(n), SpecializedValue.New(header.Channels));
        accelerator.Synchronize();
        int bad = firstBad.GetAsArray1D()[0];
        if (bad != int.MaxValue)
            throw new L3FormatException($"dense patch {bad}'s stream is corrupt (found by the GPU decoder)", header.PayloadStart + header.PatchRange(bad).Start);
        devicePixels.View.AsContiguous().Cast<byte>().SubView(0, header.DecodedBytes)
            .CopyToCPU(ref MemoryMarshal.GetReference(pixels), header.DecodedBytes);
    }

    /// <summary>The dense patch-list kernel instantiated with <typeparamref name="TShape"/>, loaded once per
    /// accelerator, launched as the codec launches it (<see cref="DenseLaunch.For"/>).</summary>
    internal static class DenseShapeKernel<TShape> where TShape : struct, IPatchShape
    {
        private static readonly ConditionalWeakTable<Accelerator, Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<PatchTask>,
            ArrayView<byte>, ArrayView<uint>, ArrayView<ulong>, ArrayView<byte>, ArrayView<int>, int, SpecializedValue<int>, SpecializedValue<int>>> Loaded = new();

        public static Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<PatchTask>, ArrayView<byte>, ArrayView<uint>, ArrayView<ulong>,
            ArrayView<byte>, ArrayView<int>, int, SpecializedValue<int>, SpecializedValue<int>> For(Accelerator accelerator) =>
            Loaded.GetValue(accelerator, a => a.LoadKernel<ArrayView<byte>, ArrayView<PatchTask>, ArrayView<byte>, ArrayView<uint>, ArrayView<ulong>,
                ArrayView<byte>, ArrayView<int>, int, SpecializedValue<int>, SpecializedValue<int>>(
                GpuDenseDecodeKernel.DecodePatchList<TShape>, DenseLaunch.For(a).Bounds(a)));
    }

    /// <summary>The decode kernel instantiated with <typeparamref name="TShape"/>, loaded once per accelerator.</summary>
    internal static class ShapeKernel<TShape> where TShape : struct, IPatchShape
    {
        private static readonly ConditionalWeakTable<Accelerator, Action<AcceleratorStream, KernelConfig, ArrayView<ulong>,
            ArrayView<uint>, ArrayView<int>, ArrayView<ulong>, ArrayView<byte>, GpuDecodeShape,
            SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>>> Loaded = new();

        public static Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<uint>, ArrayView<int>, ArrayView<ulong>,
            ArrayView<byte>, GpuDecodeShape, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>> For(
            Accelerator accelerator) =>
            Loaded.GetValue(accelerator, a => a.LoadKernel<ArrayView<ulong>, ArrayView<uint>, ArrayView<int>, ArrayView<ulong>,
                ArrayView<byte>, GpuDecodeShape, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>>(
                GpuDecodeKernel.Decode<TShape>));
    }
}
