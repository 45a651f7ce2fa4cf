using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using System.Runtime.ExceptionServices;
using L3.Kernels;

namespace L3.Loading;

/// <summary>How a loader moves sample bytes to the device.</summary>
public enum HostPath
{
    /// <summary><see cref="MappedFiles"/> where possible (a dataset on a CUDA device, fitting in half
    /// of the memory, checksums not verified), else <see cref="PageLockedCopies"/>.</summary>
    Auto,
    /// <summary>Reader threads copy the touched patch rows into page-locked buffers, one upload a batch.</summary>
    PageLockedCopies,
    /// <summary>The dataset's shards are mapped and registered with the driver; the device copies each
    /// sample's touched rows from the page cache, and the host copies no pixel data.</summary>
    MappedFiles,
}

/// <summary>What a loader does with a corrupt, truncated or missing sample.</summary>
public enum BadSamplePolicy
{
    /// <summary>Raise its <see cref="L3FormatException"/> (naming it) from <see cref="L3Loader.Next"/>; the loader stops.</summary>
    Raise,
    /// <summary>Put the batch's next good sample in its place and count it
    /// (<see cref="L3Loader.ReplacedSamples"/>). Whole files are read and checked on the host
    /// (payload checksum and touched patches), so this costs host time.</summary>
    Replace,
}

/// <summary>What a <see cref="L3Loader"/> does.</summary>
public sealed record LoaderOptions
{
    public SamplerOptions Sampling { get; init; } = new();
    public AugmentOptions Augment { get; init; } = new();
    /// <summary>Reader threads preparing a batch (headers, reads, patch checks).</summary>
    public int Readers { get; init; } = Math.Max(1, Math.Min(4, Environment.ProcessorCount));
    /// <summary>Batches prepared ahead in page-locked memory.</summary>
    public int PrefetchDepth { get; init; } = 3;
    /// <summary>Batches prepared at once (each on up to <see cref="Readers"/> threads): more than one
    /// hides each batch's serial steps behind another's reads.</summary>
    public int ConcurrentBatches { get; init; } = 2;
    /// <summary>Batches on the device at once, each with its stream and buffers: one's upload
    /// overlaps another's kernels.</summary>
    public int DeviceSlots { get; init; } = 4;
    /// <summary>Read whole files and verify their payload checksums (otherwise only the touched
    /// patches are read; their structure is always checked).</summary>
    public bool VerifyChecksums { get; init; }
    /// <summary>Bytes of checked headers and patch tables kept for later epochs (the files must not
    /// change while the loader reads them); 0 reads every header every epoch.</summary>
    public long HeaderCacheBytes { get; init; } = 512L << 20;
    /// <summary>How long the consumer waits for the readers before reporting them stalled.</summary>
    public TimeSpan ReaderTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>What a bad sample does (<see cref="BadSamplePolicy"/>).</summary>
    public BadSamplePolicy BadSamples { get; init; } = BadSamplePolicy.Raise;
    /// <summary>How sample bytes reach the device (<see cref="Loading.HostPath"/>).</summary>
    public HostPath HostPath { get; init; } = HostPath.Auto;
    /// <summary>Time each batch's upload, decode and output stage on the device (CUDA events;
    /// <see cref="L3Loader.Timings"/>), for benchmarks.</summary>
    public bool TimeDevice { get; init; }
    /// <summary>Use ILGPU's CPU accelerator even when a CUDA device is present (when the loader opens its own).</summary>
    public bool ForceCpu { get; init; }
}

