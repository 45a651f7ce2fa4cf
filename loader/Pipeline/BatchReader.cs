using System.Runtime.InteropServices;
using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// Prepares batches on reader threads: reads each sample's header and table (checked as
/// <see cref="L3Header.Read(ReadOnlySpan{byte}, long)"/> checks them), chooses its crop, reads only
/// the payload ranges of the patches the crop touches straight into page-locked memory and writes
/// their decode tasks, in parallel; the patches themselves are checked on the device
/// (<see cref="PatchCheckKernel"/>), so the host only reads. With checksums on, the whole file is
/// read and its payload checksum verified first.
/// </summary>
/// <remarks>With the dataset's files mapped (<see cref="MappedFiles"/>), nothing is copied on the
/// host: each sample's band of touched patch rows, from the first row's first touched patch to the
/// last row's last, is one device copy straight from the page cache (the bytes between rows go
/// along: one copy an image instead of one a row).</remarks>
internal sealed class BatchReader(SampleSource source, AugmentOptions augment, ulong seed, int readers, bool verifyChecksums, LoaderTimings timings,
    MappedFiles? mapped = null, long headerCacheBytes = 0, bool replaceBadSamples = false)
{
    /// <summary>Whole files are read: to verify checksums, or to find every bad sample on the host
    /// (checksum and touched patches) before the batch is laid out, so that it can be replaced.</summary>
    private readonly bool _readWholeFiles = verifyChecksums || replaceBadSamples;

    /// <summary>Checked headers and tables kept for later epochs (the files do not change under a
    /// loader), up to <c>headerCacheBytes</c>: from the second epoch on, the host reads nothing.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, L3Header> _headers = new();
    private long _cachedBytes;

    /// <summary>First read of a file: the fixed header and the start of the table; the rest of the
    /// table (32 KiB for a 2048×1024 image at N = 16) is read once its length is known.</summary>
    private const int FirstRead = 4 * 1024;
    private const int Alignment = 16;
    private const int Padding = 16;
    /// <summary>The decode kernel addresses bytes with 32-bit integers.</summary>
    private const long MaxBufferBytes = 1L << 30;

    private readonly ParallelOptions _parallel = new() { MaxDegreeOfParallelism = Math.Max(1, readers) };

    public HostBatch Read(SampleBatch plan, Func<long, PageLockedArray1D<uint>> rentWords, Func<long, PageLockedArray1D<PatchTask>> rentTasks)
    {
        var samples = new PreparedSample[plan.Samples.Length];
        var failures = new L3FormatException?[samples.Length];
        // the same sample twice (pad) is read twice: cheap, and keeps the layout simple
        ForEach(samples.Length, k =>
        {
            long t0 = LoaderTimings.Now;
            try { samples[k] = Open(plan.Samples[k], plan.Epoch); }
            catch (L3FormatException e) when (replaceBadSamples) { failures[k] = e; }
            LoaderTimings.Add(ref timings.OpenTicks, t0);
        });
        var replaced = new List<string>();
        for (int k = 0; k < samples.Length; k++)
        {
            if (failures[k] is not { } failure) continue;
            // the next good sample of the batch takes the bad one's place (with its crop)
            int good = Enumerable.Range(1, samples.Length - 1).Select(d => (k + d) % samples.Length).FirstOrDefault(j => failures[j] is null, -1);
            if (good < 0) throw failure;
            samples[k] = samples[good].Copy();
            replaced.Add(failure.Message);
        }
        long layout = LoaderTimings.Now;

        var (outputWidth, outputHeight) = augment.OutputSize(samples[0].Header.Width, samples[0].Header.Height);
        foreach (var s in samples)
            if (augment.OutputSize(s.Header.Width, s.Header.Height) != (outputWidth, outputHeight))
                throw new L3FormatException($"{source.Describe(s.Sample)} is {s.Header.Width}x{s.Header.Height}, but full-image batches need every image of a batch " +
                                            $"the same size ({outputWidth}x{outputHeight} here)");

        long packed = 0, staging = 0;
        foreach (var s in samples)
        {
            s.PackedAt = (int)packed;
            packed += s.Bytes;
            staging = (staging + Alignment - 1) / Alignment * Alignment;
            s.StagingAt = (int)staging;
            staging += (long)s.RegionWidth * s.RegionHeight * s.Header.Channels;
        }
        long dataEnd = (packed + 7) / 8 * 8;
        long packedBytes = dataEnd + Padding;
        if (packedBytes > MaxBufferBytes || staging > MaxBufferBytes)
            throw new ArgumentException($"a batch of {packed} compressed and {staging} decoded bytes is too large for one launch; use smaller batches");
        long outputElements = (long)samples.Length * outputWidth * outputHeight * augment.Channels;
        if (outputElements > int.MaxValue)
            throw new ArgumentException($"a batch of {outputElements} output elements is too large for one launch; use smaller batches");

        // one launch per (patch size, channels), its samples in batch order: each sample's tasks
        // get a fixed range of the task list, so the readers write them in parallel
        var launches = new List<DecodeLaunch>();
        int taskCount = 0;
        foreach (var group in samples.GroupBy(s => (s.Header.PatchSize, s.Header.Channels)))
        {
            int first = taskCount;
            foreach (var s in group)
            {
                s.TaskFirst = taskCount;
                taskCount = checked(taskCount + s.TaskCount);
            }
            launches.Add(new DecodeLaunch(group.Key.PatchSize, group.Key.Channels, first, taskCount - first));
        }
        var tasks = rentTasks(taskCount);
        PageLockedArray1D<uint>? buffer = null;
        LoaderTimings.Add(ref timings.LayoutTicks, layout);
        Interlocked.Add(ref timings.Images, samples.Length);
        try
        {
            if (mapped is null) buffer = rentWords((packedBytes + 3) / 4);
            long dataBytes = dataEnd;
            ForEach(samples.Length, k =>
            {
                long t0 = LoaderTimings.Now;
                var s = samples[k];
                if (buffer is not null) Fill(s, buffer);
                WriteTasks(s, tasks.Span, band: buffer is null);
                CheckTasks(s, tasks.Span, dataBytes, staging);
                LoaderTimings.Add(ref timings.FillTicks, t0);
            });
            if (buffer is not null) MemoryMarshal.AsBytes(buffer.Span)[(int)packed..(int)packedBytes].Clear();
        }
        catch
        {
            buffer?.Dispose();
            tasks.Dispose();
            throw;
        }

        return new HostBatch
        {
            Plan = plan, Samples = samples, Replaced = replaced, Packed = buffer, PackedBytes = (int)packedBytes, ZeroWord = (int)(dataEnd / 4),
            // the mapped path: the device copies each sample's band from the page cache
            Copies = buffer is null ? samples.Select(s => new DeviceCopy(s.Mapped, s.PackedAt, s.Bytes)).ToArray() : null,
            Tasks = tasks, TaskCount = taskCount, Launches = launches.ToArray(),
            Outputs = samples.Select(Output).ToArray(), StagingBytes = (int)staging,
            OutputWidth = outputWidth, OutputHeight = outputHeight,
        };
    }

    /// <summary>The kernels read without bounds checks: every task's bytes and pixels must lie
    /// inside their buffers (checked here, in parallel, as the tasks are written).</summary>
    private static void CheckTasks(PreparedSample s, Span<PatchTask> tasks, long dataBytes, long stagingBytes)
    {
        int n = s.Header.PatchSize, c = s.Header.Channels;
        foreach (var t in tasks.Slice(s.TaskFirst, s.TaskCount))
        {
            long lastPixel = t.Out + (long)(t.Height - 1) * t.RowStride + (long)t.Width * c;
            if (t.Start < 0 || t.Length < 1 || (long)t.Start + t.Length > dataBytes || t.Width < 1 || t.Width > n || t.Height < 1 || t.Height > n
                || t.Out < 0 || t.RowStride < t.Width * c || lastPixel > stagingBytes)
                throw new InvalidOperationException($"a decode task of {s.Sample} lies outside its buffers");
        }
    }

    /// <summary>Runs <paramref name="action"/> for 0..count−1 on the reader threads; a failure is
    /// raised as itself (not wrapped), the first in sample order, so the error names the same
    /// sample however the threads ran.</summary>
    private void ForEach(int count, Action<int> action)
    {
        var errors = new Exception?[count];
        Parallel.For(0, count, _parallel, k =>
        {
            try { action(k); }
            catch (Exception e) { errors[k] = e; }
        });
        foreach (var error in errors)
            if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>Reads and checks the header and table, chooses the crop and the patches it touches.</summary>
    private PreparedSample Open(long sample, long epoch)
    {
        try
        {
            long length = source.GetLength(sample);
            L3Header header;
            byte[]? whole = null;
            if (_readWholeFiles)
            {
                if (length > int.MaxValue) throw new L3FormatException($"file of {length} bytes is too long for an L3 file", 0);
                whole = GC.AllocateUninitializedArray<byte>((int)length);
                source.Read(sample, 0, whole);
                header = L3Header.Read(whole);
                header.VerifyPayload(whole);
            }
            else if (_headers.TryGetValue(sample, out var cached)) header = cached;
            else
            {
                var head = new byte[(int)Math.Min(length, FirstRead)];
                source.Read(sample, 0, head);
                int needed = L3Header.HeaderLength(head, length);
                if (needed > head.Length && needed <= length)
                {
                    var longer = new byte[needed];
                    head.CopyTo(longer, 0);
                    source.Read(sample, head.Length, longer.AsSpan(head.Length));
                    head = longer;
                }
                header = L3Header.Read(head, length);
                long size = header.PayloadStart + 256L;
                if (Interlocked.Add(ref _cachedBytes, size) <= headerCacheBytes) _headers[sample] = header;
                else Interlocked.Add(ref _cachedBytes, -size);
            }
            // the fused stage decodes row coding (mode 0); a dense file is named, never misread
            if (header.Mode != L3CodingMode.Rows)
                throw new L3FormatException($"coding mode {(int)header.Mode} ({header.Mode}) is not decoded by the loader yet; convert the dataset with mode 0", FileLayout.ModeOffset);
            if (!augment.Accepts(header.Channels))
                throw new L3FormatException($"an image of {header.Channels} channel(s) cannot give the output's {augment.Channels}", FileLayout.ChannelsOffset);

            var box = CropBox.Choose(augment, header.Width, header.Height, seed, epoch, sample);
            int n = header.PatchSize;
            var s = new PreparedSample
            {
                Sample = sample, Label = source.GetLabel(sample), Header = header, Box = box, WholeFile = whole,
                Px0 = box.X / n, Px1 = (box.X + box.Width - 1) / n, Py0 = box.Y / n, Py1 = (box.Y + box.Height - 1) / n,
            };
            s.RegionX = s.Px0 * n;
            s.RegionY = s.Py0 * n;
            s.RegionWidth = Math.Min((s.Px1 + 1) * n, header.Width) - s.RegionX;
            s.RegionHeight = Math.Min((s.Py1 + 1) * n, header.Height) - s.RegionY;
            if (replaceBadSamples)
                for (int py = s.Py0; py <= s.Py1; py++)
                    for (int px = s.Px0; px <= s.Px1; px++)
                        PatchFormat.ValidatePatch(whole, header, py * header.PatchesX + px);
            if (mapped is not null)
            {
                // one band: from the first touched row's start to the last touched row's end
                s.Bytes = s.RangeEnd(s.Py1) - s.RangeStart(s.Py0);
                var (file, offset) = source.Where(sample);
                s.Mapped = mapped.AddressOf(file, offset + s.RangeStart(s.Py0));
                return s;
            }
            long bytes = 0;
            for (int py = s.Py0; py <= s.Py1; py++) bytes += s.RowBytes(py);
            s.Bytes = checked((int)bytes);
            return s;
        }
        catch (L3FormatException e)
        {
            throw new L3FormatException($"{source.Describe(sample)}: {e.Reason}", e.Offset);
        }
    }

    /// <summary>Reads the touched patch rows into the buffer, one after the other.</summary>
    private void Fill(PreparedSample s, PageLockedArray1D<uint> buffer)
    {
        var target = MemoryMarshal.AsBytes(buffer.Span).Slice(s.PackedAt, s.Bytes);
        int at = 0;
        for (int py = s.Py0; py <= s.Py1; py++)
        {
            int start = s.RangeStart(py), length = s.RowBytes(py);
            var row = target.Slice(at, length);
            long t0 = LoaderTimings.Now;
            if (s.WholeFile is { } whole) whole.AsSpan(start, length).CopyTo(row);
            else source.Read(s.Sample, start, row);
            LoaderTimings.Add(ref timings.ReadTicks, t0);
            at += length;
        }
    }

    /// <summary>Writes the sample's decode tasks, row by row: its patches' bytes lie in the data
    /// rows back to back (<paramref name="band"/> false), or as in the file from the first touched
    /// row's start (<paramref name="band"/> true).</summary>
    private static void WriteTasks(PreparedSample s, Span<PatchTask> tasks, bool band)
    {
        var header = s.Header;
        var offsets = header.PatchOffsets;
        int n = header.PatchSize, c = header.Channels, stride = s.RegionWidth * c;
        int rowAt = s.PackedAt, task = s.TaskFirst;
        for (int py = s.Py0; py <= s.Py1; py++)
        {
            if (band) rowAt = s.PackedAt + s.RangeStart(py) - s.RangeStart(s.Py0);
            int start = s.RangeStart(py);
            int y = py * n, height = Math.Min(n, header.Height - y);
            for (int px = s.Px0; px <= s.Px1; px++)
            {
                int p = py * header.PatchesX + px, x = px * n;
                tasks[task++] = new PatchTask
                {
                    Start = rowAt + header.PayloadStart + (int)offsets[p] - start, Length = (int)(offsets[p + 1] - offsets[p]),
                    Width = Math.Min(n, header.Width - x), Height = height,
                    Out = s.StagingAt + ((y - s.RegionY) * s.RegionWidth + x - s.RegionX) * c, RowStride = stride,
                };
            }
            rowAt += s.RowBytes(py);
        }
    }

    /// <summary>The fault of the first bad patch of <paramref name="s"/> (which the device check
    /// found bad), stated by the CPU validation from the sample's bytes read again.</summary>
    public Exception Fault(PreparedSample s)
    {
        var header = s.Header;
        int bandStart = s.RangeStart(s.Py0);
        try
        {
            var band = new byte[s.RangeEnd(s.Py1) - bandStart];
            source.Read(s.Sample, bandStart, band);
            for (int py = s.Py0; py <= s.Py1; py++)
                for (int px = s.Px0; px <= s.Px1; px++)
                {
                    int patch = py * header.PatchesX + px;
                    var (start, length) = header.PatchRange(patch);
                    var rect = header.PatchRect(patch);
                    PatchFormat.Validate(band.AsSpan(header.PayloadStart + start - bandStart, length), rect.Width, rect.Height, header.Channels,
                        header.PayloadStart + start);
                }
        }
        catch (L3FormatException e)
        {
            return new L3FormatException($"{source.Describe(s.Sample)}: {e.Reason}", e.Offset);
        }
        return new InvalidOperationException($"{source.Describe(s.Sample)}: the device check found a bad patch that the CPU validation accepts");
    }

    private static AugmentSample Output(PreparedSample s) => new()
    {
        Source = s.StagingAt, Stride = s.RegionWidth * s.Header.Channels, SourceChannels = s.Header.Channels,
        CropX = s.Box.X - s.RegionX, CropY = s.Box.Y - s.RegionY, CropWidth = s.Box.Width, CropHeight = s.Box.Height,
        Flip = s.Box.Flip ? 1 : 0,
    };
}
