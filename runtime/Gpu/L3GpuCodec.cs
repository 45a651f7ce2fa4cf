using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>
/// Decodes (and encodes) L3 files on a GPU through ILGPU: CUDA when a device is present, else
/// ILGPU's CPU accelerator emulating a CUDA device (warp of 32), which is slow but exact.
/// </summary>
/// <remarks>
/// Files are checked on the host first, exactly as the CPU path checks them
/// (<see cref="L3Header.Read"/>, the payload checksum, <see cref="PatchFormat.ValidatePatches"/>):
/// a bad file ends in <see cref="L3FormatException"/> before anything runs on the device.
/// Then the batch is packed into page-locked memory (<see cref="Prepare"/>), copied on a copy
/// stream and decoded on a compute stream, one launch per image shape. Device buffers are kept
/// and grown, in two slots, so that the next batch's copy overlaps this batch's decode
/// (<see cref="DecodeMany"/>).
/// </remarks>
public sealed partial class L3GpuCodec : IDisposable
{
    private const int Alignment = GpuDecodeLaunch.Alignment;
    private const int Padding = GpuDecodeLaunch.Padding;
    private const long MaxLaunchOutput = 1L << 30;
    /// <summary>Compressed bytes of one batch: the kernel addresses width nibbles with 32-bit indices.</summary>
    private const long MaxBatchBytes = 1L << 30;

    private readonly Context _context;
    private readonly int _threadsPerGroup;
    private readonly Slot[] _slots = [new(), new()];
    private readonly PageLockedPool _pageLocked;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<uint>, ArrayView<int>,
        ArrayView<ulong>, ArrayView<byte>, GpuDecodeShape, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>> _decode;

    /// <summary>The device in use (owned by this codec).</summary>
    public Accelerator Accelerator { get; }

    /// <summary>Stream for host↔device copies.</summary>
    public AcceleratorStream CopyStream { get; }

    /// <summary>Stream the kernels run on.</summary>
    public AcceleratorStream ComputeStream { get; }

    /// <summary>Whether this runs on a real CUDA GPU (otherwise the CPU accelerator).</summary>
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;

    public string DeviceName => Accelerator.Name;

    /// <summary>Opens the first CUDA device, or the CPU accelerator when there is none (or when
    /// <paramref name="forceCpu"/>).</summary>
    public L3GpuCodec(bool forceCpu = false) : this(new L3GpuOptions { ForceCpu = forceCpu })
    {
    }

