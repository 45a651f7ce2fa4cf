using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using ILGPU.Runtime;
using L3.Datasets;
using L3.Imaging;
using L3.Loading;

namespace L3.Interop;

/// <summary>A batch as the C ABI describes it (docs/PYTHON.md, "The C ABI").</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct BatchInfo
{
    /// <summary>The tensor's device address (a CUDA device pointer when <see cref="OnCuda"/>).</summary>
    public long DevicePointer;
    public long Bytes;
    /// <summary>A CUevent of the loader's context recorded after the batch's kernels; 0: already finished.</summary>
    public long ReadyEvent;
    public long Epoch;
    /// <summary>N, C, H, W (nchw) or N, H, W, C (nhwc).</summary>
    public fixed int Shape[4];
    /// <summary><see cref="OutputType"/>: 0 uint8, 1 float32, 2 float16, 3 bfloat16 (AugmentMath's codes).</summary>
    public int Type;
    /// <summary>0: channels first (NCHW), 1: channels last (NHWC).</summary>
    public int Layout;
    public int Valid;
    public int Index;
    public int OnCuda;
    /// <summary>The CUDA device ordinal of the loader's accelerator (0 on the CPU).</summary>
    public int DeviceId;
}

/// <summary>Where a loader stands and what it is (C ABI).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct LoaderInfo
{
    public long BatchesPerEpoch;
    public long Samples;
    public long Epoch;
    /// <summary>Entries of the current epoch handed out on this rank.</summary>
    public long SamplesConsumed;
    /// <summary>The loader's CUDA context (CUcontext), 0 on the CPU.</summary>
    public long Context;
    public int OnCuda;
    public int DeviceId;
}

