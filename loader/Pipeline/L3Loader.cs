using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using System.Runtime.ExceptionServices;

namespace L3.Loading;

/// <summary>What a <see cref="L3Loader"/> does.</summary>
public sealed record LoaderOptions
{
    public SamplerOptions Sampling { get; init; } = new();
    public AugmentOptions Augment { get; init; } = new();
    /// <summary>Reader threads preparing a batch (headers, reads, patch checks).</summary>
    public int Readers { get; init; } = Math.Max(1, Math.Min(4, Environment.ProcessorCount));
    /// <summary>Batches prepared ahead in page-locked memory.</summary>
    public int PrefetchDepth { get; init; } = 3;
    /// <summary>Read whole files and verify their payload checksums (otherwise only the touched
    /// patches are read; their structure is always checked).</summary>
    public bool VerifyChecksums { get; init; }
    /// <summary>How long the consumer waits for the readers before reporting them stalled.</summary>
    public TimeSpan ReaderTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Use ILGPU's CPU accelerator even when a CUDA device is present (when the loader opens its own).</summary>
    public bool ForceCpu { get; init; }
}

/// <summary>
/// Turns L3 samples into augmented, normalized batches on the device. Background reader threads
/// prepare batches (<see cref="BatchReader"/>) into a ring of page-locked buffers,
/// <see cref="LoaderOptions.PrefetchDepth"/> ahead; <see cref="Next"/> uploads the next batch on a
/// copy stream while the current one is decoded and augmented on the compute stream
/// (<see cref="FusedStage"/>), and hands out a <see cref="L3DeviceBatch"/>. On a machine without a
/// GPU the same code runs on ILGPU's CPU accelerator and gives the same values.
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
    private readonly BlockingCollection<object> _ready;
    private readonly BlockingCollection<PageLockedArray1D<uint>> _free = new();
    private readonly ConcurrentBag<MemoryBuffer1D<ulong, Stride1D.Dense>> _outputs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _producer;
    private readonly object _pinnedGate = new();
    private int _pinnedCount;
    private HostBatch? _uploaded;
    private int _uploadedSlot;
    private int _nextSlot;
    private bool _disposed;

    public Accelerator Accelerator { get; }
    public AcceleratorStream CopyStream { get; }
    public AcceleratorStream ComputeStream { get; }

    /// <summary>Where the loader stands after the last batch handed out (save it to resume).</summary>
    public LoaderState State { get; private set; }

    public int BatchesPerEpoch => _sampler.BatchesPerEpoch;
    public EpochSampler Sampler => _sampler;

    /// <summary>Batches handed out so far, and the bytes read and decoded for them.</summary>
    public long Batches { get; private set; }
    public long CompressedBytes { get; private set; }
    public long RegionBytes { get; private set; }

    public L3Loader(SampleSource source, LoaderOptions options, LoaderState? resume = null, Accelerator? accelerator = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        options.Augment.Validate();
        if (options.PrefetchDepth < 1) throw new ArgumentOutOfRangeException(nameof(options), "prefetch depth must be at least 1");
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
        CopyStream = accelerator.CreateStream();
        ComputeStream = accelerator.CreateStream();
        _stage = new FusedStage(accelerator);
        _reader = new BatchReader(source, options.Augment, options.Sampling.Seed, options.Readers, options.VerifyChecksums);
        _ready = new BlockingCollection<object>(options.PrefetchDepth);
        var start = State;
        _producer = new Thread(() => Produce(start)) { IsBackground = true, Name = "L3Loader reader" };
        _producer.Start();
    }

    /// <summary>Prepares batch after batch, epoch after epoch, until stopped; a failure is handed
    /// to the consumer in the batch's place.</summary>
    private void Produce(LoaderState start)
    {
        try
        {
            foreach (var plan in _sampler.Batches(start, long.MaxValue))
            {
                if (_sampler.BatchesPerEpoch == 0) break;
                var batch = _reader.Read(plan, RentPinned);
                try { _ready.Add(batch, _stop.Token); }
                catch (OperationCanceledException) { ReturnPinned(batch.Packed); return; }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            try { _ready.Add(e, _stop.Token); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>A page-locked buffer of at least <paramref name="words"/> words from the ring
    /// (PrefetchDepth + 2 buffers: the prepared ones, one uploading, one being filled).</summary>
    private PageLockedArray1D<uint> RentPinned(long words)
    {
        PageLockedArray1D<uint>? buffer = null;
        lock (_pinnedGate)
        {
            if (_pinnedCount < _options.PrefetchDepth + 2 && !_free.TryTake(out buffer))
            {
                _pinnedCount++;
                return Accelerator.AllocatePageLocked1D<uint>(words + words / 4);
            }
        }
        buffer ??= _free.Take(_stop.Token);
        if (buffer.Length >= words) return buffer;
        buffer.Dispose();
        return Accelerator.AllocatePageLocked1D<uint>(words + words / 4);
    }

    private void ReturnPinned(PageLockedArray1D<uint> buffer)
    {
        if (_disposed) buffer.Dispose();
        else _free.Add(buffer);
    }

    private HostBatch TakePrepared()
    {
        if (!_ready.TryTake(out var item, (int)Math.Min(int.MaxValue, _options.ReaderTimeout.TotalMilliseconds), _stop.Token))
            throw new TimeoutException($"the loader's readers prepared no batch in {_options.ReaderTimeout.TotalSeconds:0} s (stalled storage?)");
        // the reader's own exception (an L3FormatException naming the sample), with its stack
        if (item is Exception e) ExceptionDispatchInfo.Throw(e);
        return (HostBatch)item;
    }

    /// <summary>
    /// The next batch, on the device and complete (its kernels have finished). Batches go on across
    /// epochs; <see cref="State"/> moves past the batch. Dispose the batch to give its memory back.
    /// A corrupt sample raises <see cref="L3FormatException"/> naming its shard and sample.
    /// </summary>
    public L3DeviceBatch Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sampler.BatchesPerEpoch == 0) throw new InvalidOperationException("the loader gives no batches: drop_last leaves none on this rank");
        Accelerator.Bind();
        if (_uploaded is null)
        {
            _uploaded = TakePrepared();
            _uploadedSlot = _nextSlot;
            _nextSlot = (_nextSlot + 1) % _stage.Slots;
            _stage.Upload(_uploaded, _uploadedSlot, CopyStream);
        }
        var current = _uploaded;
        int slot = _uploadedSlot;
        _uploaded = null;
        CopyStream.Synchronize();
        ReturnPinned(current.Packed);

        long bytes = FusedStage.OutputBytes(current, _options.Augment);
        var output = RentOutput((bytes + 7) / 8);
        _stage.Run(current, slot, _options.Augment, output.View, ComputeStream);

        // while the GPU decodes this batch, copy the next one if the readers have it ready
        if (_ready.TryTake(out var next))
        {
            if (next is Exception) _readyFault = next;
            else
            {
                _uploaded = (HostBatch)next;
                _uploadedSlot = _nextSlot;
                _nextSlot = (_nextSlot + 1) % _stage.Slots;
                _stage.Upload(_uploaded, _uploadedSlot, CopyStream);
            }
        }
        ComputeStream.Synchronize();
        if (_readyFault is Exception fault)
        {
            _readyFault = null;
            _ready.Add(fault); // raised by the next call, after this good batch
        }

        State = _sampler.After(current.Plan);
        Batches++;
        CompressedBytes += current.CompressedBytes;
        RegionBytes += current.RegionBytes;
        var a = _options.Augment;
        int[] shape = a.Layout == TensorLayout.ChannelsLast
            ? [current.Outputs.Length, current.OutputHeight, current.OutputWidth, a.Channels]
            : [current.Outputs.Length, a.Channels, current.OutputHeight, current.OutputWidth];
        return new L3DeviceBatch(this, output, bytes, shape, a.Type, a.Layout,
            current.Samples.Select(s => s.Label).ToArray(), current.Plan.Samples, current.Plan.Valid, current.Plan.Epoch, current.Plan.Index,
            current.Samples.Select(s => s.Box).ToArray());
    }

    private object? _readyFault;

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
        if (_disposed || _outputs.Count >= 4) buffer.Dispose();
        else _outputs.Add(buffer);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _producer.Join();
        Accelerator.Bind();
        CopyStream.Synchronize();
        ComputeStream.Synchronize();
        if (_uploaded is not null) _uploaded.Packed.Dispose();
        while (_ready.TryTake(out var item)) if (item is HostBatch b) b.Packed.Dispose();
        while (_free.TryTake(out var buffer)) buffer.Dispose();
        while (_outputs.TryTake(out var output)) output.Dispose();
        _stage.Dispose();
        CopyStream.Dispose();
        ComputeStream.Dispose();
        if (_ownsAccelerator)
        {
            Accelerator.Dispose();
            _context!.Dispose();
        }
        _stop.Dispose();
    }
}