    public L3GpuCodec(L3GpuOptions options)
    {
        bool forceCpu = options.ForceCpu;
        _context = Context.Create(b =>
        {
            if (!forceCpu) b.Cuda();
            b.CPU(CPUDeviceKind.Nvidia);
            b.Optimize(OptimizationLevel.O2);
            b.Profiling();
        });
        Device device = _context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.Cuda)
            ?? _context.Devices.First(d => d.AcceleratorType == AcceleratorType.CPU);
        Accelerator = device.CreateAccelerator(_context);
        _pageLocked = new PageLockedPool(Accelerator);
        _threadsPerGroup = GpuDecodeLaunch.ThreadsPerGroup(Accelerator);
        CopyStream = Accelerator.CreateStream();
        ComputeStream = Accelerator.CreateStream();
        // on CUDA, the launch bounds (threads per group, groups per SM) cap the kernel's registers
        var bounds = IsCuda && options.DecodeGroupsPerSM > 0
            ? new KernelSpecialization(_threadsPerGroup, options.DecodeGroupsPerSM) : KernelSpecialization.Empty;
        _decode = Accelerator.LoadKernel<ArrayView<ulong>, ArrayView<uint>, ArrayView<int>, ArrayView<ulong>,
            ArrayView<byte>, GpuDecodeShape, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>>(
            GpuDecodeKernel.Decode<AnyShape>, bounds);
        _encodeInit = LoadEncodeKernels();
        _denseLaunch = IsCuda ? options.DenseLaunch ?? DenseLaunch.Cuda : DenseLaunch.Emulated;
    }

    /// <summary>
    /// Checks every file (header, table, payload checksum unless <paramref name="verifyChecksum"/>
    /// is off, every patch) and packs them into page-locked memory. Throws
    /// <see cref="L3FormatException"/> naming the file's index on the first bad one.
    /// </summary>
    public L3GpuBatch Prepare(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum = true)
    {
        Accelerator.Bind();
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) throw new ArgumentException("no files to decode", nameof(files));
        var headers = new L3Header[files.Count];
        var errors = new L3FormatException?[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            var file = files[i].Span;
            try
            {
                var header = L3Header.Read(file);
                if (header.Mode != L3CodingMode.Rows)
                    throw new L3FormatException("a dense (mode 1) file: decode it with Decode or DecodeDense", FileLayout.ModeOffset);
                if (verifyChecksum) header.VerifyPayload(file);
                PatchFormat.ValidatePatches(file, header);
                headers[i] = header;
            }
            catch (L3FormatException e)
            {
                errors[i] = new L3FormatException($"file {i}: {e.Reason}", e.Offset);
            }
        });
        foreach (var error in errors)
            if (error is not null) throw error;

        // place the files, 16-byte aligned, grouped by shape so that each shape is one launch
        var order = Enumerable.Range(0, files.Count)
            .OrderBy(i => (headers[i].Width, headers[i].Height, headers[i].Channels, headers[i].PatchSize, i)).ToArray();
        long packedBytes = 0, compressed = 0;
        var fileByte = new long[files.Count];
        foreach (int i in order)
        {
            fileByte[i] = packedBytes;
            packedBytes += GpuDecodeLaunch.AlignedBytes(files[i].Length);
            compressed += files[i].Length;
        }
        packedBytes += Padding;
        if (packedBytes > MaxBatchBytes)
            throw new ArgumentException($"a batch of {packedBytes} compressed bytes is too large for one launch; split it", nameof(files));

        var images = new L3GpuImage[files.Count];
        var launches = new List<L3GpuBatch.Launch>();
        var fileWords = new int[files.Count];
        long output = 0;
        for (int k = 0; k < order.Length;)
        {
            var first = headers[order[k]];
            long imageBytes = first.DecodedBytes;
            int maxImages = (int)Math.Max(1, MaxLaunchOutput / imageBytes);
            int end = k;
            while (end < order.Length && end - k < maxImages && SameShape(headers[order[end]], first)) end++;
            output = (output + Alignment - 1) / Alignment * Alignment;
            var shape = GpuDecodeLaunch.Shape(first, end - k, packedBytes - Padding);
            launches.Add(new L3GpuBatch.Launch(shape, first.PatchSize, first.Channels, k, output));
            for (int j = k; j < end; j++)
            {
                int i = order[j];
                fileWords[j] = (int)(fileByte[i] / 4);
                images[i] = new L3GpuImage(first.Width, first.Height, first.Channels, first.PatchSize, output);
                output += imageBytes;
            }
            k = end;
        }

        // a reused buffer holds the last batch's bytes: every byte the kernel may read that no file
        // covers (alignment gaps, the zero padding after the last file) is cleared here
        var packed = _pageLocked.Rent(packedBytes / 4);
        Parallel.For(0, files.Count, i =>
        {
            var target = System.Runtime.InteropServices.MemoryMarshal.AsBytes(packed.Span).Slice((int)fileByte[i]);
            files[i].Span.CopyTo(target);
            int aligned = (int)GpuDecodeLaunch.AlignedBytes(files[i].Length);
            target[files[i].Length..aligned].Clear();
        });
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(packed.Span)[(int)(packedBytes - Padding)..(int)packedBytes].Clear();
        return new L3GpuBatch(packed, packedBytes / 4, ReturnPageLocked, compressed, images, launches.ToArray(), fileWords, output);

        static bool SameShape(L3Header a, L3Header b) =>
            a.Width == b.Width && a.Height == b.Height && a.Channels == b.Channels && a.PatchSize == b.PatchSize;
    }

    /// <summary>Starts copying <paramref name="batch"/> into device slot <paramref name="slot"/>
    /// (0 or 1) on <see cref="CopyStream"/>; returns at once.</summary>
    public void Upload(L3GpuBatch batch, int slot)
    {
        Accelerator.Bind();
        var s = _slots[slot];
        s.Ensure(Accelerator, batch.PackedWords, batch.FileWords.Length, (batch.OutputBytes + 3) / 4 + 4);
        // the batch's words only: a pooled buffer may be longer
        ArrayView<uint> target = s.Data!.View.SubView(0, batch.PackedWords);
        target.CopyFrom(CopyStream, batch.Packed.ArrayView.SubView(0, batch.PackedWords));
        s.FileWords!.View.SubView(0, batch.FileWords.Length).CopyFromCPU(CopyStream, batch.FileWords);
    }

    /// <summary>Starts decoding the batch already uploaded to <paramref name="slot"/> on
    /// <see cref="ComputeStream"/>, each image in <paramref name="layout"/>; returns at once.</summary>
    public void Launch(L3GpuBatch batch, int slot, L3PixelLayout layout = L3PixelLayout.Interleaved) =>
        Launch(_decode, batch, slot, layout);

    /// <summary>Starts decoding the batch in <paramref name="slot"/> with the kernel instantiated with
    /// <typeparamref name="TShape"/> (a profile's shape: bench/gpu compares it with the generic one);
    /// every image of the batch must be of the shape.</summary>
    internal void Launch<TShape>(L3GpuBatch batch, int slot, L3PixelLayout layout = L3PixelLayout.Interleaved)
        where TShape : struct, IPatchShape
    {
        var shape = default(TShape);
        foreach (var launch in batch.Launches)
            if (shape.N != 0 && launch.PatchSize != shape.N || shape.Width != 0 && launch.Shape.Width != shape.Width
                || shape.Height != 0 && launch.Shape.Height != shape.Height || shape.Channels != 0 && launch.Channels != shape.Channels)
                throw new ArgumentException($"the batch holds images that are not of the shape {typeof(TShape)}", nameof(batch));
        Launch(GpuDecodeLaunch.ShapeKernel<TShape>.For(Accelerator), batch, slot, layout);
    }

    private void Launch(Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<uint>, ArrayView<int>,
        ArrayView<ulong>, ArrayView<byte>, GpuDecodeShape, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>> decode,
        L3GpuBatch batch, int slot, L3PixelLayout layout)
    {
        Accelerator.Bind();
        var s = _slots[slot];
        foreach (var launch in batch.Launches)
        {
            int groups = GpuDecodeLaunch.Groups(launch.Shape, launch.PatchSize, _threadsPerGroup);
            // output offsets are 16-byte aligned (Prepare), so the 8-byte view starts where the byte view does
            ArrayView<ulong> output = s.Output!.View.SubView(launch.OutputOffset / 4, s.Output.Length - launch.OutputOffset / 4)
                .AsContiguous().Cast<ulong>();
            ArrayView<ulong> data = s.Data!.View.AsContiguous().Cast<ulong>();
            decode(ComputeStream, new KernelConfig(groups, _threadsPerGroup),
                data, s.Data.View, s.FileWords!.View.SubView(launch.FirstFile, launch.Shape.Images),
                output, output.Cast<byte>(), launch.Shape,
                SpecializedValue.New(launch.PatchSize), SpecializedValue.New(launch.Channels),
                SpecializedValue.New(layout == L3PixelLayout.Planar ? GpuDecodeKernel.Planar : GpuDecodeKernel.Interleaved));
        }
    }

    /// <summary>The decoded pixels of the last batch decoded in <paramref name="slot"/>
    /// (see <see cref="L3GpuImage.OutputOffset"/>).</summary>
    public ArrayView<byte> Output(int slot) => _slots[slot].Output!.View.AsContiguous().Cast<byte>();

    /// <summary>Waits for both streams.</summary>
    public void Synchronize()
    {
        Accelerator.Bind();
        CopyStream.Synchronize();
        ComputeStream.Synchronize();
    }

    /// <summary>
    /// Decodes batches one after another, copying batch i + 1 while batch i decodes; after each
    /// batch's decode, <paramref name="consume"/> gets the batch and its device output (valid
    /// until the call returns), each image in <paramref name="layout"/>.
    /// </summary>
    public void DecodeMany(IEnumerable<L3GpuBatch> batches, Action<L3GpuBatch, ArrayView<byte>>? consume = null,
        L3PixelLayout layout = L3PixelLayout.Interleaved)
    {
        using var e = batches.GetEnumerator();
        if (!e.MoveNext()) return;
        var current = e.Current;
        int slot = 0;
        Upload(current, slot);
        CopyStream.Synchronize();
        while (true)
        {
            Launch(current, slot, layout);
            L3GpuBatch? next = e.MoveNext() ? e.Current : null;
            if (next is not null) Upload(next, 1 - slot);
            Synchronize();
            consume?.Invoke(current, Output(slot));
            if (next is null) break;
            current = next;
            slot = 1 - slot;
        }
    }

    /// <summary>Decodes files to host images (checked first; any bad file fails the whole call).</summary>
    public L3Image[] Decode(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum = true) =>
        files.Count > 0 && files.All(IsDense) ? DecodeDenseByShape(files, verifyChecksum) : DecodeToHost(files, verifyChecksum, L3PixelLayout.Interleaved, (im, pixels) => new L3Image(im.Width, im.Height, im.Channels, pixels));

    /// <summary>Decodes files to planar pixels (CHW: channel 0's H × W bytes, then channel 1's, …),
    /// the layout a training framework's tensor takes; checked first like <see cref="Decode(IReadOnlyList{ReadOnlyMemory{byte}}, bool)"/>.</summary>
    public byte[][] DecodePlanar(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum = true) =>
        DecodeToHost(files, verifyChecksum, L3PixelLayout.Planar, (_, pixels) => pixels);

    private T[] DecodeToHost<T>(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum, L3PixelLayout layout,
        Func<L3GpuImage, byte[], T> make)
    {
        using var batch = Prepare(files, verifyChecksum);
        Upload(batch, 0);
        CopyStream.Synchronize();
        Launch(batch, 0, layout);
        ComputeStream.Synchronize();
        var all = new byte[batch.OutputBytes];
        Output(0).SubView(0, batch.OutputBytes).CopyToCPU(ComputeStream, all);
        ComputeStream.Synchronize();
        return batch.Images.Select(im => make(im, all.AsSpan((int)im.OutputOffset, (int)im.Bytes).ToArray())).ToArray();
    }

    public L3Image Decode(ReadOnlyMemory<byte> file) => Decode([file])[0];

    private static bool IsDense(ReadOnlyMemory<byte> file) =>
        file.Length > FileLayout.ModeOffset && file.Span[FileLayout.ModeOffset] == (byte)L3CodingMode.Dense;

    /// <summary>Dense files, one <see cref="DecodeDense"/> per shape, the images back in input order.</summary>
    private L3Image[] DecodeDenseByShape(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum)
    {
        var shapes = new (int, int, int, int)[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            try
            {
                var h = L3Header.Read(files[i].Span);
                shapes[i] = (h.Width, h.Height, h.Channels, h.PatchSize);
            }
            catch (L3FormatException e) { throw new L3FormatException($"file {i}: {e.Reason}", e.Offset); }
        }
        var images = new L3Image[files.Count];
        foreach (var group in Enumerable.Range(0, files.Count).GroupBy(i => shapes[i]))
        {
            var indices = group.ToArray();
            L3Image[] decoded;
            try { decoded = DecodeDense(indices.Select(i => files[i]).ToArray(), verifyChecksum); }
            catch (L3FormatException e) when (e.Reason.StartsWith("file ", StringComparison.Ordinal))
            {
                // name the file by its index in the call, not in its group
                int inGroup = int.Parse(e.Reason[5..e.Reason.IndexOf(':')], System.Globalization.CultureInfo.InvariantCulture);
                throw new L3FormatException($"file {indices[inGroup]}{e.Reason[e.Reason.IndexOf(':')..]}", e.Offset);
            }
            for (int k = 0; k < indices.Length; k++) images[indices[k]] = decoded[k];
        }
        return images;
    }

    /// <summary>A disposed batch's buffer back to the pool, once no copy from it is in flight (the
    /// next batch will be packed into it).</summary>
    private void ReturnPageLocked(PageLockedArray1D<uint> buffer)
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            Accelerator.Bind();
            CopyStream.Synchronize();
        }
        _pageLocked.Return(buffer);
    }

    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Synchronize();
        foreach (var s in _slots) s.Dispose();
        _pageLocked.Dispose();
        CopyStream.Dispose();
        ComputeStream.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }

    /// <summary>Copies <paramref name="batch"/> to slot 0 and waits: host→device time alone.</summary>
    public void UploadAndWait(L3GpuBatch batch)
    {
        Upload(batch, 0);
        CopyStream.Synchronize();
    }

    /// <summary>Device buffers of one in-flight batch, grown as needed and kept.</summary>
    private sealed class Slot : IDisposable
    {
        public MemoryBuffer1D<uint, Stride1D.Dense>? Data, Output;
        public MemoryBuffer1D<int, Stride1D.Dense>? FileWords;

        public void Ensure(Accelerator accelerator, long dataWords, int files, long outputWords)
        {
            Grow(accelerator, ref Data, dataWords);
            Grow(accelerator, ref FileWords, files);
            Grow(accelerator, ref Output, outputWords);
        }

        private static void Grow<T>(Accelerator accelerator, ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length)
            where T : unmanaged
        {
            if (buffer is not null && buffer.Length >= length) return;
            buffer?.Dispose();
            buffer = accelerator.Allocate1D<T>(Math.Max(length, 16));
        }

        public void Dispose()
        {
            Data?.Dispose();
            Output?.Dispose();
            FileWords?.Dispose();
        }
    }
}