/// <summary>
/// The C ABI of L3.Gen for other languages (the Python package calls it through ctypes after
/// hostfxr's load_assembly_and_get_function_pointer). Every function returns a
/// <see cref="NativeStatus"/>; on failure <see cref="LastError"/> gives the exception's message.
/// Handles are GCHandles; buffers the library allocates are freed with <see cref="Free"/>.
/// </summary>
public static unsafe class Exports
{
    /// <summary>Copies this thread's last error message (UTF-8, NUL-terminated when it fits) and
    /// returns its length in bytes; call again with a larger buffer when it did not fit.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_last_error")]
    public static int LastError(byte* destination, int capacity)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(NativeResult.LastError);
        if (destination is not null && capacity > bytes.Length)
        {
            bytes.CopyTo(new Span<byte>(destination, capacity));
            destination[bytes.Length] = 0;
        }
        return bytes.Length;
    }

    /// <summary>Frees a buffer or string the library returned.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_free")]
    public static void Free(void* memory) => NativeMemory.Free(memory);

    /// <summary>Encodes interleaved 8-bit pixels; <paramref name="output"/> receives a buffer to free.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_encode")]
    public static int Encode(byte* pixels, long length, int width, int height, int channels, int patchSize, int threads,
        byte** output, long* outputLength)
    {
        try
        {
            if (pixels is null && length > 0) throw new ArgumentException("null pixels");
            if (length > int.MaxValue) throw new ArgumentException($"{length} bytes of pixels: at most {int.MaxValue}");
            var file = L3Codec.Encode(new ReadOnlySpan<byte>(pixels, (int)length), width, height, channels,
                new L3EncodeOptions { PatchSize = patchSize, MaxDegreeOfParallelism = Math.Max(1, threads) });
            *output = NativeResult.NativeCopy(file);
            *outputLength = file.Length;
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Reads and checks a file's header and patch table: width, height, channels, patch size.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_header")]
    public static int Header(byte* file, long length, int* shape)
    {
        try
        {
            var header = L3Codec.ReadHeader(FileSpan(file, length));
            shape[0] = header.Width;
            shape[1] = header.Height;
            shape[2] = header.Channels;
            shape[3] = header.PatchSize;
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Decodes a whole file (both checksums and every patch checked) into
    /// <paramref name="pixels"/> (height × width × channels bytes).</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_decode")]
    public static int Decode(byte* file, long length, byte* pixels, long capacity, int threads)
    {
        try
        {
            if (pixels is null || capacity < 0 || capacity > int.MaxValue) throw new ArgumentException("bad destination");
            L3Codec.Decode(FileSpan(file, length), new Span<byte>(pixels, (int)capacity),
                new L3DecodeOptions { MaxDegreeOfParallelism = Math.Max(1, threads) });
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Reads an image file (PNG, JPEG, BMP, GIF, WebP, netpbm) as the converter does:
    /// <paramref name="shape"/> gets height, width, channels; <paramref name="pixels"/> a buffer to free.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_read_image")]
    public static int ReadImage(byte* path, byte** pixels, long* length, int* shape)
    {
        try
        {
            var image = ImageFiles.Read(NativeResult.Utf8(path) ?? throw new ArgumentException("null path"));
            *pixels = NativeResult.NativeCopy(image.Pixels);
            *length = image.Pixels.Length;
            shape[0] = image.Height;
            shape[1] = image.Width;
            shape[2] = image.Channels;
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Converts images to a dataset (docs/DATASET.md). <paramref name="request"/>: JSON
    /// {source, destination, patch_size, shard_size, jobs, part, parts, strict}; <paramref name="result"/>:
    /// JSON {samples, failures, shards, shards_written, finished, failure_report}, to free.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_convert")]
    public static int Convert(byte* request, byte** result)
    {
        try
        {
            var r = JsonSerializer.Deserialize<ConvertRequest>(NativeResult.Utf8(request) ?? "{}", LoaderRequest.Json)
                ?? throw new ArgumentException("empty conversion request");
            if (string.IsNullOrEmpty(r.Source) || string.IsNullOrEmpty(r.Destination)) throw new ArgumentException("convert needs a source and a destination");
            if (!File.Exists(r.Source) && !Directory.Exists(r.Source)) throw new FileNotFoundException($"{r.Source} does not exist");
            var defaults = new ConvertOptions();
            using var source = ImageSource.Open(r.Source);
            var outcome = DatasetConverter.Convert(source, r.Destination, new ConvertOptions
            {
                PatchSize = r.PatchSize ?? defaults.PatchSize,
                ShardSize = r.ShardSize is null ? defaults.ShardSize : ShardSize.Parse(r.ShardSize),
                Jobs = r.Jobs ?? defaults.Jobs,
                Part = r.Part,
                Parts = r.Parts,
                Strict = r.Strict,
            });
            *result = NativeResult.NativeUtf8(JsonSerializer.Serialize(new
            {
                samples = outcome.ImagesConverted,
                failures = outcome.Failures.Count,
                shards = outcome.ShardsInDataset,
                shards_written = outcome.ShardsWritten,
                finished = outcome.Finalize.Finished,
                failure_report = outcome.FailureReport,
            }));
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    private sealed record ConvertRequest
    {
        public string? Source { get; init; }
        public string? Destination { get; init; }
        public int? PatchSize { get; init; }
        public string? ShardSize { get; init; }
        public int? Jobs { get; init; }
        public int Part { get; init; }
        public int Parts { get; init; } = 1;
        public bool Strict { get; init; }
    }

    /// <summary>Starts a loader: <paramref name="settings"/> is a <see cref="LoaderRequest"/> as JSON,
    /// <paramref name="state"/> a <see cref="LoaderState"/> JSON to resume from (or null).</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_loader_create")]
    public static int LoaderCreate(byte* settings, byte* state, IntPtr* loader)
    {
        try
        {
            using var caller = CallerContext.Save();
            var request = LoaderRequest.Parse(NativeResult.Utf8(settings) ?? throw new ArgumentException("no loader settings"));
            var resume = NativeResult.Utf8(state) is { Length: > 0 } json ? ParseState(json) : null;
            *loader = NativeResult.Handle(new LoaderSession(request, resume));
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    private static LoaderState ParseState(string json)
    {
        try { return LoaderState.FromJson(json); }
        catch (Exception e) when (e is JsonException or FormatException) { throw new ArgumentException($"not a loader state: {e.Message}"); }
    }

    [UnmanagedCallersOnly(EntryPoint = "l3_loader_info")]
    public static int LoaderInfoOf(IntPtr loader, LoaderInfo* info)
    {
        try
        {
            var session = NativeResult.Target<LoaderSession>(loader);
            var l = session.Loader;
            *info = new LoaderInfo
            {
                BatchesPerEpoch = l.BatchesPerEpoch,
                Samples = session.Source.Count,
                Epoch = l.State.Epoch,
                SamplesConsumed = l.State.SamplesConsumed,
                Context = session.OnCuda ? l.Accelerator.NativePtr : 0,
                OnCuda = session.OnCuda ? 1 : 0,
                DeviceId = DeviceId(l.Accelerator),
            };
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>The loader's state after the last batch handed out, as JSON to free.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_loader_state")]
    public static int LoaderStateOf(IntPtr loader, byte** json)
    {
        try
        {
            using var caller = CallerContext.Save();
            *json = NativeResult.NativeUtf8(NativeResult.Target<LoaderSession>(loader).Loader.State.ToJson());
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>The next batch (across epochs), as a handle to dispose with l3_batch_dispose.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_loader_next")]
    public static int LoaderNext(IntPtr loader, IntPtr* batch)
    {
        try
        {
            using var caller = CallerContext.Save();
            *batch = NativeResult.Handle(new BatchHandle(NativeResult.Target<LoaderSession>(loader)));
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "l3_loader_dispose")]
    public static int LoaderDispose(IntPtr loader)
    {
        try
        {
            using var caller = CallerContext.Save();
            NativeResult.Release<LoaderSession>(loader).Dispose();
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "l3_batch_info")]
    public static int BatchInfoOf(IntPtr batch, BatchInfo* info)
    {
        try
        {
            var handle = NativeResult.Target<BatchHandle>(batch);
            var b = handle.Batch;
            var result = new BatchInfo
            {
                DevicePointer = b.DevicePointer,
                Bytes = b.Bytes,
                ReadyEvent = b.ReadyEvent,
                Epoch = b.Epoch,
                Type = (int)b.Type,
                Layout = (int)b.Layout,
                Valid = b.Valid,
                Index = b.Index,
                OnCuda = handle.Session.OnCuda ? 1 : 0,
                DeviceId = DeviceId(handle.Session.Loader.Accelerator),
            };
            for (int i = 0; i < 4; i++) result.Shape[i] = b.Shape[i];
            *info = result;
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Each entry's label (−1: none) and sample number; <paramref name="capacity"/> entries at most.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_batch_labels")]
    public static int BatchLabels(IntPtr batch, int* labels, long* samples, int capacity)
    {
        try
        {
            var b = NativeResult.Target<BatchHandle>(batch).Batch;
            if (capacity < b.Count) throw new ArgumentException($"room for {capacity} entries; the batch has {b.Count}");
            for (int k = 0; k < b.Count; k++)
            {
                if (labels is not null) labels[k] = b.Labels[k];
                if (samples is not null) samples[k] = b.Samples[k];
            }
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Copies the tensor's bytes to <paramref name="destination"/> (waits for the batch).</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_batch_copy_to_host")]
    public static int BatchCopyToHost(IntPtr batch, byte* destination, long capacity)
    {
        try
        {
            using var caller = CallerContext.Save();
            var b = NativeResult.Target<BatchHandle>(batch).Batch;
            CheckRoom(b, destination, capacity);
            b.WaitReady();
            b.CopyToHost().CopyTo(new Span<byte>(destination, (int)b.Bytes));
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>What the batch must hold, computed on the CPU by the augmentation's reference from
    /// each entry's whole decoded sample and crop (checks and tests).</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_batch_reference")]
    public static int BatchReference(IntPtr batch, byte* destination, long capacity)
    {
        try
        {
            using var caller = CallerContext.Save();
            var handle = NativeResult.Target<BatchHandle>(batch);
            CheckRoom(handle.Batch, destination, capacity);
            handle.Session.Reference(handle.Batch).CopyTo(new Span<byte>(destination, (int)handle.Batch.Bytes));
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Blocks until the batch's kernels have finished (prefer a stream wait on its ReadyEvent).</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_batch_wait")]
    public static int BatchWait(IntPtr batch)
    {
        try
        {
            using var caller = CallerContext.Save();
            NativeResult.Target<BatchHandle>(batch).Batch.WaitReady();
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    /// <summary>Gives the batch's memory back to the loader; the caller's GPU work reading it must be ordered before the loader's next batches.</summary>
    [UnmanagedCallersOnly(EntryPoint = "l3_batch_dispose")]
    public static int BatchDispose(IntPtr batch)
    {
        try
        {
            using var caller = CallerContext.Save();
            NativeResult.Release<BatchHandle>(batch).Batch.Dispose();
            return NativeResult.Ok();
        }
        catch (Exception e) { return NativeResult.Fail(e); }
    }

    private static ReadOnlySpan<byte> FileSpan(byte* file, long length)
    {
        if (file is null && length > 0) throw new ArgumentException("null file");
        if (length < 0 || length > int.MaxValue) throw new ArgumentException($"file length {length}: expected 0..{int.MaxValue}");
        return new ReadOnlySpan<byte>(file, (int)length);
    }

    private static void CheckRoom(L3DeviceBatch batch, byte* destination, long capacity)
    {
        if (destination is null || capacity < batch.Bytes) throw new ArgumentException($"the destination holds {capacity} bytes; the batch has {batch.Bytes}");
        if (batch.Bytes > int.MaxValue) throw new ArgumentException($"the batch's {batch.Bytes} bytes do not fit one host array");
    }

    private static int DeviceId(Accelerator accelerator) => accelerator is ILGPU.Runtime.Cuda.CudaAccelerator cuda ? cuda.DeviceId : 0;

    /// <summary>A batch and the session it came from.</summary>
    private sealed class BatchHandle(LoaderSession session)
    {
        public LoaderSession Session { get; } = session;
        public L3DeviceBatch Batch { get; } = session.Loader.Next();
    }
}