/// <summary>
/// Turns L3 samples into augmented, normalized batches on the device, in three stages that overlap:
/// <list type="number">
/// <item>preparation: <see cref="LoaderOptions.ConcurrentBatches"/> batches at a time, each read by
/// <see cref="LoaderOptions.Readers"/> threads (<see cref="BatchReader"/>) into a ring of page-locked
/// buffers, <see cref="LoaderOptions.PrefetchDepth"/> batches ahead;</item>
/// <item>submission: a device thread starts each prepared batch in a free slot of the
/// <see cref="FusedStage"/> (upload, patch check, decode, output stage on the slot's stream) and
/// returns at once;</item>
/// <item>completion: a thread waits for each slot's stream in batch order, turns a patch the device
/// found bad into the CPU validation's <see cref="L3FormatException"/>, and queues the finished batch.</item>
/// </list>
/// <see cref="Next"/> takes the next finished batch: while the consumer trains on it, the following
/// batches are read, uploaded and decoded. On a machine without a GPU the same code runs on ILGPU's
/// CPU accelerator and gives the same values.
/// </summary>
public sealed class L3Loader : IDisposable
{
    private readonly SampleSource _source;
    private readonly LoaderOptions _options;
    private readonly EpochSampler _sampler;
    private readonly Context? _context;
    private readonly bool _ownsAccelerator;
    private readonly FusedStage _stage;
    private readonly BatchReader _reader;
    private readonly MappedFiles? _mapped;
    /// <summary>Batches being prepared or prepared, in batch order (a failure in a batch's place).</summary>
    private readonly BlockingCollection<Task<HostBatch>> _prepared;
    /// <summary>Batches started on the device, in batch order.</summary>
    private readonly BlockingCollection<InFlight> _inFlight = new();
    /// <summary>Finished batches (or the failure in a batch's place), in batch order.</summary>
    private readonly BlockingCollection<object> _finished;
    private readonly SemaphoreSlim _freeSlots;
    private readonly SemaphoreSlim _preparing;
    private readonly PinnedPool<uint> _packedBuffers;
    private readonly PinnedPool<uint> _tableBuffers;
    private readonly ConcurrentBag<MemoryBuffer1D<ulong, Stride1D.Dense>> _outputs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread[] _threads;
    private bool _failed;
    private bool _disposed;

    /// <summary>A batch started on the device (or, with <see cref="Failure"/>, what stopped the stages).</summary>
    private sealed record InFlight(HostBatch Batch, int Slot, MemoryBuffer1D<ulong, Stride1D.Dense> Output, long OutputBytes, DeviceEvent? Ready)
    {
        public Exception? Failure { get; init; }
        public static InFlight Failed(Exception failure) => new(null!, -1, null!, 0, null) { Failure = failure };
    }

    /// <summary>Batch preparations not yet taken by the device thread (to wait for at disposal).</summary>
    private readonly ConcurrentDictionary<Task<HostBatch>, bool> _unclaimed = new();

    public Accelerator Accelerator { get; }

    /// <summary>Where the loader stands after the last batch handed out (save it to resume).</summary>
    public LoaderState State { get; private set; }

    public int BatchesPerEpoch => _sampler.BatchesPerEpoch;
    public EpochSampler Sampler => _sampler;

    /// <summary>Batches handed out so far, and the bytes read and decoded for them.</summary>
    public long Batches { get; private set; }
    public long CompressedBytes { get; private set; }
    public long RegionBytes { get; private set; }
    /// <summary>How long <see cref="Next"/> waited for finished batches in all: near zero when the
    /// loader keeps ahead of its consumer.</summary>
    public TimeSpan WaitedForBatches { get; private set; }
    /// <summary>Bad samples replaced in the batches handed out (<see cref="BadSamplePolicy.Replace"/>),
    /// and the last one's reason.</summary>
    public long ReplacedSamples { get; private set; }
    public string? LastReplacement { get; private set; }

    /// <summary>How sample bytes reach the device, and why (<see cref="LoaderOptions.HostPath"/>).</summary>
    public string HostPathUsed { get; }
    /// <summary>Where the loader's threads spend their time (for benchmarks).</summary>
    public LoaderTimings Timings { get; } = new();

