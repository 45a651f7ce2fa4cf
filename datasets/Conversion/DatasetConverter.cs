using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using L3.Imaging;

namespace L3.Datasets;

/// <summary>What `l3 convert` is asked to do, beyond the source and the destination.</summary>
public sealed record ConvertOptions
{
    /// <summary>What reading a source image may convert (first frame, CMYK, EXIF orientation);
    /// recorded in the plan and the manifest, since it changes the pixels.</summary>
    public ImageReadOptions ReadOptions { get; init; } = ImageReadOptions.Default;

    /// <summary>Reads an image file's bytes into pixels, throwing for a bad image; by default (null)
    /// <see cref="ImageFiles.Read(ReadOnlySpan{byte}, ImageReadOptions?)"/> with <see cref="ReadOptions"/>
    /// (PNG, JPEG, BMP, GIF, WebP, netpbm). Tests give their own.</summary>
    public Func<byte[], L3Image>? DecodeImage { get; init; }

    internal Func<byte[], L3Image> Decoder => DecodeImage ?? (bytes => ImageFiles.Read(bytes, ReadOptions));

    /// <summary>The read options as the plan records them: "" when nothing may be converted.</summary>
    internal string ReadOptionsText => string.Join(" ", new[]
    {
        ReadOptions.FirstFrame ? "first-frame" : null,
        ReadOptions.ConvertCmyk ? "convert-cmyk" : null,
        ReadOptions.Orientation != OrientationHandling.Refuse ? "orientation=" + ReadOptions.Orientation.ToString().ToLowerInvariant() : null,
    }.OfType<string>());

    public int PatchSize { get; init; } = L3EncodeOptions.Default.PatchSize;

    /// <summary>How each sample's patches are coded (its file's header says so). Recorded in the
    /// plan, so parts and resumed runs of one conversion all code the same way.</summary>
    public L3CodingMode Mode { get; init; } = L3CodingMode.Rows;

    public ShardSize ShardSize { get; init; } = ShardSize.Default;

    /// <summary>Images converted at once (each on one thread).</summary>
    public int Jobs { get; init; } = Environment.ProcessorCount;

    /// <summary>This process converts the shards s with s mod <see cref="Parts"/> = <see cref="Part"/>.</summary>
    public int Part { get; init; }
    public int Parts { get; init; } = 1;

    /// <summary>Stop at the first bad image instead of recording it and going on.</summary>
    public bool Strict { get; init; }

    /// <summary>Called on the writing thread after every input (keep it cheap).</summary>
    public Action<ConvertProgress>? Progress { get; init; }

    /// <summary>Test hook: after this many shards are written, half-write the next one and stop
    /// as a killed process would (a temporary file left behind, nothing cleaned).</summary>
    internal int StopAfterShards { get; init; } = -1;
}

/// <summary>Where a conversion stands: this run's work (skipped shards are not counted).</summary>
public sealed record ConvertProgress(
    long Images, long ImagesTotal, long SourceBytes, long SourceBytesTotal, long Failures,
    int Shards, int ShardsTotal, TimeSpan Elapsed);

/// <summary>The outcome of one conversion run.</summary>
public sealed record ConvertResult(
    int ShardsInDataset, int ShardsOwned, int ShardsAlreadyComplete, int ShardsWritten,
    long ImagesConverted, long SourceBytesRead, TimeSpan Elapsed,
    IReadOnlyList<ConvertFailure> Failures, string? FailureReport, FinalizeResult Finalize);

/// <summary>Whether the dataset could be finished: every shard complete and the manifest written.</summary>
public sealed record FinalizeResult(bool Finished, int MissingShards, DatasetManifest? Manifest, IReadOnlyList<ConvertFailure> Failures);

/// <summary>A conversion that cannot go on: a destination made from other input or options, or
/// --strict meeting a bad image. What is complete stays complete.</summary>
public sealed class DatasetException(string message) : Exception(message);

