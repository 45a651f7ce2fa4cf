using ILGPU;
using ILGPU.Runtime;
using L3.Gpu;
using ILGPU.Runtime.Cuda;
using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// The device half of the loader. A batch runs in a slot: the slot's stream uploads the
/// <see cref="HostBatch"/>'s data (patches and table slices), regions and output-stage parameters
/// into the slot's buffers, writes and checks every patch's task (<see cref="PatchTaskKernel"/>),
/// decodes them (<see cref="GpuDecodeKernel.DecodePatchList"/>) into the slot's staging regions and
/// runs the output stage (<see cref="AugmentKernel"/>) into the batch tensor. Slots have streams of
/// their own, so one batch's upload overlaps another's kernels, and every upload is asynchronous
/// (from page-locked memory), so the device thread never waits for one. Every region, copy and crop
/// is checked against the buffers here, on the host, before a launch; what the tables and patches
/// hold, on the device. A batch
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
    private readonly Action<AcceleratorStream, Index1D, ArrayView<uint>, ArrayView<SampleRegion>, int, ArrayView<int>, ArrayView<PatchTask>, int, int, int,
        int, ArrayView<int>> _writeTasks;

    public FusedStage(Accelerator accelerator, int slots = 2, bool timeDevice = false)
    {
        _accelerator = accelerator;
        _groupSize = GpuDecodeLaunch.GroupSize(accelerator);
        _slots = Enumerable.Range(0, slots).Select(_ => new Slot(accelerator.CreateStream())
        {
            Marks = timeDevice && accelerator is CudaAccelerator ? Enumerable.Range(0, 4).Select(_ => DeviceEvent.Timed(accelerator)!).ToArray() : null,
        }).ToArray();
        _writeTasks = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<uint>, ArrayView<SampleRegion>, int, ArrayView<int>, ArrayView<PatchTask>, int, int, int,
            int, ArrayView<int>>(PatchTaskKernel.WriteTasks);
        _generic = Kernels.Load(accelerator, GpuDecodeKernel.DecodePatchList, GpuDenseDecodeKernel.DecodePatchList, AugmentKernel.Augment);
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
                _profileKernels[profile] = kernels = Kernels.Load(_accelerator, profile.Decode, profile.DenseDecode, profile.Augment);
            return kernels;
        }
    }

    /// <summary>The stream of slot <paramref name="slot"/>: a batch's work there is done when it is.</summary>
    public AcceleratorStream StreamOf(int slot) => _slots[slot].Stream;

    /// <summary>Starts copying the batch's data, regions and parameters into slot <paramref name="slot"/>,
    /// asynchronously: the small arrays go through the slot's page-locked staging (the slot's previous
    /// batch is done, so they are free).</summary>
    private void Upload(HostBatch batch, Slot s)
    {
        Check(batch);
        var stream = s.Stream;
        s.Ensure(_accelerator, batch.PackedBytes / 4, batch.TaskCount, batch.Outputs.Length, (batch.StagingBytes + 7) / 8 + 1, batch.Launches.Length,
            batch.Regions.Length, batch.RowBiases.Length);
        var data = s.Data!.View;
        if (batch.Packed is { } packed)
        {
            int words = (batch.DataBytes + 3) / 4;
            if (words > 0) data.SubView(0, words).CopyFrom(stream, packed.ArrayView.SubView(0, words));
        }
        else
        {
            // the mapped path: each sample's band straight from the page cache
            var api = CudaAPI.CurrentAPI;
            foreach (var copy in batch.Copies!)
                DeviceEvent.Check(api.MemcpyAsync(s.Data.NativePtr + copy.Offset, copy.Source, copy.Length, stream), "cuMemcpyAsync");
        }
        if (batch.TableWords > 0) data.SubView(batch.TablesWord, batch.TableWords).CopyFrom(stream, batch.Tables.ArrayView.SubView(0, batch.TableWords));
        data.SubView(batch.ZeroWord, batch.PackedBytes / 4 - batch.ZeroWord).MemSetToZero(stream);
        Stage(stream, batch.Regions, s.RegionsHost!, s.Regions!);
        Stage(stream, batch.RowBiases, s.RowBiasesHost!, s.RowBiases!);
        Stage(stream, batch.Outputs, s.SamplesHost!, s.Samples!);
        s.FirstBadHost!.Span[..batch.Launches.Length].Fill(int.MaxValue);
        s.FirstBad!.View.SubView(0, batch.Launches.Length).CopyFrom(stream, s.FirstBadHost.ArrayView.SubView(0, batch.Launches.Length));
    }

    /// <summary>Copies <paramref name="values"/> into page-locked <paramref name="host"/>, then starts
    /// its upload to <paramref name="device"/> (ILGPU's copy from a managed array would wait for the stream).</summary>
    private static void Stage<T>(AcceleratorStream stream, T[] values, PageLockedArray1D<T> host, MemoryBuffer1D<T, Stride1D.Dense> device) where T : unmanaged
    {
        if (values.Length == 0) return;
        values.CopyTo(host.Span);
        device.View.SubView(0, values.Length).CopyFrom(stream, host.ArrayView.SubView(0, values.Length));
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
        var stream = s.Stream;
        s.Marks?[0].Record(stream);
        Upload(batch, s);
        s.Marks?[1].Record(stream);
        ArrayView<ulong> data = s.Data!.View.AsContiguous().Cast<ulong>();
        ArrayView<byte> dataBytes = s.Data.View.AsContiguous().Cast<byte>();
        ArrayView<ulong> staging = s.Staging!.View;
        var kernels = Select(batch, options);
        for (int l = 0; l < batch.Launches.Length; l++)
        {
            var launch = batch.Launches[l];
            if (launch.Count == 0) continue;
            _writeTasks(stream, launch.Count, s.Data.View, s.Regions!.View.SubView(launch.RegionFirst, launch.RegionCount), launch.RegionCount,
                s.RowBiases!.View, s.Tasks!.View.SubView(launch.First, launch.Count), launch.Count, launch.PatchSize, launch.Channels,
                launch.Mode, s.FirstBad!.View.SubView(l, 1));
            if (launch.Mode == DenseMode)
            {
                int sets = launch.TableSets;
                kernels.DenseDecode(stream, DenseLaunch.For(_accelerator).Config(launch.Count, launch.PatchSize),
                    dataBytes, s.Tasks!.View.SubView(launch.First, launch.Count),
                    dataBytes.SubView(launch.RanksWord * 4L, (long)sets * DenseKernelTables.RankBytes(launch.Channels)),
                    s.Data.View.SubView(launch.EntriesWord, (long)sets * DenseKernelTables.Entries(launch.Channels)),
                    staging, staging.Cast<byte>(), s.FirstBad!.View.SubView(l, 1), launch.Count,
                    SpecializedValue.New(launch.PatchSize), SpecializedValue.New(launch.Channels));
                continue;
            }
            int groups = GpuDecodeKernel.GroupsFor(launch.Count, launch.PatchSize, _groupSize);
            kernels.Decode(stream, new KernelConfig(groups, _groupSize), data, s.Data.View, s.Tasks!.View.SubView(launch.First, launch.Count),
                staging, staging.Cast<byte>(), launch.Count, batch.ZeroWord,
                SpecializedValue.New(launch.PatchSize), SpecializedValue.New(launch.Channels));
        }
        s.Marks?[2].Record(stream);
        var shape = new AugmentOutput
        {
            Width = batch.OutputWidth, Height = batch.OutputHeight, Channels = options.Channels, Samples = batch.Outputs.Length,
            ChannelsLast = options.Layout == TensorLayout.ChannelsLast ? 1 : 0,
        };
        var n = new (float Mean, float Scale)[4];
        for (int c = 0; c < options.Channels; c++) n[c] = options.Normalization(c);
        (shape.Mean0, shape.Mean1, shape.Mean2, shape.Mean3) = (n[0].Mean, n[1].Mean, n[2].Mean, n[3].Mean);
        (shape.Scale0, shape.Scale1, shape.Scale2, shape.Scale3) = (n[0].Scale, n[1].Scale, n[2].Scale, n[3].Scale);
        int threads = checked((int)AugmentKernel.Threads(batch.Outputs.Length, batch.OutputWidth, batch.OutputHeight));
        kernels.Augment(stream, threads, staging.Cast<byte>(), s.Samples!.View.SubView(0, batch.Outputs.Length),
            output.Cast<byte>(), output.Cast<ushort>(), output.Cast<float>(), shape, SpecializedValue.New((int)options.Type));
        s.Marks?[3].Record(stream);
        s.FirstBad!.View.SubView(0, batch.Launches.Length).CopyTo(stream, s.FirstBadHost!.ArrayView.SubView(0, batch.Launches.Length));
    }

    /// <summary>After slot <paramref name="slot"/>'s stream is done: its batch's device times, when timed.</summary>
    public void AddDeviceTimes(int slot, LoaderTimings timings)
    {
        if (_slots[slot].Marks is not { } m) return;
        timings.AddDevice(DeviceEvent.MillisecondsBetween(m[0], m[1]), DeviceEvent.MillisecondsBetween(m[1], m[2]), DeviceEvent.MillisecondsBetween(m[2], m[3]));
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

    /// <summary>The kernels read without bounds checks: every launch, copy, region and crop must lie
    /// inside its buffers (what the tables hold is checked on the device).</summary>
    private static void Check(HostBatch batch)
    {
        long zeroAt = (long)batch.ZeroWord * 4;
        if (zeroAt + 16 > batch.PackedBytes || batch.PackedBytes % 8 != 0 || batch.DataBytes < 0 || batch.TablesWord * 4L < batch.DataBytes
            || batch.TableWords < 0 || batch.TablesWord + (long)batch.TableWords > batch.ZeroWord || batch.Tables.Length < batch.TableWords
            || (batch.Packed?.Length ?? long.MaxValue / 4) * 4 < batch.DataBytes)
            throw new InvalidOperationException("a batch's data, tables and zero padding overlap or exceed their buffers");
        if (batch.Packed is null)
        {
            long at = 0;
            foreach (var copy in batch.Copies ?? throw new InvalidOperationException("a batch with neither packed bytes nor copies"))
            {
                if (copy.Offset < at || copy.Length < 0 || copy.Source == IntPtr.Zero) throw new InvalidOperationException("device copies out of order");
                at = (long)copy.Offset + copy.Length;
            }
            if (at > batch.DataBytes) throw new InvalidOperationException("device copies past the data");
        }
        int tasks = 0;
        foreach (var launch in batch.Launches)
        {
            if (launch.First != tasks || launch.Count < 0 || launch.RegionFirst < 0 || launch.RegionCount < 0
                || launch.RegionFirst + launch.RegionCount > batch.Regions.Length || (launch.Count > 0) != (launch.RegionCount > 0))
                throw new InvalidOperationException("a launch lies outside the task or region list");
            int next = 0;
            for (int k = launch.RegionFirst; k < launch.RegionFirst + launch.RegionCount; k++)
            {
                var r = batch.Regions[k];
                if (r.TaskFirst != next) throw new InvalidOperationException("regions out of task order");
                next = checked(next + CheckRegion(r, launch.PatchSize, launch.Channels, batch));
            }
            if (next != launch.Count) throw new InvalidOperationException("a launch's regions do not cover its tasks");
            if (launch.Mode == DenseMode) CheckDenseTables(launch, batch);
            else if (launch.Mode != 0 || launch.TableSets != 0) throw new InvalidOperationException("a launch of an unknown coding mode");
            tasks = checked(tasks + launch.Count);
        }
        if (tasks != batch.TaskCount) throw new InvalidOperationException("the launches do not cover the tasks");
        foreach (var o in batch.Outputs)
        {
            long last = o.Source + (long)(o.CropY + o.CropHeight - 1) * o.Stride + (long)(o.CropX + o.CropWidth) * o.SourceChannels;
            if (o.CropX < 0 || o.CropY < 0 || o.CropWidth < 1 || o.CropHeight < 1 || o.Source < 0
                || (long)(o.CropX + o.CropWidth) * o.SourceChannels > o.Stride || last > batch.StagingBytes)
                throw new InvalidOperationException("a crop lies outside its decoded region");
        }
    }

    /// <summary>A dense launch's table sets lie between the table slices and the zero words, and each of its regions names one of them.</summary>
    private static void CheckDenseTables(DecodeLaunch launch, HostBatch batch)
    {
        long ranksEnd = launch.RanksWord + (long)launch.TableSets * DenseKernelTables.RankBytes(launch.Channels) / 4;
        long entriesEnd = launch.EntriesWord + (long)launch.TableSets * DenseKernelTables.Entries(launch.Channels);
        if (launch.TableSets < 1 || launch.RanksWord < batch.TablesWord || ranksEnd > launch.EntriesWord || entriesEnd > batch.ZeroWord
            || launch.EntriesWord * 4L % DenseKernelTables.EntryAlignment != 0
            || entriesEnd > batch.TablesWord + (long)batch.TableWords)
            throw new InvalidOperationException("a dense launch's tables lie outside the batch's tables");
        for (int k = launch.RegionFirst; k < launch.RegionFirst + launch.RegionCount; k++)
            if (batch.Regions[k].Tables < 0 || batch.Regions[k].Tables >= launch.TableSets)
                throw new InvalidOperationException("a dense sample's tables are not among its launch's");
    }

    /// <summary>A region's reads (table entries, row biases, its bytes) lie inside the batch's buffers,
    /// and its patches' pixels inside its staging region; returns its task count.</summary>
    private static int CheckRegion(SampleRegion r, int n, int channels, HostBatch batch)
    {
        long lastEntry = r.TableWord + (long)(r.Rows - 1) * r.PatchesX + r.Columns;
        int right = Math.Min((r.Px0 + r.Columns) * n, r.ImageWidth), bottom = Math.Min((r.Py0 + r.Rows) * n, r.ImageHeight);
        if (r.Columns < 1 || r.Rows < 1 || r.Px0 < 0 || r.Py0 < 0 || r.PatchesX < r.Px0 + r.Columns
            || r.TableWord < 0 || lastEntry >= batch.ZeroWord || r.RowBias < 0 || (long)r.RowBias + r.Rows > batch.RowBiases.Length
            || r.DataAt < 0 || r.DataBytes < 0 || (long)r.DataAt + r.DataBytes > batch.DataBytes
            || (r.Px0 + r.Columns - 1) * n >= r.ImageWidth || (r.Py0 + r.Rows - 1) * n >= r.ImageHeight
            || r.RegionX != r.Px0 * n || r.RegionY != r.Py0 * n || r.RegionWidth != right - r.RegionX || r.RegionHeight != bottom - r.RegionY
            || r.StagingAt < 0 || r.StagingAt + (long)r.RegionWidth * r.RegionHeight * channels > batch.StagingBytes)
            throw new InvalidOperationException("a sample's region lies outside the batch's buffers");
        return r.Columns * r.Rows;
    }

    public void Dispose()
    {
        foreach (var s in _slots) s.Dispose();
    }

    private const int DenseMode = (int)L3CodingMode.Dense;

    /// <summary>The decode kernels of both coding modes and an output-stage kernel, loaded for this accelerator.</summary>
    private sealed record Kernels(
        Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<uint>, ArrayView<PatchTask>, ArrayView<ulong>,
            ArrayView<byte>, int, int, SpecializedValue<int>, SpecializedValue<int>> Decode,
        Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<PatchTask>, ArrayView<byte>, ArrayView<uint>, ArrayView<ulong>,
            ArrayView<byte>, ArrayView<int>, int, SpecializedValue<int>, SpecializedValue<int>> DenseDecode,
        Action<AcceleratorStream, Index1D, ArrayView<byte>, ArrayView<AugmentSample>, ArrayView<byte>, ArrayView<ushort>,
            ArrayView<float>, AugmentOutput, SpecializedValue<int>> Augment)
    {
        public static Kernels Load(Accelerator accelerator, PatchListDecodeKernel decode, DensePatchListDecodeKernel denseDecode, AugmentStageKernel augment) => new(
            accelerator.LoadKernel(decode.Method.CreateDelegate<Action<ArrayView<ulong>, ArrayView<uint>, ArrayView<PatchTask>,
                ArrayView<ulong>, ArrayView<byte>, int, int, SpecializedValue<int>, SpecializedValue<int>>>()),
            // the dense kernel launched as the codec launches it (DenseLaunch.For)
            accelerator.LoadKernel(denseDecode.Method.CreateDelegate<Action<ArrayView<byte>, ArrayView<PatchTask>, ArrayView<byte>, ArrayView<uint>,
                ArrayView<ulong>, ArrayView<byte>, ArrayView<int>, int, SpecializedValue<int>, SpecializedValue<int>>>(),
                DenseLaunch.For(accelerator).Bounds(accelerator)),
            accelerator.LoadAutoGroupedKernel(augment.Method.CreateDelegate<Action<Index1D, ArrayView<byte>, ArrayView<AugmentSample>,
                ArrayView<byte>, ArrayView<ushort>, ArrayView<float>, AugmentOutput, SpecializedValue<int>>>()));
    }

    private sealed class Slot(AcceleratorStream stream) : IDisposable
    {
        public readonly AcceleratorStream Stream = stream;
        /// <summary>Timed events: the batch's start, its data uploaded, decoded, its output written.</summary>
        public DeviceEvent[]? Marks { get; init; }
        public MemoryBuffer1D<uint, Stride1D.Dense>? Data;
        public MemoryBuffer1D<int, Stride1D.Dense>? FirstBad;
        public PageLockedArray1D<int>? FirstBadHost;
        public MemoryBuffer1D<PatchTask, Stride1D.Dense>? Tasks;
        public MemoryBuffer1D<AugmentSample, Stride1D.Dense>? Samples;
        public MemoryBuffer1D<SampleRegion, Stride1D.Dense>? Regions;
        public MemoryBuffer1D<int, Stride1D.Dense>? RowBiases;
        public MemoryBuffer1D<ulong, Stride1D.Dense>? Staging;
        public PageLockedArray1D<AugmentSample>? SamplesHost;
        public PageLockedArray1D<SampleRegion>? RegionsHost;
        public PageLockedArray1D<int>? RowBiasesHost;

        public void Ensure(Accelerator accelerator, long dataWords, int tasks, int samples, long stagingLongs, int launches, int regions, int rowBiases)
        {
            Grow(accelerator, ref FirstBad, launches);
            GrowHost(accelerator, ref FirstBadHost, launches);
            Grow(accelerator, ref Data, dataWords);
            Grow(accelerator, ref Tasks, tasks);
            Grow(accelerator, ref Samples, samples);
            GrowHost(accelerator, ref SamplesHost, samples);
            Grow(accelerator, ref Regions, regions);
            GrowHost(accelerator, ref RegionsHost, regions);
            Grow(accelerator, ref RowBiases, rowBiases);
            GrowHost(accelerator, ref RowBiasesHost, rowBiases);
            Grow(accelerator, ref Staging, stagingLongs);
        }

        private static void GrowHost<T>(Accelerator accelerator, ref PageLockedArray1D<T>? buffer, long length) where T : unmanaged
        {
            if (buffer is not null && buffer.Length >= length) return;
            buffer?.Dispose();
            buffer = accelerator.AllocatePageLocked1D<T>(Math.Max(16, length + length / 2));
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
            foreach (var mark in Marks ?? []) mark.Dispose();
            FirstBad?.Dispose();
            FirstBadHost?.Dispose();
            Data?.Dispose();
            Tasks?.Dispose();
            Samples?.Dispose();
            SamplesHost?.Dispose();
            Regions?.Dispose();
            RegionsHost?.Dispose();
            RowBiases?.Dispose();
            RowBiasesHost?.Dispose();
            Staging?.Dispose();
        }
    }
}
