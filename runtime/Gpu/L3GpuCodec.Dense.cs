using ILGPU;
using ILGPU.Runtime;
using L3.Dense;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>
/// Dense files (coding mode 1) on the GPU: checked on the host exactly as the CPU path checks them
/// (header, payload checksum, tables, every patch's structure), their tables expanded on the host,
/// then one <see cref="GpuDenseDecodeKernel"/> launch per image shape. A stream fault the kernel
/// finds fails the call with <see cref="L3FormatException"/> naming the file.
/// </summary>
public sealed partial class L3GpuCodec
{
    private Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<long>, ArrayView<byte>, ArrayView<uint>,
        ArrayView<ulong>, ArrayView<byte>, ArrayView<int>, GpuDenseShape, SpecializedValue<int>, SpecializedValue<int>>? _decodeDense;

    /// <summary>The dense kernel, compiled once per patch size and channel count (SpecializedValue).</summary>
    private Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<long>, ArrayView<byte>, ArrayView<uint>,
        ArrayView<ulong>, ArrayView<byte>, ArrayView<int>, GpuDenseShape, SpecializedValue<int>, SpecializedValue<int>> DenseKernel =>
        _decodeDense ??= Accelerator.LoadKernel<ArrayView<byte>, ArrayView<long>, ArrayView<byte>, ArrayView<uint>,
            ArrayView<ulong>, ArrayView<byte>, ArrayView<int>, GpuDenseShape, SpecializedValue<int>, SpecializedValue<int>>(
            GpuDenseDecodeKernel.DenseDecode, _denseLaunch.Bounds(Accelerator));

    private readonly DenseLaunch _denseLaunch;

    /// <summary>
    /// Dense files of one shape, checked and on the device, ready to decode (again and again, for a
    /// benchmark) with <see cref="LaunchDense"/>.
    /// </summary>
    public sealed class DenseBatch : IDisposable
    {
        internal GpuDenseShape Shape;
        internal MemoryBuffer1D<byte, Stride1D.Dense> Data = null!;
        internal MemoryBuffer1D<long, Stride1D.Dense> FileStarts = null!;
        internal MemoryBuffer1D<byte, Stride1D.Dense> Ranks = null!;
        internal MemoryBuffer1D<uint, Stride1D.Dense> Entries = null!;
        /// <summary>The decoded images, back to back, in 8-byte words (the kernel stores whole words where it can).</summary>
        internal MemoryBuffer1D<ulong, Stride1D.Dense> Output = null!;

        /// <summary><see cref="Output"/> as its <see cref="OutputBytes"/> bytes.</summary>
        internal ArrayView<byte> OutputBytesView => Output.View.AsContiguous().Cast<byte>().SubView(0, OutputBytes);
        internal MemoryBuffer1D<int, Stride1D.Dense> Errors = null!;

        public int Images => Shape.Images;

        /// <summary>Decoded bytes of the batch (all images).</summary>
        public long OutputBytes => (long)Shape.ImageBytes * Shape.Images;

        /// <summary>The decoded images, back to back (after the launch has finished).</summary>
        public byte[] OutputToHost() => OutputBytesView.GetAsArray();

        /// <summary>Per image, whether the kernel found its stream corrupt.</summary>
        public bool[] FailedToHost() => Errors.GetAsArray1D().Select(e => e != 0).ToArray();

        public void Dispose()
        {
            Data?.Dispose(); FileStarts?.Dispose(); Ranks?.Dispose(); Entries?.Dispose(); Output?.Dispose(); Errors?.Dispose();
        }
    }

