using System.Runtime.InteropServices;
using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// Prepares batches on reader threads: reads each sample's header and table (checked as
/// <see cref="L3Header.Read(ReadOnlySpan{byte}, long)"/> checks them), chooses its crop, reads only
/// the payload ranges of the patches the crop touches straight into page-locked memory, and checks
/// every one of those patches (<see cref="PatchFormat.Validate"/>) there, in parallel. With
/// checksums on, the whole file is read and its payload checksum verified first.
/// </summary>
internal sealed class BatchReader(SampleSource source, AugmentOptions augment, ulong seed, int readers, bool verifyChecksums)
{
    /// <summary>First read of a file: enough for the header and table of most images (a 2048×1024
    /// image at N = 16 has a 32 KiB table).</summary>
    private const int FirstRead = 64 * 1024;
    private const int Alignment = 16;
    private const int Padding = 16;
    /// <summary>The decode kernel addresses bytes with 32-bit integers.</summary>
    private const long MaxBufferBytes = 1L << 30;

    private readonly ParallelOptions _parallel = new() { MaxDegreeOfParallelism = Math.Max(1, readers) };

    public HostBatch Read(SampleBatch plan, Func<long, PageLockedArray1D<uint>> rentWords)
    {
        var samples = new PreparedSample[plan.Samples.Length];
        // the same sample twice (pad) is read twice: cheap, and keeps the layout simple
        ForEach(samples.Length, k => samples[k] = Open(plan.Samples[k], plan.Epoch));

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

        var tasks = new List<(PatchTask Task, int N, int C)>();
        foreach (var s in samples) AddTasks(s, tasks);
        // one launch per (patch size, channels); stable, so tasks stay in sample order within one
        var ordered = tasks.Select((t, i) => (t.Task, t.N, t.C, I: i)).OrderBy(x => x.N).ThenBy(x => x.C).ThenBy(x => x.I).ToArray();
        var launches = new List<DecodeLaunch>();
        for (int i = 0; i < ordered.Length;)
        {
            int j = i;
            while (j < ordered.Length && ordered[j].N == ordered[i].N && ordered[j].C == ordered[i].C) j++;
            launches.Add(new DecodeLaunch(ordered[i].N, ordered[i].C, i, j - i));
            i = j;
        }

        var buffer = rentWords((packedBytes + 3) / 4);
        try
        {
            ForEach(samples.Length, k => Fill(samples[k], buffer));
            var bytes = MemoryMarshal.AsBytes(buffer.Span);
            bytes[(int)packed..(int)packedBytes].Clear();
        }
        catch
        {
            buffer.Dispose();
            throw;
        }

        return new HostBatch
        {
            Plan = plan, Samples = samples, Packed = buffer, PackedBytes = (int)packedBytes, ZeroWord = (int)(dataEnd / 4),
            Tasks = ordered.Select(x => x.Task).ToArray(), Launches = launches.ToArray(),
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
            if (verifyChecksums)
            {
                if (length > int.MaxValue) throw new L3FormatException($"file of {length} bytes is too long for an L3 file", 0);
                whole = GC.AllocateUninitializedArray<byte>((int)length);
                source.Read(sample, 0, whole);
                header = L3Header.Read(whole);
                header.VerifyPayload(whole);
            }
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
            }
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

    /// <summary>Reads the touched patch rows into the buffer and checks every touched patch there.</summary>
    private void Fill(PreparedSample s, PageLockedArray1D<uint> buffer)
    {
        var target = MemoryMarshal.AsBytes(buffer.Span).Slice(s.PackedAt, s.Bytes);
        var header = s.Header;
        int at = 0;
        try
        {
            for (int py = s.Py0; py <= s.Py1; py++)
            {
                int start = s.RangeStart(py), length = s.RowBytes(py);
                var row = target.Slice(at, length);
                if (s.WholeFile is { } whole) whole.AsSpan(start, length).CopyTo(row);
                else source.Read(s.Sample, start, row);
                for (int px = s.Px0; px <= s.Px1; px++)
                {
                    int p = py * header.PatchesX + px;
                    var (offset, patchLength) = header.PatchRange(p);
                    var rect = header.PatchRect(p);
                    int inRow = header.PayloadStart + offset - start;
                    PatchFormat.Validate(row.Slice(inRow, patchLength), rect.Width, rect.Height, header.Channels, header.PayloadStart + offset);
                }
                at += length;
            }
        }
        catch (L3FormatException e)
        {
            throw new L3FormatException($"{source.Describe(s.Sample)}: {e.Reason}", e.Offset);
        }
    }

    private static void AddTasks(PreparedSample s, List<(PatchTask Task, int N, int C)> tasks)
    {
        var header = s.Header;
        int n = header.PatchSize, c = header.Channels, stride = s.RegionWidth * c;
        int rowAt = s.PackedAt;
        for (int py = s.Py0; py <= s.Py1; py++)
        {
            int start = s.RangeStart(py);
            for (int px = s.Px0; px <= s.Px1; px++)
            {
                int p = py * header.PatchesX + px;
                var (offset, _) = header.PatchRange(p);
                var rect = header.PatchRect(p);
                tasks.Add((new PatchTask
                {
                    Start = rowAt + header.PayloadStart + offset - start, Width = rect.Width, Height = rect.Height,
                    Out = s.StagingAt + ((rect.Y - s.RegionY) * s.RegionWidth + rect.X - s.RegionX) * c, RowStride = stride,
                }, n, c));
            }
            rowAt += s.RowBytes(py);
        }
    }

    private static AugmentSample Output(PreparedSample s) => new()
    {
        Source = s.StagingAt, Stride = s.RegionWidth * s.Header.Channels, SourceChannels = s.Header.Channels,
        CropX = s.Box.X - s.RegionX, CropY = s.Box.Y - s.RegionY, CropWidth = s.Box.Width, CropHeight = s.Box.Height,
        Flip = s.Box.Flip ? 1 : 0,
    };
}
