using System.Runtime.InteropServices;
using ILGPU.Runtime;
using L3.Dense;
using L3.Gpu;
using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// Prepares batches on reader threads: reads each sample's header and table (checked as
/// <see cref="L3Header.Read(ReadOnlySpan{byte}, long)"/> checks them, and cached for later epochs),
/// chooses its crop and the rectangle of patches it touches, and lays out the batch: a few dozen
/// bytes a sample (<see cref="SampleRegion"/>). The device writes the decode tasks from those and
/// the table slices, checking every patch as it goes (<see cref="PatchTaskKernel"/>), so the host
/// does no work per patch. On the page-locked path the readers read the touched patch rows
/// straight into page-locked memory, in parallel; with checksums on, the whole file is read and its
/// payload checksum verified first.
/// </summary>
/// <remarks>With the dataset's files mapped (<see cref="MappedFiles"/>), nothing is copied on the
/// host: each sample's band of touched patch rows, from the first row's first touched patch to the
/// last row's last, is one device copy straight from the page cache (the bytes between rows go
/// along: one copy an image instead of one a row). The table slices, a few KB an image, go from the
/// checked headers into one page-locked buffer and one upload a batch on both paths (a small copy
/// each would cost the copy engine more than its bytes).</remarks>
internal sealed class BatchReader(SampleSource source, AugmentOptions augment, ulong seed, int readers, bool verifyChecksums, LoaderTimings timings,
    MappedFiles? mapped = null, long headerCacheBytes = 0, bool replaceBadSamples = false)
{
    /// <summary>Whole files are read: to verify checksums, or to find every bad sample on the host
    /// (checksum and touched patches) before the batch is laid out, so that it can be replaced.</summary>
    private readonly bool _readWholeFiles = verifyChecksums || replaceBadSamples;

    /// <summary>Checked headers and tables kept for later epochs (the files do not change under a
    /// loader), up to <c>headerCacheBytes</c>: from the second epoch on, the host reads nothing.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, L3Header> _headers = new();
    /// <summary>Dense files' checked probability tables, kept alike (within the same budget).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, DenseTables> _denseTables = new();
    private long _cachedBytes;

    /// <summary>First read of a file: the fixed header and the start of the table; the rest of the
    /// table (32 KiB for a 2048×1024 image at N = 16) is read once its length is known.</summary>
    private const int FirstRead = 4 * 1024;
    private const int Alignment = 16;
    private const int Padding = 16;
    /// <summary>The decode kernel addresses bytes with 32-bit integers.</summary>
    private const long MaxBufferBytes = 1L << 30;

    private readonly ParallelOptions _parallel = new() { MaxDegreeOfParallelism = Math.Max(1, readers) };

    public HostBatch Read(SampleBatch plan, Func<long, PageLockedArray1D<uint>> rentWords, Func<long, PageLockedArray1D<uint>> rentTables)
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

        // the data: every sample's bytes, then (4-byte aligned) every sample's table slice, then zeros
        long data = 0, staging = 0;
        foreach (var s in samples)
        {
            s.DataAt = (int)Math.Min(data, int.MaxValue);
            data += s.Bytes;
            staging = (staging + Alignment - 1) / Alignment * Alignment;
            s.StagingAt = (int)Math.Min(staging, int.MaxValue);
            staging += (long)s.RegionWidth * s.RegionHeight * s.Header.Channels;
        }
        long tablesAt = (data + 3) / 4 * 4, tables = tablesAt;
        int biases = 0;
        foreach (var s in samples)
        {
            s.TableWord = (int)Math.Min(tables / 4, int.MaxValue);
            tables += 4L * s.TableEntries;
            s.RowBias = biases;
            biases = checked(biases + s.Rows);
        }

        // one launch per (coding mode, patch size, channels), its samples in batch order; each
        // sample's tasks get a fixed range of the launch's list, which the device writes from the
        // sample's region. A dense launch's samples' expanded probability tables follow the table
        // slices: the launch's rank maps, sample by sample, then its token entries.
        var launches = new List<DecodeLaunch>();
        var regions = new List<SampleRegion>(samples.Length);
        int taskCount = 0;
        foreach (var group in samples.GroupBy(s => (s.Header.Mode, s.Header.PatchSize, s.Header.Channels)))
        {
            int first = taskCount, regionFirst = regions.Count, sets = 0;
            bool dense = group.Key.Mode == L3CodingMode.Dense;
            int rankBytes = dense ? DenseKernelTables.RankBytes(group.Key.Channels) : 0, entries = dense ? DenseKernelTables.Entries(group.Key.Channels) : 0;
            foreach (var s in group)
            {
                s.TaskFirst = taskCount;
                s.TableSet = dense ? sets++ : 0;
                regions.Add(s.Region(taskCount - first));
                taskCount = checked(taskCount + s.TaskCount);
            }
            // the rank maps and the entries start 8-byte aligned (the kernel reads each map word and
            // each entry as one vector; a file's maps and entries are whole 8-byte words)
            long ranksAt = dense ? (tables + DenseKernelTables.EntryAlignment - 1) / DenseKernelTables.EntryAlignment * DenseKernelTables.EntryAlignment : tables;
            long entriesAt = ranksAt + (long)sets * rankBytes;
            tables = entriesAt + 4L * sets * entries;
            if (dense)
                foreach (var s in group)
                {
                    s.RanksByte = ranksAt + (long)s.TableSet * rankBytes;
                    s.EntriesWord = entriesAt / 4 + (long)s.TableSet * entries;
                }
            launches.Add(new DecodeLaunch(group.Key.PatchSize, group.Key.Channels, first, taskCount - first, regionFirst, regions.Count - regionFirst)
            {
                Mode = (int)group.Key.Mode, TableSets = sets,
                RanksWord = (int)Math.Min(ranksAt / 4, int.MaxValue), EntriesWord = (int)Math.Min(entriesAt / 4, int.MaxValue),
            });
        }
        long zeroAt = (tables + 7) / 8 * 8;
        long packedBytes = zeroAt + Padding;
        if (packedBytes > MaxBufferBytes || staging > MaxBufferBytes)
            throw new ArgumentException($"a batch of {data} compressed and {staging} decoded bytes is too large for one launch; use smaller batches");
        long outputElements = (long)samples.Length * outputWidth * outputHeight * augment.Channels;
        if (outputElements > int.MaxValue)
            throw new ArgumentException($"a batch of {outputElements} output elements is too large for one launch; use smaller batches");
        var rowBiases = new int[biases];
        int tableWords = (int)((tables - tablesAt) / 4);
        PageLockedArray1D<uint>? buffer = null, tableBuffer = null;
        LoaderTimings.Add(ref timings.LayoutTicks, layout);
        Interlocked.Add(ref timings.Images, samples.Length);
        try
        {
            // the table slices come from the checked headers (one upload a batch, on both paths)
            tableBuffer = rentTables(tableWords);
            if (mapped is null) buffer = rentWords((data + 3) / 4);
            ForEach(samples.Length, k =>
            {
                long t0 = LoaderTimings.Now;
                var s = samples[k];
                if (buffer is not null) Fill(s, buffer, rowBiases);
                else rowBiases.AsSpan(s.RowBias, s.Rows).Fill(checked(s.DataAt - (int)s.Header.PatchOffsets[s.FirstEntry]));
                s.Header.PatchOffsets.Slice(s.FirstEntry, s.TableEntries).CopyTo(tableBuffer.Span.Slice(s.TableWord - (int)(tablesAt / 4), s.TableEntries));
                if (s.DenseTables is { } dense)
                    DenseKernelTables.Write(dense,
                        MemoryMarshal.AsBytes(tableBuffer.Span).Slice((int)(s.RanksByte - tablesAt), DenseKernelTables.RankBytes(s.Header.Channels)),
                        tableBuffer.Span.Slice((int)(s.EntriesWord - tablesAt / 4), DenseKernelTables.Entries(s.Header.Channels)));
                LoaderTimings.Add(ref timings.FillTicks, t0);
            });
        }
        catch
        {
            buffer?.Dispose();
            tableBuffer?.Dispose();
            throw;
        }

        return new HostBatch
        {
            Plan = plan, Samples = samples, Replaced = replaced, Packed = buffer, DataBytes = (int)data,
            // the mapped path: the device copies each sample's band from the page cache
            Copies = buffer is null ? samples.Select(s => new DeviceCopy(s.Mapped, s.DataAt, s.Bytes)).ToArray() : null,
            Tables = tableBuffer!, TablesWord = (int)(tablesAt / 4), TableWords = tableWords,
            PackedBytes = (int)packedBytes, ZeroWord = (int)(zeroAt / 4),
            Regions = regions.ToArray(), RowBiases = rowBiases, TaskCount = taskCount, Launches = launches.ToArray(),
            Outputs = samples.Select(Output).ToArray(), StagingBytes = (int)staging,
            OutputWidth = outputWidth, OutputHeight = outputHeight,
        };
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
            var denseTables = header.Mode == L3CodingMode.Dense ? Tables(sample, header, whole) : null;
            if (!augment.Accepts(header.Channels))
                throw new L3FormatException($"an image of {header.Channels} channel(s) cannot give the output's {augment.Channels}", FileLayout.ChannelsOffset);

            var box = CropBox.Choose(augment, header.Width, header.Height, seed, epoch, sample);
            int n = header.PatchSize;
            var s = new PreparedSample
            {
                Sample = sample, Label = source.GetLabel(sample), Header = header, DenseTables = denseTables, Box = box, WholeFile = whole,
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
            // a dense stream is checked only by decoding it: with bad samples replaced, the host decodes the touched patches
            if (replaceBadSamples && denseTables is not null)
                L3Codec.DecodeRegion(whole, s.RegionX, s.RegionY, s.RegionWidth, s.RegionHeight);
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

    /// <summary>A dense file's probability tables, read and checked (DenseTables.Read) once and kept
    /// with its header.</summary>
    private DenseTables Tables(long sample, L3Header header, byte[]? whole)
    {
        if (whole is not null) return DenseTables.Read(whole.AsSpan(header.PayloadStart, header.TablesLength), header.Channels, header.PayloadStart);
        if (_denseTables.TryGetValue(sample, out var cached)) return cached;
        var section = new byte[header.TablesLength];
        source.Read(sample, header.PayloadStart, section);
        var tables = DenseTables.Read(section, header.Channels, header.PayloadStart);
        long size = DenseKernelTables.RankBytes(header.Channels) + 4L * DenseKernelTables.Entries(header.Channels);
        if (Interlocked.Add(ref _cachedBytes, size) <= headerCacheBytes) _denseTables[sample] = tables;
        else Interlocked.Add(ref _cachedBytes, -size);
        return tables;
    }

    /// <summary>Reads the touched patch rows into the buffer, one after the other, and states where
    /// each row's bytes went (its bias).</summary>
    private void Fill(PreparedSample s, PageLockedArray1D<uint> buffer, int[] rowBiases)
    {
        var target = MemoryMarshal.AsBytes(buffer.Span).Slice(s.DataAt, s.Bytes);
        var offsets = s.Header.PatchOffsets;
        int at = 0;
        for (int py = s.Py0; py <= s.Py1; py++)
        {
            int start = s.RangeStart(py), length = s.RowBytes(py);
            var row = target.Slice(at, length);
            long t0 = LoaderTimings.Now;
            if (s.WholeFile is { } whole) whole.AsSpan(start, length).CopyTo(row);
            else source.Read(s.Sample, start, row);
            LoaderTimings.Add(ref timings.ReadTicks, t0);
            rowBiases[s.RowBias + py - s.Py0] = checked(s.DataAt + at - (int)offsets[py * s.Header.PatchesX + s.Px0]);
            at += length;
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
            if (header.Mode == L3CodingMode.Dense)
            {
                // the device decoded a corrupt stream: the CPU decoder states the fault
                long length = source.GetLength(s.Sample);
                var whole = new byte[length];
                source.Read(s.Sample, 0, whole);
                L3Codec.DecodeRegion(whole, s.RegionX, s.RegionY, s.RegionWidth, s.RegionHeight);
                return new InvalidOperationException($"{source.Describe(s.Sample)}: the device found a corrupt dense stream that the CPU decoder accepts");
            }
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