    /// <summary>Checks dense files of one shape on the host and copies them, with their expanded
    /// tables, to the device.</summary>
    /// <exception cref="L3FormatException">a file is not a valid dense L3 file (named by its index)</exception>
    public DenseBatch PrepareDense(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum = true)
    {
        Accelerator.Bind();
        if (files.Count == 0) throw new ArgumentException("no files to decode", nameof(files));
        var headers = new L3Header[files.Count];
        var tables = new DenseTables[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            var file = files[i].Span;
            try
            {
                var header = L3Header.Read(file);
                if (header.Mode != L3CodingMode.Dense) throw new ArgumentException($"file {i} is not a dense file", nameof(files));
                if (verifyChecksum) header.VerifyPayload(file);
                tables[i] = DenseFileDecoder.Validate(file, header);
                headers[i] = header;
            }
            catch (L3FormatException e)
            {
                throw new L3FormatException($"file {i}: {e.Reason}", e.Offset);
            }
            var first = headers[0];
            if (headers[i].Width != first.Width || headers[i].Height != first.Height || headers[i].Channels != first.Channels
                || headers[i].PatchSize != first.PatchSize)
                throw new ArgumentException("a dense batch holds files of one shape", nameof(files));
        }
        var h = headers[0];
        // the kernel's output offsets are 32-bit
        if (h.DecodedBytes * files.Count > int.MaxValue)
            throw new ArgumentException("a dense batch decodes to at most 2 GiB: split it", nameof(files));
        var batch = new DenseBatch
        {
            Shape = new GpuDenseShape
            {
                Width = h.Width, Height = h.Height, Channels = h.Channels, PatchSize = h.PatchSize, PatchesX = h.PatchesX,
                PatchCount = h.PatchCount, Images = files.Count, ImageBytes = checked((int)h.DecodedBytes), PayloadStart = h.PayloadStart,
            },
        };
        try
        {
            long total = files.Sum(f => (long)f.Length);
            var data = new byte[total];
            var starts = new long[files.Count];
            long at = 0;
            for (int i = 0; i < files.Count; i++) { starts[i] = at; files[i].Span.CopyTo(data.AsSpan((int)at)); at += files[i].Length; }
            int rankBytes = DenseKernelTables.RankBytes(h.Channels), entryCount = DenseKernelTables.Entries(h.Channels);
            var ranks = new byte[(long)files.Count * rankBytes];
            var entries = new uint[(long)files.Count * entryCount];
            for (int i = 0; i < files.Count; i++)
                DenseKernelTables.Write(tables[i], ranks.AsSpan(i * rankBytes, rankBytes), entries.AsSpan(i * entryCount, entryCount));
            batch.Data = Accelerator.Allocate1D(data);
            batch.FileStarts = Accelerator.Allocate1D(starts);
            batch.Ranks = Accelerator.Allocate1D(ranks);
            batch.Entries = Accelerator.Allocate1D(entries);
            batch.Output = Accelerator.Allocate1D<ulong>((batch.OutputBytes + 7) / 8);
            batch.Errors = Accelerator.Allocate1D<int>(files.Count);
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>Launches the dense decode of a batch on <see cref="ComputeStream"/> (not waited for).</summary>
    public void LaunchDense(DenseBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Accelerator.Bind();
        batch.Errors.View.MemSetToZero(ComputeStream);
        DenseKernel(ComputeStream, _denseLaunch.Config((long)batch.Shape.PatchCount * batch.Shape.Images, batch.Shape.PatchSize), batch.Data.View, batch.FileStarts.View,
            batch.Ranks.View, batch.Entries.View, batch.Output.View, batch.OutputBytesView, batch.Errors.View, batch.Shape,
            SpecializedValue.New(batch.Shape.PatchSize), SpecializedValue.New(batch.Shape.Channels));
    }

    /// <summary>Decodes dense files of one shape to host images; a stream fault found by the kernel
    /// throws <see cref="L3FormatException"/> naming the first bad file.</summary>
    public L3Image[] DecodeDense(IReadOnlyList<ReadOnlyMemory<byte>> files, bool verifyChecksum = true)
    {
        using var batch = PrepareDense(files, verifyChecksum);
        LaunchDense(batch);
        ComputeStream.Synchronize();
        var errors = batch.Errors.GetAsArray1D();
        for (int i = 0; i < errors.Length; i++)
            if (errors[i] != 0) throw new L3FormatException($"file {i}: a dense patch's stream is corrupt (found by the GPU decoder)");
        var all = batch.OutputToHost();
        var s = batch.Shape;
        return Enumerable.Range(0, s.Images)
            .Select(i => new L3Image(s.Width, s.Height, s.Channels, all.AsSpan(i * s.ImageBytes, s.ImageBytes).ToArray())).ToArray();
    }
}
