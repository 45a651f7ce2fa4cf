using ILGPU;
using ILGPU.Runtime;
using L3.Gpu;
using ILGPU.Runtime.Cuda;
using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// The device half of the loader. A batch runs in a slot: the slot's stream uploads the
/// <see cref="HostBatch"/>'s packed patches, tasks and output-stage parameters into the slot's
/// buffers, checks every patch (<see cref="PatchCheckKernel"/>), decodes them
/// (<see cref="GpuDecodeKernel.DecodePatchList"/>) into the slot's staging regions and runs the output
/// stage (<see cref="AugmentKernel"/>) into the batch tensor. Slots have streams of their own, so
/// one batch's upload overlaps another's kernels. Every task and crop is checked against the
/// buffers here, on the host, before a launch; what lies inside a patch, on the device. A batch
/// that a registered profile serves (<see cref="LoaderProfiles.Find"/>) runs that profile's fused
/// decode and output-stage kernels, loaded once per stage; any other the generic ones.
/// </summary>
internal sealed class FusedStage : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly int _groupSize;
    private readonly Slot[] _slots;
    private readonly Kernels _generic;
    private readonly Dictionary<LoaderProfileRegistration, Kernels> _profileKernels = new();
    private readonly Action<AcceleratorStream, Index1D, ArrayView<uint>, ArrayView<PatchTask>, int, int, ArrayView<int>> _check;

    public FusedStage(Accelerator accelerator, int slots = 2)
    {
        _accelerator = accelerator;
        _groupSize = GpuDecodeLaunch.GroupSize(accelerator);
        _slots = Enumerable.Range(0, slots).Select(_ => new Slot(accelerator.CreateStream())).ToArray();
        _check = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<uint>, ArrayView<PatchTask>, int, int, ArrayView<int>>(PatchCheckKernel.CheckPatchList);
        _generic = Kernels.Load(accelerator, GpuDecodeKernel.DecodePatchList, AugmentKernel.Augment);
    }

    public int Slots => _slots.Length;

    /// <summary>The profile whose kernels ran the last batch submitted, or null for the generic kernels.</summary>
    public LoaderProfileRegistration? LastProfile { get; private set; }

    /// <summary>The kernels for a batch: a registered profile's when it serves the batch, else the generic ones.</summary>
    private Kernels Select(HostBatch batch, AugmentOptions options)
    {
        var profile = LoaderProfiles.Find(batch.Launches.Select(l => (l.PatchSize, l.Channels)), options, batch.OutputWidth, batch.OutputHeight);
        LastProfile = profile;
        if (profile is null) return _generic;
        profile.CountBatch();
        lock (_profileKernels)
        {
            if (!_profileKernels.TryGetValue(profile, out var kernels))
                _profileKernels[profile] = kernels = Kernels.Load(_accelerator, profile.Decode, profile.Augment);
            return kernels;
        }
    }

    /// <summary>The stream of slot <paramref name="slot"/>: a batch's work there is done when it is.</summary>
    public AcceleratorStream StreamOf(int slot) => _slots[slot].Stream;

    /// <summary>Starts copying the batch's packed patches, tasks and parameters into slot <paramref name="slot"/>.</summary>
    private void Upload(HostBatch batch, Slot s)
    {
        Check(batch);
        var stream = s.Stream;
        s.Ensure(_accelerator, batch.PackedBytes / 4, batch.TaskCount, batch.Outputs.Length, (batch.StagingBytes + 7) / 8 + 1, batch.Launches.Length);
        ArrayView<uint> target = s.Data!.View.SubView(0, batch.PackedBytes / 4);
        if (batch.Packed is { } packed) target.CopyFrom(stream, packed.ArrayView.SubView(0, batch.PackedBytes / 4));
        else
        {
            // the mapped path: each sample's band straight from the page cache, then the zero padding
            var api = CudaAPI.CurrentAPI;
            IntPtr data = s.Data.NativePtr;
            foreach (var copy in batch.Copies!)
                DeviceEvent.Check(api.MemcpyAsync(data + copy.Offset, copy.Source, copy.Length, stream), "cuMemcpyAsync");
            int end = batch.Copies.Length == 0 ? 0 : batch.Copies[^1].Offset + batch.Copies[^1].Length;
            DeviceEvent.Check(api.Memset(data + end, 0, batch.PackedBytes - end, stream), "cuMemsetD8Async");
        }
        if (batch.TaskCount > 0) s.Tasks!.View.SubView(0, batch.TaskCount).CopyFrom(stream, batch.Tasks.ArrayView.SubView(0, batch.TaskCount));
        s.Samples!.View.SubView(0, batch.Outputs.Length).CopyFromCPU(stream, batch.Outputs);
        s.FirstBad!.View.SubView(0, batch.Launches.Length).CopyFromCPU(stream, Enumerable.Repeat(int.MaxValue, batch.Launches.Length).ToArray());
    }

    /// <summary>Bytes of the batch's output tensor.</summary>
    public static long OutputBytes(HostBatch batch, AugmentOptions options) =>
        (long)batch.Outputs.Length * batch.OutputWidth * batch.OutputHeight * options.Channels * options.ElementBytes;

    /// <summary>Starts the batch in slot <paramref name="slot"/> (whose previous batch must be done):
    /// upload, patch check, decode, and its tensor into <paramref name="output"/> (8-byte aligned, at
    /// least <see cref="OutputBytes"/> long); then the check's findings back to the host
    /// (<see cref="FirstBadTask"/>, once the slot's stream is done).</summary>
    public void Submit(HostBatch batch, int slot, AugmentOptions options, ArrayView<ulong> output)
    {
        var s = _slots[slot];
        if (output.Length * 8 < OutputBytes(batch, options)) throw new ArgumentException("the output buffer is too small", nameof(output));
        Upload(batch, s);
        var stream = s.Stream;
        ArrayView<ulong> data = s.Data!.View.AsContiguous().Cast<ulong>();
        ArrayView<ulong> staging = s.Staging!.View;
        var kernels = Select(batch, options);
        for (int l = 0; l < batch.Launches.Length; l++)
        {
            var launch = batch.Launches[l];
            if (launch.Count == 0) continue;
            _check(stream, launch.Count, s.Data.View, s.Tasks!.View.SubView(launch.First, launch.Count), launch.Count, launch.Channels,
                s.FirstBad!.View.SubView(l, 1));
            int groups = GpuDecodeKernel.GroupsFor(launch.Count, launch.PatchSize, _groupSize);
            kernels.Decode(stream, new KernelConfig(groups, _groupSize), data, s.Data.View, s.Tasks!.View.SubView(launch.First, launch.Count),
                staging, staging.Cast<byte>(), launch.Count, batch.ZeroWord,
                SpecializedValue.New(launch.PatchSize), SpecializedValue.New(launch.Channels));
        }
        var shape = new AugmentOutput
        {
            Width = batch.OutputWidth, Height = batch.OutputHeight, Channels = options.Channels, Samples = batch.Outputs.Length,
            ChannelsLast = options.Layout == TensorLayout.ChannelsLast ? 1 : 0,
        };
        var n = new (float Mean, float Scale)[4];
        for (int c = 0; c < options.Channels; c++) n[c] = options.Normalization(c);
        (shape.Mean0, shape.Mean1, shape.Mean2, shape.Mean3) = (n[0].Mean, n[1].Mean, n[2].Mean, n[3].Mean);
        (shape.Scale0, shape.Scale1, shape.Scale2, shape.Scale3) = (n[0].Scale, n[1].Scale, n[2].Scale, n[3].Scale);
        int threads = checked(batch.Outputs.Length * batch.OutputWidth * batch.OutputHeight);
        kernels.Augment(stream, threads, staging.Cast<byte>(), s.Samples!.View.SubView(0, batch.Outputs.Length),
            output.Cast<byte>(), output.Cast<ushort>(), output.Cast<float>(), shape, SpecializedValue.New((int)options.Type));
        s.FirstBad!.View.SubView(0, batch.Launches.Length).CopyTo(stream, s.FirstBadHost!.ArrayView.SubView(0, batch.Launches.Length));
    }

    /// <summary>After slot <paramref name="slot"/>'s stream is done with <paramref name="batch"/>: the
    /// first task the device check found bad (an index into the batch's tasks), or −1.</summary>
    public int FirstBadTask(HostBatch batch, int slot)
    {
        var found = _slots[slot].FirstBadHost!.Span;
        int first = -1;
        for (int l = 0; l < batch.Launches.Length; l++)
            if (found[l] != int.MaxValue && (first < 0 || batch.Launches[l].First + found[l] < first))
                first = batch.Launches[l].First + found[l];
        return first;
    }

    /// <summary>The kernels read without bounds checks: every launch, copy and crop must lie
    /// inside its buffers.</summary>
    private static void Check(HostBatch batch)
    {
        long dataEnd = (long)batch.ZeroWord * 4;
        if (dataEnd + 16 > batch.PackedBytes || batch.PackedBytes % 8 != 0 || (batch.Packed?.Length ?? long.MaxValue / 4) * 4 < batch.PackedBytes)
            throw new InvalidOperationException("packed buffer without its zero padding");
        if (batch.Packed is null)
        {
            int at = 0;
            foreach (var copy in batch.Copies ?? throw new InvalidOperationException("a batch with neither packed bytes nor copies"))
            {
                if (copy.Offset != at || copy.Length < 0 || copy.Source == IntPtr.Zero) throw new InvalidOperationException("device copies out of order");
                at += copy.Length;
            }
            if (at > dataEnd) throw new InvalidOperationException("device copies past the data");
        }
        // the tasks were checked by the readers as they wrote them (BatchReader.CheckTasks)
        foreach (var launch in batch.Launches)
            if (launch.First < 0 || launch.Count < 0 || launch.First + launch.Count > batch.TaskCount)
                throw new InvalidOperationException("a launch lies outside the task list");
        foreach (var o in batch.Outputs)
        {
            long last = o.Source + (long)(o.CropY + o.CropHeight - 1) * o.Stride + (long)(o.CropX + o.CropWidth) * o.SourceChannels;
            if (o.CropX < 0 || o.CropY < 0 || o.CropWidth < 1 || o.CropHeight < 1 || o.Source < 0
                || (long)(o.CropX + o.CropWidth) * o.SourceChannels > o.Stride || last > batch.StagingBytes)
                throw new InvalidOperationException("a crop lies outside its decoded region");
        }
    }

    public void Dispose()
    {
        foreach (var s in _slots) s.Dispose();
    }

    /// <summary>A decode and an output-stage kernel, loaded for this accelerator.</summary>
    private sealed record Kernels(
        Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<uint>, ArrayView<PatchTask>, ArrayView<ulong>,
            ArrayView<byte>, int, int, SpecializedValue<int>, SpecializedValue<int>> Decode,
        Action<AcceleratorStream, Index1D, ArrayView<byte>, ArrayView<AugmentSample>, ArrayView<byte>, ArrayView<ushort>,
            ArrayView<float>, AugmentOutput, SpecializedValue<int>> Augment)
    {
        public static Kernels Load(Accelerator accelerator, PatchListDecodeKernel decode, AugmentStageKernel augment) => new(
            accelerator.LoadKernel(decode.Method.CreateDelegate<Action<ArrayView<ulong>, ArrayView<uint>, ArrayView<PatchTask>,
                ArrayView<ulong>, ArrayView<byte>, int, int, SpecializedValue<int>, SpecializedValue<int>>>()),
            accelerator.LoadAutoGroupedKernel(augment.Method.CreateDelegate<Action<Index1D, ArrayView<byte>, ArrayView<AugmentSample>,
                ArrayView<byte>, ArrayView<ushort>, ArrayView<float>, AugmentOutput, SpecializedValue<int>>>()));
    }

    private sealed class Slot(AcceleratorStream stream) : IDisposable
    {
        public readonly AcceleratorStream Stream = stream;
        public MemoryBuffer1D<uint, Stride1D.Dense>? Data;
        public MemoryBuffer1D<int, Stride1D.Dense>? FirstBad;
        public PageLockedArray1D<int>? FirstBadHost;
        public MemoryBuffer1D<PatchTask, Stride1D.Dense>? Tasks;
        public MemoryBuffer1D<AugmentSample, Stride1D.Dense>? Samples;
        public MemoryBuffer1D<ulong, Stride1D.Dense>? Staging;

        public void Ensure(Accelerator accelerator, long dataWords, int tasks, int samples, long stagingLongs, int launches)
        {
            Grow(accelerator, ref FirstBad, launches);
            if (FirstBadHost is null || FirstBadHost.Length < launches)
            {
                FirstBadHost?.Dispose();
                FirstBadHost = accelerator.AllocatePageLocked1D<int>(Math.Max(16, launches));
            }
            Grow(accelerator, ref Data, dataWords);
            Grow(accelerator, ref Tasks, tasks);
            Grow(accelerator, ref Samples, samples);
            Grow(accelerator, ref Staging, stagingLongs);
        }

        internal static void Grow<T>(Accelerator accelerator, ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
        {
            if (buffer is not null && buffer.Length >= length) return;
            buffer?.Dispose();
            // room to spare: batches vary in size, and freeing device memory waits for the whole device
            buffer = accelerator.Allocate1D<T>(Math.Max(16, length + length / 2));
        }

        public void Dispose()
        {
            Stream.Synchronize();
            Stream.Dispose();
            FirstBad?.Dispose();
            FirstBadHost?.Dispose();
            Data?.Dispose();
            Tasks?.Dispose();
            Samples?.Dispose();
            Staging?.Dispose();
        }
    }
}