/// <summary>How a decoded image's bytes are laid out.</summary>
public enum L3PixelLayout
{
    /// <summary>HWC: a pixel's channels together, rows top to bottom (as <see cref="L3Image"/>).</summary>
    Interleaved,
    /// <summary>CHW: each channel's H × W bytes, one channel after another.</summary>
    Planar,
}

/// <summary>Choices for <see cref="L3GpuCodec"/>.</summary>
public sealed record L3GpuOptions
{
    /// <summary>Use ILGPU's CPU accelerator even when a CUDA device is present.</summary>
    public bool ForceCpu { get; init; }

    /// <summary>Decode kernel launch bound: groups of 128 threads that must fit one SM at once
    /// (caps registers per thread; 0 = let the compiler choose). The default, 0, measured best on
    /// an H100 (72 registers, 7 groups an SM); a bound of 8 (64 registers) spills and is 20% slower
    /// (bench/RESULTS.md, "GPU").</summary>
    public int DecodeGroupsPerSM { get; init; }

    /// <summary>How the dense (mode 1) kernel is launched on CUDA: threads a group and its launch bound
    /// (null = <see cref="L3.Kernels.DenseLaunch.Cuda"/>). On the CPU accelerator it is always
    /// <see cref="L3.Kernels.DenseLaunch.Emulated"/>.</summary>
    public DenseLaunch? DenseLaunch { get; init; }
}