/// <summary>Thrown by the <see cref="ConvertOptions.StopAfterShards"/> test hook.</summary>
internal sealed class SimulatedKillException() : Exception("simulated kill");

/// <summary>
/// Turns an <see cref="ImageSource"/> into a dataset (docs/DATASET.md §5): plans the shards,
/// converts this part's missing shards on <see cref="ConvertOptions.Jobs"/> threads in input order,
/// writes each shard whole (temporary file, flush, rename, then its index), and writes the
/// manifest when every shard of every part is complete.
/// </summary>
public static class DatasetConverter
{
    public static ConvertResult Convert(ImageSource source, string destination, ConvertOptions options, CancellationToken cancellation = default)
    {
        if (!L3Header.IsValidPatchSize(options.PatchSize)) throw new ArgumentException($"patch size {options.PatchSize} is not 8, 16, 32 or 64");
        if (options.Parts < 1 || options.Part < 0 || options.Part >= options.Parts)
            throw new ArgumentException($"part {options.Part}/{options.Parts}: expected 0 ≤ i < n");
        if (options.Jobs < 1) throw new ArgumentException("jobs must be at least 1");

        var clock = Stopwatch.StartNew();
        var plan = ConvertPlan.Create(source, options.PatchSize, options.ShardSize, options.ReadOptionsText, options.Mode);
        // the plan is published before anything else, so a part starting at the same time sees
        // either a folder of conversion entries only, or the plan it must match
        CheckDestination(destination);
        Directory.CreateDirectory(destination);
        EnsurePlan(destination, plan);
        Directory.CreateDirectory(Path.Combine(destination, DatasetLayout.ShardFolder));

        var owned = Enumerable.Range(0, plan.ShardCount).Where(s => ConvertPlan.IsOwnedBy(s, options.Part, options.Parts)).ToList();
        RemoveDeadTemporaries(destination, owned);
        var pending = owned.Where(s => LoadCompleteIndex(destination, plan, s) is null).ToList();

        var run = new Run(source, destination, plan, options, pending, clock, cancellation);
        run.Execute();

        // this part's failures, from every owned shard (those of earlier runs too): the same report however
        // often it was interrupted. Written before finalizing, which removes it once failures.txt has them all.
        var failures = owned.SelectMany(s => LoadCompleteIndex(destination, plan, s)!.Failures).ToList();
        string partReport = DatasetLayout.Resolve(destination, DatasetLayout.PartReportPath(options.Part, options.Parts));
        if (failures.Count > 0 && options.Parts > 1)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(partReport)!);
            DurableFile.WriteReplacing(partReport, FailureReport(failures, owned.Sum(s => plan.ShardRange(s).Count)));
        }
        var finish = TryFinalize(destination);
        string? report = finish.Finished
            ? (finish.Failures.Count > 0 ? Path.Combine(destination, DatasetLayout.FailureReportFile) : null)
            : (failures.Count > 0 && options.Parts > 1 ? partReport : null);
        return new ConvertResult(plan.ShardCount, owned.Count, owned.Count - pending.Count, run.ShardsWritten,
            run.Images, run.SourceBytes, clock.Elapsed, finish.Finished ? finish.Failures : failures, report, finish);
    }

    /// <summary>Writes the manifest (and the failure report) when every shard of the plan is
    /// complete; otherwise says how many are missing. Its output depends on the shards alone, so
    /// any number of processes may call it at any time, at once too.</summary>
    public static FinalizeResult TryFinalize(string destination)
    {
        string planPath = Path.Combine(destination, DatasetLayout.PlanFile);
        if (!File.Exists(planPath)) throw new DatasetException($"{destination} holds no conversion ({DatasetLayout.PlanFile} is missing)");
        var plan = ConvertPlan.Parse(File.ReadAllBytes(planPath), planPath);

        var indexes = new ShardIndex?[plan.ShardCount];
        var indexBytes = new byte[plan.ShardCount][];
        int missing = 0;
        for (int s = 0; s < plan.ShardCount; s++)
        {
            indexes[s] = LoadCompleteIndex(destination, plan, s, out indexBytes[s]!);
            if (indexes[s] is null) missing++;
        }
        if (missing > 0) return new FinalizeResult(false, missing, null, []);

        var shards = new List<ShardInfo>();
        var shapes = new Dictionary<(int, int, int), long>();
        var channels = new Dictionary<int, long>();
        var labelCounts = new long[plan.Classes.Count];
        long unlabelled = 0, first = 0, sourceBytes = 0, l3Bytes = 0, decodedBytes = 0;
        foreach (var index in indexes)
        {
            long shardL3 = 0, shardSource = 0;
            foreach (var e in index!.Samples)
            {
                shardL3 += e.Length;
                shardSource += e.SourceBytes;
                decodedBytes += e.DecodedBytes;
                shapes[(e.Width, e.Height, e.Channels)] = shapes.GetValueOrDefault((e.Width, e.Height, e.Channels)) + 1;
                channels[e.Channels] = channels.GetValueOrDefault(e.Channels) + 1;
                if (e.Label >= 0 && e.Label < labelCounts.Length) labelCounts[e.Label]++;
                else unlabelled++;
            }
            byte[] bytes = indexBytes[index.Shard];
            shards.Add(new ShardInfo(index.Shard, DatasetLayout.ShardTarPath(index.Shard), DatasetLayout.ShardIndexPath(index.Shard),
                first, index.Samples.Count, index.Failures.Count, index.TarLength, index.TarChecksum,
                bytes.Length, XxHash64.HashToUInt64(bytes), shardL3, shardSource));
            first += index.Samples.Count;
            sourceBytes += shardSource;
            l3Bytes += shardL3;
        }
        var failures = indexes.SelectMany(i => i!.Failures).ToList();
        var manifest = new DatasetManifest
        {
            Tool = plan.Tool,
            Settings = plan.Settings,
            Input = plan.Input,
            Samples = first,
            Failures = failures.Count,
            SourceBytes = sourceBytes,
            L3Bytes = l3Bytes,
            DecodedBytes = decodedBytes,
            Classes = plan.Classes,
            LabelCounts = labelCounts,
            Unlabelled = unlabelled,
            ChannelCounts = channels,
            Shapes = shapes.OrderBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2).ThenBy(p => p.Key.Item3)
                .Select(p => new ShapeCount(p.Key.Item1, p.Key.Item2, p.Key.Item3, p.Value)).ToList(),
            Shards = shards,
        };

        if (failures.Count > 0)
            WriteIfChanged(Path.Combine(destination, DatasetLayout.FailureReportFile), FailureReport(failures, plan.Input.Files));
        WriteIfChanged(Path.Combine(destination, DatasetLayout.ManifestFile), manifest.Serialize());
        // every shard is complete: the parts' reports are in failures.txt, a temporary shard left by a killed writer is of no use
        string partFolder = Path.Combine(destination, DatasetLayout.PartFolder);
        if (Directory.Exists(partFolder))
            foreach (string partReport in Directory.EnumerateFiles(partFolder, "*.failures.txt")) DurableFile.TryDelete(partReport);
        foreach (string temp in Directory.EnumerateFiles(Path.Combine(destination, DatasetLayout.ShardFolder), "*" + DatasetLayout.TemporarySuffix))
            DurableFile.TryDelete(temp);
        return new FinalizeResult(true, 0, manifest, failures);
    }

    private static void WriteIfChanged(string path, byte[] bytes)
    {
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes)) return;
        DurableFile.WriteReplacing(path, bytes);
    }

    /// <summary>The report: a comment line, then one line per failed input: ordinal, source and
    /// reason, separated by tabs, in input order.</summary>
    public static byte[] FailureReport(IReadOnlyList<ConvertFailure> failures, long inputs)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# l3 convert: {failures.Count} of {inputs} inputs could not be converted (input number, source, reason)\n");
        foreach (var f in failures)
            text.Append(CultureInfo.InvariantCulture, $"{f.Ordinal}\t{OneLine(f.Source)}\t{OneLine(f.Reason)}\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Replace('\t', ' ');

    /// <summary>A destination is new, empty, or a conversion (resumed, or started by a concurrent
    /// part); never an unrelated folder. Convert checks it; a caller may check it earlier, before
    /// the inputs are scanned.</summary>
    public static void CheckDestination(string destination)
    {
        if (File.Exists(destination)) throw new DatasetException($"'{destination}' is a file; give a new or empty folder");
        if (!Directory.Exists(destination) || File.Exists(Path.Combine(destination, DatasetLayout.PlanFile))) return;
        if (Directory.EnumerateFileSystemEntries(destination).Any(entry => !DatasetLayout.IsConversionEntry(Path.GetFileName(entry))))
            throw new DatasetException($"'{destination}' is a folder that is not an L3 dataset conversion; give a new or empty folder");
    }

    private static void EnsurePlan(string destination, ConvertPlan plan)
    {
        string path = Path.Combine(destination, DatasetLayout.PlanFile);
        byte[] mine = plan.Serialize();
        if (DurableFile.WriteIfAbsent(path, mine)) return;
        byte[] theirs = File.ReadAllBytes(path);
        if (theirs.AsSpan().SequenceEqual(mine)) return;
        var existing = ConvertPlan.Parse(theirs, path);
        string why = existing.Tool != plan.Tool ? $"another tool version ({existing.Tool})"
            : existing.Input != plan.Input ? $"other input ({existing.Input.Files} files, digest {DatasetManifest.Hex(existing.Input.Digest)}; this input has {plan.Input.Files}, {DatasetManifest.Hex(plan.Input.Digest)})"
            : existing.Settings != plan.Settings ? $"other options ({existing.Settings}; now {plan.Settings})"
            : "another plan";
        throw new DatasetException($"{destination} is a conversion of {why}; finish it with the same input and options, or convert into a new folder");
    }

    /// <summary>The index of shard <paramref name="shard"/> when the shard is complete: index under
    /// its final name, valid, matching the plan, and its tar there with the length it records.</summary>
    internal static ShardIndex? LoadCompleteIndex(string destination, ConvertPlan plan, int shard) =>
        LoadCompleteIndex(destination, plan, shard, out _);

    private static ShardIndex? LoadCompleteIndex(string destination, ConvertPlan plan, int shard, out byte[]? bytes)
    {
        bytes = null;
        string indexPath = DatasetLayout.Resolve(destination, DatasetLayout.ShardIndexPath(shard));
        string tarPath = DatasetLayout.Resolve(destination, DatasetLayout.ShardTarPath(shard));
        if (!File.Exists(indexPath) || !File.Exists(tarPath)) return null;
        try
        {
            bytes = File.ReadAllBytes(indexPath);
            var index = ShardIndex.Parse(bytes, indexPath);
            var (firstOrdinal, count) = plan.ShardRange(shard);
            if (index.Shard != shard || index.FirstOrdinal != firstOrdinal || index.InputCount != count) return null;
            if (new FileInfo(tarPath).Length != index.TarLength) return null;
            return index;
        }
        catch (L3FormatException)
        {
            return null; // not this plan's shard, or damaged: written again
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Removes temporary shards of this part left by dead processes of this machine
    /// (another machine's are left alone: their process may be alive; finalizing removes them).</summary>
    private static void RemoveDeadTemporaries(string destination, List<int> owned)
    {
        var ownedNames = owned.Select(DatasetLayout.ShardName).ToHashSet(StringComparer.Ordinal);
        string prefix = $"{Environment.MachineName}-";
        foreach (string path in Directory.EnumerateFiles(Path.Combine(destination, DatasetLayout.ShardFolder), ".shard-*" + DatasetLayout.TemporarySuffix))
        {
            // .shard-000012.tar.HOST-PID-GUID.tmp
            string name = Path.GetFileName(path);
            string[] parts = name[1..].Split('.');
            if (parts.Length < 4 || !ownedNames.Contains(parts[0]) || !parts[2].StartsWith(prefix, StringComparison.Ordinal)) continue;
            string[] hostPid = parts[2][prefix.Length..].Split('-');
            if (hostPid.Length < 1 || !int.TryParse(hostPid[0], CultureInfo.InvariantCulture, out int pid) || IsAlive(pid)) continue;
            DurableFile.TryDelete(path);
        }
    }

    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Decodes the given inputs on <paramref name="jobs"/> threads and keeps nothing: the
    /// rate a conversion is measured against (reading and decoding the sources is its floor).</summary>
    public static (long Images, long SourceBytes, TimeSpan Elapsed) MeasureDecodeOnly(ImageSource source, IReadOnlyList<int> ordinals, Func<byte[], L3Image> decode, int jobs)
    {
        var clock = Stopwatch.StartNew();
        long images = 0, bytes = 0;
        Parallel.ForEach(ordinals, new ParallelOptions { MaxDegreeOfParallelism = jobs }, ordinal =>
        {
            byte[] file = source.Read(ordinal);
            try
            {
                decode(file);
                Interlocked.Increment(ref images);
                Interlocked.Add(ref bytes, file.Length);
            }
            catch (Exception e) when (e is not OutOfMemoryException) { } // a bad image is not a decode
        });
        return (images, bytes, clock.Elapsed);
    }

    /// <summary>The ordinals a part converts (all inputs of its shards), for measuring.</summary>
    public static IReadOnlyList<int> OrdinalsOfPart(ImageSource source, ShardSize shardSize, int part, int parts)
    {
        var plan = ConvertPlan.Create(source, L3EncodeOptions.Default.PatchSize, shardSize);
        var ordinals = new List<int>();
        for (int s = 0; s < plan.ShardCount; s++)
        {
            if (!ConvertPlan.IsOwnedBy(s, part, parts)) continue;
            var (firstOrdinal, count) = plan.ShardRange(s);
            for (int i = 0; i < count; i++) ordinals.Add((int)(firstOrdinal + i));
        }
        return ordinals;
    }

    /// <summary>One run: workers convert inputs in any order, within a bounded window ahead of the
    /// writer, which takes them in input order and writes the shards one after another.</summary>
    private sealed class Run(ImageSource source, string destination, ConvertPlan plan, ConvertOptions options,
        List<int> pending, Stopwatch clock, CancellationToken cancellation)
    {
        private readonly object _gate = new();
        private readonly Dictionary<long, Converted> _done = [];
        private long[] _ordinals = [];
        private long _nextToClaim, _nextToWrite;
        private bool _stopping;

        public int ShardsWritten { get; private set; }
        public long Images { get; private set; }
        public long SourceBytes { get; private set; }

        private sealed record Converted(SampleToWrite? Sample, ConvertFailure? Failure, Exception? Fatal);

        public void Execute()
        {
            var ordinals = new List<long>();
            foreach (int s in pending)
            {
                var (firstOrdinal, count) = plan.ShardRange(s);
                for (int i = 0; i < count; i++) ordinals.Add(firstOrdinal + i);
            }
            _ordinals = ordinals.ToArray();
            long totalBytes = _ordinals.Sum(o => source.Items[(int)o].Size);
            int window = options.Jobs * 2 + 2;
            long failures = 0;

            var workers = Enumerable.Range(0, Math.Min(options.Jobs, Math.Max(1, _ordinals.Length)))
                .Select(_ => new Thread(() => Work(window)) { IsBackground = true, Name = "l3 convert" }).ToList();
            workers.ForEach(w => w.Start());
            ShardWriter? writer = null;
            try
            {
                long position = 0;
                foreach (int shard in pending)
                {
                    var (firstOrdinal, count) = plan.ShardRange(shard);
                    writer = new ShardWriter(destination, shard, firstOrdinal, count);
                    for (int i = 0; i < count; i++, position++)
                    {
                        var item = Take(position);
                        if (item.Fatal is not null) throw item.Fatal;
                        if (item.Failure is { } failure)
                        {
                            if (options.Strict) throw new DatasetException($"{failure.Source}: {failure.Reason} (--strict: stopped at the first bad image)");
                            writer.AddFailure(failure);
                            failures++;
                        }
                        else
                        {
                            writer.Add(item.Sample!);
                            Images++;
                        }
                        SourceBytes += source.Items[(int)_ordinals[position]].Size;
                        options.Progress?.Invoke(new ConvertProgress(Images + failures, _ordinals.Length, SourceBytes, totalBytes,
                            failures, ShardsWritten, pending.Count, clock.Elapsed));
                        if (options.StopAfterShards == ShardsWritten && i == count / 2)
                        {
                            writer.Abandon();
                            throw new SimulatedKillException();
                        }
                    }
                    writer.Complete();
                    writer = null;
                    ShardsWritten++;
                    options.Progress?.Invoke(new ConvertProgress(Images + failures, _ordinals.Length, SourceBytes, totalBytes,
                        failures, ShardsWritten, pending.Count, clock.Elapsed));
                }
            }
            finally
            {
                writer?.Dispose();
                lock (_gate)
                {
                    _stopping = true;
                    Monitor.PulseAll(_gate);
                }
                workers.ForEach(w => w.Join());
            }
        }

        private Converted Take(long position)
        {
            lock (_gate)
            {
                Converted? result;
                while (!_done.Remove(position, out result))
                {
                    cancellation.ThrowIfCancellationRequested();
                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(200));
                }
                _nextToWrite = position + 1;
                Monitor.PulseAll(_gate);
                return result;
            }
        }

        private void Work(int window)
        {
            var encodeOptions = new L3EncodeOptions { PatchSize = options.PatchSize, Mode = options.Mode };
            while (true)
            {
                long position;
                lock (_gate)
                {
                    while (!_stopping && _nextToClaim < _ordinals.Length && _nextToClaim >= _nextToWrite + window)
                        Monitor.Wait(_gate);
                    if (_stopping || _nextToClaim >= _ordinals.Length || cancellation.IsCancellationRequested) return;
                    position = _nextToClaim++;
                }
                var result = Convert((int)_ordinals[position], encodeOptions);
                lock (_gate)
                {
                    _done[position] = result;
                    Monitor.PulseAll(_gate);
                }
            }
        }

        private readonly Func<byte[], L3Image> decode = options.Decoder;

        private Converted Convert(int ordinal, L3EncodeOptions encodeOptions)
        {
            var item = source.Items[ordinal];
            byte[] bytes;
            try
            {
                bytes = source.Read(ordinal);
            }
            catch (Exception e)
            {
                // a source that cannot be read now may be readable later: stop (resumable) rather than record it for good
                return new Converted(null, null, e is IOException or UnauthorizedAccessException
                    ? new IOException($"{item.Name}: {e.Message}", e) : e);
            }
            try
            {
                var image = decode(bytes);
                byte[] file = L3Codec.Encode(image, encodeOptions);
                return new Converted(new SampleToWrite(ordinal, file, image.Width, image.Height, image.Channels, options.PatchSize,
                    plan.LabelOf(item.ClassName), item.ClassName, item.Name, item.Size), null, null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new Converted(null, new ConvertFailure(ordinal, item.Name, OneLine(e.Message)), null);
            }
        }
    }
}