    public L3Loader(SampleSource source, LoaderOptions options, LoaderState? resume = null, Accelerator? accelerator = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        options.Augment.Validate();
        if (options.PrefetchDepth < 1) throw new ArgumentOutOfRangeException(nameof(options), "prefetch depth must be at least 1");
        if (options.ConcurrentBatches < 1) throw new ArgumentOutOfRangeException(nameof(options), "concurrent batches must be at least 1");
        if (options.DeviceSlots < 1) throw new ArgumentOutOfRangeException(nameof(options), "device slots must be at least 1");
        if (options.Readers < 1) throw new ArgumentOutOfRangeException(nameof(options), "readers must be at least 1");
        _source = source;
        _options = options;
        _sampler = new EpochSampler(source.Count, options.Sampling);
        State = resume ?? _sampler.InitialState;
        _sampler.Position(State);
        if (accelerator is null)
        {
            bool cpu = options.ForceCpu;
            _context = Context.Create(b =>
            {
                if (!cpu) b.Cuda();
                b.CPU(CPUDeviceKind.Nvidia);
                b.Optimize(OptimizationLevel.O2);
            });
            var device = _context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.Cuda)
                ?? _context.Devices.First(d => d.AcceleratorType == AcceleratorType.CPU);
            accelerator = device.CreateAccelerator(_context);
            _ownsAccelerator = true;
        }
        Accelerator = accelerator;
        _stage = new FusedStage(accelerator, options.DeviceSlots, options.TimeDevice);
        string why = "whole files are read (checksums verified, or bad samples replaced)";
        if (options.HostPath != HostPath.PageLockedCopies && !options.VerifyChecksums && options.BadSamples == BadSamplePolicy.Raise)
            _mapped = MappedFiles.TryMap(accelerator, source.BackingFiles, out why);
        if (options.HostPath == HostPath.MappedFiles && _mapped is null)
            throw new NotSupportedException($"the dataset's files cannot be mapped for the device: {why}");
        HostPathUsed = _mapped is not null ? "mapped files: the device copies from the page cache"
            : $"page-locked copies by the readers ({(options.HostPath == HostPath.PageLockedCopies ? "chosen" : why)})";
        // buffers for the batches prepared ahead, one waiting for a slot, those on the device
        int pinned = options.PrefetchDepth + options.DeviceSlots + 1;
        _packedBuffers = new PinnedPool<uint>(accelerator, pinned, _stop.Token);
        _tableBuffers = new PinnedPool<uint>(accelerator, pinned, _stop.Token);
        _reader = new BatchReader(source, options.Augment, options.Sampling.Seed, options.Readers, options.VerifyChecksums, Timings, _mapped, options.HeaderCacheBytes,
            options.BadSamples == BadSamplePolicy.Replace);
        _prepared = new BlockingCollection<Task<HostBatch>>(options.PrefetchDepth);
        _finished = new BlockingCollection<object>(options.PrefetchDepth);
        _freeSlots = new SemaphoreSlim(options.DeviceSlots);
        _preparing = new SemaphoreSlim(options.ConcurrentBatches);
        var start = State;
        _threads =
        [
            new Thread(() => Prepare(start)) { IsBackground = true, Name = "L3Loader preparation" },
            new Thread(Submit) { IsBackground = true, Name = "L3Loader device" },
            new Thread(Complete) { IsBackground = true, Name = "L3Loader completion" },
        ];
        foreach (var thread in _threads) thread.Start();
    }

    /// <summary>Starts preparing batch after batch, epoch after epoch, until stopped; at most
    /// <see cref="LoaderOptions.ConcurrentBatches"/> at once and <see cref="LoaderOptions.PrefetchDepth"/> ahead.</summary>
    private void Prepare(LoaderState start)
    {
        try
        {
            if (_sampler.BatchesPerEpoch == 0) return;
            foreach (var plan in _sampler.Batches(start, long.MaxValue))
            {
                _preparing.Wait(_stop.Token);
                var task = Task.Run(() =>
                {
                    try { return _reader.Read(plan, _packedBuffers.Rent, _tableBuffers.Rent); }
                    finally { _preparing.Release(); }
                });
                _unclaimed[task] = true;
                _prepared.Add(task, _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Starts each prepared batch on the device as soon as a slot is free.</summary>
    private void Submit()
    {
        Accelerator.Bind();
        long index = 0;
        try
        {
            while (true)
            {
                var task = _prepared.Take(_stop.Token);
                HostBatch batch;
                try { batch = task.GetAwaiter().GetResult(); }
                catch (Exception e)
                {
                    if (_stop.IsCancellationRequested) return;
                    _inFlight.Add(InFlight.Failed(e));
                    return;
                }
                finally { _unclaimed.TryRemove(task, out _); }
                try
                {
                    _freeSlots.Wait(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    ReturnPinned(batch);
                    throw;
                }
                int slot = (int)(index++ % _stage.Slots);
                long bytes = FusedStage.OutputBytes(batch, _options.Augment);
                MemoryBuffer1D<ulong, Stride1D.Dense>? output = null;
                try
                {
                    long t0 = LoaderTimings.Now;
                    output = RentOutput((bytes + 7) / 8);
                    _stage.Submit(batch, slot, _options.Augment, output.View);
                    var ready = DeviceEvent.RecordOn(_stage.StreamOf(slot));
                    LoaderTimings.Add(ref Timings.SubmitTicks, t0);
                    _inFlight.Add(new InFlight(batch, slot, output, bytes, ready));
                }
                catch (Exception e)
                {
                    ReturnPinned(batch);
                    output?.Dispose();
                    _inFlight.Add(InFlight.Failed(e));
                    return;
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Waits for each started batch in order and queues it finished (or its failure).</summary>
    private void Complete()
    {
        Accelerator.Bind();
        try
        {
            while (true)
            {
                var item = _inFlight.Take(_stop.Token);
                if (item.Failure is { } failure)
                {
                    _finished.Add(failure, _stop.Token);
                    return;
                }
                var batch = item.Batch;
                Exception? fault = null;
                try
                {
                    // on CUDA, a blocking-sync event: the thread sleeps instead of spinning a core
                    long t0 = LoaderTimings.Now;
                    if (item.Ready is { } ready) ready.Synchronize();
                    else _stage.StreamOf(item.Slot).Synchronize();
                    LoaderTimings.Add(ref Timings.WaitTicks, t0);
                    _stage.AddDeviceTimes(item.Slot, Timings);
                    int bad = _stage.FirstBadTask(batch, item.Slot);
                    if (bad >= 0) fault = _reader.Fault(batch.Samples.First(s => bad >= s.TaskFirst && bad < s.TaskFirst + s.TaskCount));
                }
                catch (Exception e) { fault = e; }
                ReturnPinned(batch);
                _freeSlots.Release();
                if (fault is not null)
                {
                    ReturnOutput(item.Output);
                    item.Ready?.Dispose();
                    _finished.Add(fault, _stop.Token);
                    return;
                }
                _finished.Add(item, _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Gives a batch's page-locked buffers back to their rings.</summary>
    private void ReturnPinned(HostBatch batch)
    {
        _packedBuffers.Return(batch.Packed);
        _tableBuffers.Return(batch.Tables);
    }

    /// <summary>
    /// The next batch, on the device and complete (its kernels have finished). Batches go on across
    /// epochs; <see cref="State"/> moves past the batch. Dispose the batch to give its memory back.
    /// A corrupt sample raises <see cref="L3FormatException"/> naming its shard and sample; after a
    /// failure the loader gives no more batches.
    /// </summary>
    public L3DeviceBatch Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sampler.BatchesPerEpoch == 0) throw new InvalidOperationException("the loader gives no batches: drop_last leaves none on this rank");
        if (_failed) throw new InvalidOperationException("the loader stopped at an earlier failure");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!_finished.TryTake(out var item, (int)Math.Min(int.MaxValue, _options.ReaderTimeout.TotalMilliseconds), _stop.Token))
            throw new TimeoutException($"the loader's readers prepared no batch in {_options.ReaderTimeout.TotalSeconds:0} s (stalled storage?)");
        WaitedForBatches += clock.Elapsed;
        if (item is Exception e)
        {
            _failed = true;
            // the reader's own exception (an L3FormatException naming the sample), with its stack
            ExceptionDispatchInfo.Throw(e);
        }
        var done = (InFlight)item;
        var current = done.Batch;
        State = _sampler.After(current.Plan);
        Batches++;
        CompressedBytes += current.CompressedBytes;
        RegionBytes += current.RegionBytes;
        ReplacedSamples += current.Replaced.Count;
        if (current.Replaced.Count > 0) LastReplacement = current.Replaced[^1];
        var a = _options.Augment;
        int[] shape = a.Layout == TensorLayout.ChannelsLast
            ? [current.Outputs.Length, current.OutputHeight, current.OutputWidth, a.Channels]
            : [current.Outputs.Length, a.Channels, current.OutputHeight, current.OutputWidth];
        return new L3DeviceBatch(this, done.Output, done.OutputBytes, shape, a.Type, a.Layout, _stage.StreamOf(done.Slot), done.Ready,
            current.Samples.Select(s => s.Label).ToArray(), current.Samples.Select(s => s.Sample).ToArray(), current.Plan.Valid, current.Plan.Epoch, current.Plan.Index,
            current.Samples.Select(s => s.Box).ToArray());
    }

    /// <summary>The rest of the current epoch's batches (each to be disposed by the caller).</summary>
    public IEnumerable<L3DeviceBatch> ReadEpoch()
    {
        long epoch = State.Epoch;
        while (State.Epoch == epoch) yield return Next();
    }

    private MemoryBuffer1D<ulong, Stride1D.Dense> RentOutput(long longs)
    {
        while (_outputs.TryTake(out var buffer))
        {
            if (buffer.Length >= longs) return buffer;
            buffer.Dispose();
        }
        return Accelerator.Allocate1D<ulong>(Math.Max(1, longs));
    }

    internal void ReturnOutput(MemoryBuffer1D<ulong, Stride1D.Dense> buffer)
    {
        // a batch may be disposed on any thread
        if (_disposed || _outputs.Count >= _options.PrefetchDepth + _options.DeviceSlots) { Accelerator.Bind(); buffer.Dispose(); }
        else _outputs.Add(buffer);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        foreach (var thread in _threads) thread.Join();
        Accelerator.Bind();
        // the device finishes what it was given, batches still being read finish, then every buffer is given back
        for (int slot = 0; slot < _stage.Slots; slot++) _stage.StreamOf(slot).Synchronize();
        foreach (var task in _unclaimed.Keys)
        {
            try { if (task.Wait(TimeSpan.FromMinutes(1))) ReturnPinned(task.Result); }
            catch (AggregateException) { }
        }
        while (_inFlight.TryTake(out var item))
            if (item.Failure is null) { ReturnPinned(item.Batch); item.Output.Dispose(); item.Ready?.Dispose(); }
        while (_finished.TryTake(out var item))
            if (item is InFlight done) { done.Output.Dispose(); done.Ready?.Dispose(); }
        _stage.Dispose();
        _mapped?.Dispose();
        _packedBuffers.Dispose();
        _tableBuffers.Dispose();
        while (_outputs.TryTake(out var output)) output.Dispose();
        if (_ownsAccelerator)
        {
            Accelerator.Dispose();
            _context!.Dispose();
        }
        _stop.Dispose();
        _freeSlots.Dispose();
        _preparing.Dispose();
    }
}
