using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using L3.Datasets;
using L3.Imaging;

namespace L3.Cli.Commands;

/// <summary>
/// The dataset commands: `l3 convert` (an image tree, list or tar into a sharded dataset), and
/// what `verify`, `info` and `extract` do when given a dataset. Exit codes as every command:
/// 0 success, 1 bad input or failures (a one-line summary on stderr), 2 wrong usage.
/// </summary>
internal static class DatasetCommands
{
    public static Option<int> JobsOption() => new("--jobs", "-j")
    {
        Description = "images worked on at once (default: all cores)",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public static Command Convert()
    {
        var source = new Argument<string?>("source")
        {
            Description = "a folder of images (subfolders are classes), a list file (PATH or PATH<tab>CLASS a line), or a .tar of images",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var destination = new Argument<string?>("destination") { Description = "the dataset folder to write (or to resume)", Arity = ArgumentArity.ZeroOrOne };
        var jobs = JobsOption();
        var shardSize = new Option<string>("--shard-size")
        {
            Description = "inputs per shard: a count of images (1000) or of source bytes (256MB, 1GiB)",
            DefaultValueFactory = _ => "256MB",
        };
        var patch = new Option<int>("--patch") { Description = "patch size N: 8, 16, 32 or 64", DefaultValueFactory = _ => L3EncodeOptions.Default.PatchSize };
        var part = new Option<string>("--part") { Description = "convert part i of n (i/n, 0-based): n processes or machines, one destination", DefaultValueFactory = _ => "0/1" };
        var strict = new Option<bool>("--strict") { Description = "stop at the first bad image instead of reporting it and going on" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no progress output" };
        var finalize = new Option<bool>("--finalize") { Description = "only write the manifest of DESTINATION once all its parts are done" };
        var firstFrame = new Option<bool>("--first-frame") { Description = "of an animated GIF, WebP or PNG, convert the first frame (else: a failure)" };
        var convertCmyk = new Option<bool>("--convert-cmyk") { Description = "convert CMYK JPEGs to RGB (else: a failure)" };
        var orientation = new Option<string>("--orientation")
        {
            Description = "an EXIF orientation other than top-left: refuse (a failure), apply (rotate the pixels) or ignore (keep them as stored)",
            DefaultValueFactory = _ => "refuse",
        };
        orientation.AcceptOnlyFromAmong("refuse", "apply", "ignore");
        var baseline = new Option<bool>("--baseline") { Description = "first decode the source images alone on the same cores, and compare the conversion rate to it" };

        var mode = CodingModes.Option();
        var command = new Command("convert", "convert images into a sharded L3 dataset (resumable; --part for several machines)")
        {
            source, destination, jobs, shardSize, patch, mode, part, strict, quiet, finalize, baseline, firstFrame, convertCmyk, orientation,
        };
        command.SetAction(r => Guard(() =>
        {
            if (r.GetValue(finalize))
            {
                string dst = (r.GetValue(destination) ?? r.GetValue(source))
                             ?? throw new UsageException("--finalize needs the dataset folder");
                if (r.GetValue(destination) is not null && r.GetValue(source) is not null)
                    throw new UsageException("--finalize takes only the dataset folder");
                return Finalize(dst);
            }
            string src = r.GetValue(source) ?? throw new UsageException("convert needs SOURCE and DESTINATION");
            string dest = r.GetValue(destination) ?? throw new UsageException("convert needs SOURCE and DESTINATION");
            int n = r.GetValue(patch);
            if (!L3Header.IsValidPatchSize(n)) throw new UsageException($"--patch {n} is not 8, 16, 32 or 64");
            if (r.GetValue(jobs) < 1) throw new UsageException("--jobs must be at least 1");
            var (partIndex, parts) = ParsePart(r.GetValue(part)!);
            ShardSize size;
            try { size = ShardSize.Parse(r.GetValue(shardSize)!); }
            catch (FormatException e) { throw new UsageException(e.Message); }
            DatasetConverter.CheckDestination(dest);

            var options = new ConvertOptions
            {
                ReadOptions = new ImageReadOptions
                {
                    FirstFrame = r.GetValue(firstFrame),
                    ConvertCmyk = r.GetValue(convertCmyk),
                    Orientation = Enum.Parse<OrientationHandling>(r.GetValue(orientation)!, ignoreCase: true),
                },
                PatchSize = n, Mode = CodingModes.Parse(r.GetValue(mode)), ShardSize = size, Jobs = r.GetValue(jobs), Part = partIndex, Parts = parts, Strict = r.GetValue(strict),
            };
            using var images = ImageSource.Open(src);
            if (images.Items.Count == 0) throw new IOException($"'{src}' holds no images ({string.Join(", ", ImageSource.ImageExtensions.Order())})");
            var decodeOnly = r.GetValue(baseline) ? MeasureBaseline(images, options, r.GetValue(quiet)) : null;
            var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var result = ConvertProgressView.Run(images, dest, options, r.GetValue(quiet));
            var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            return Summarize(result, partIndex, parts, decodeOnly, cpu);
        }));
        return command;
    }

    private static (int Part, int Parts) ParsePart(string text)
    {
        string[] fields = text.Split('/');
        if (fields.Length == 2 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out int i) && int.TryParse(fields[1], CultureInfo.InvariantCulture, out int n)
            && n >= 1 && i >= 0 && i < n)
            return (i, n);
        throw new UsageException($"--part {text}: expected i/n with 0 ≤ i < n (e.g. 0/4)");
    }

    /// <summary>The rate of reading and decoding the same sources alone, and its CPU time per image
    /// (on a busy machine the CPU time compares better than the wall-clock rate).</summary>
    private sealed record DecodeOnly(double ImagesPerSecond, double CpuSecondsPerImage);

    private static DecodeOnly MeasureBaseline(ImageSource images, ConvertOptions options, bool quiet)
    {
        var ordinals = DatasetConverter.OrdinalsOfPart(images, options.ShardSize, options.Part, options.Parts);
        var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var (count, bytes, elapsed) = DatasetConverter.MeasureDecodeOnly(images, ordinals, bytes => ImageFiles.Read(bytes, options.ReadOptions), options.Jobs);
        double cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double rate = count / elapsed.TotalSeconds;
        if (!quiet)
            Console.Error.WriteLine(FormattableString.Invariant(
                $"decode only: {count} images, {bytes / 1e6:F1} MB in {elapsed.TotalSeconds:F2} s: {rate:F1} images/s, {bytes / 1e6 / elapsed.TotalSeconds:F1} MB/s, {cpu / Math.Max(1, count) * 1000:F0} CPU ms/image ({options.Jobs} jobs)"));
        return new DecodeOnly(rate, cpu / Math.Max(1, count));
    }

    private static int Summarize(ConvertResult result, int part, int parts, DecodeOnly? baseline, TimeSpan cpu)
    {
        double seconds = Math.Max(result.Elapsed.TotalSeconds, 1e-9);
        string partText = parts > 1 ? $"part {part}/{parts}: " : "";
        string rate = result.ImagesConverted > 0
            ? FormattableString.Invariant($", {result.ImagesConverted / seconds:F1} images/s, {result.SourceBytesRead / 1e6 / seconds:F1} MB/s")
            : "";
        if (baseline is { } b && result.ImagesConverted > 0)
        {
            double cpuPerImage = cpu.TotalSeconds / result.ImagesConverted;
            rate += FormattableString.Invariant(
                $", {result.ImagesConverted / seconds / b.ImagesPerSecond:F2}× the decode-only rate; {cpuPerImage * 1000:F0} CPU ms/image, {b.CpuSecondsPerImage / cpuPerImage:F2}× decode-only's");
        }
        string skipped = result.ShardsAlreadyComplete > 0 ? $" ({result.ShardsAlreadyComplete} already complete)" : "";
        string state = result.Finalize.Finished
            ? $"dataset complete: {result.Finalize.Manifest!.Samples} samples in {result.ShardsInDataset} shards"
            : $"{result.Finalize.MissingShards} of {result.ShardsInDataset} shards still to come from other parts";
        string line = $"{partText}converted {result.ImagesConverted} images into {result.ShardsWritten} shards{skipped}{rate}; {state}";
        if (result.Failures.Count == 0)
        {
            Console.WriteLine(line);
            return 0;
        }
        Console.Error.WriteLine($"l3: {line}; {result.Failures.Count} images failed (see {result.FailureReport})");
        return 1;
    }

    private static int Finalize(string destination)
    {
        var finish = DatasetConverter.TryFinalize(destination);
        if (!finish.Finished)
            throw new DatasetException($"{destination}: {finish.MissingShards} shards are not complete yet; run their parts (again) first");
        Console.WriteLine($"dataset complete: {finish.Manifest!.Samples} samples in {finish.Manifest.Shards.Count} shards");
        if (finish.Failures.Count == 0) return 0;
        Console.Error.WriteLine($"l3: {finish.Failures.Count} images failed (see {Path.Combine(destination, DatasetLayout.FailureReportFile)})");
        return 1;
    }

    /// <summary>`l3 verify DATASET`: every shard checksum, every tar member, every sample decoded.</summary>
    public static int Verify(string directory, int jobs, bool quiet)
    {
        return Guard(() =>
        {
            using var dataset = L3Dataset.Open(directory);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = DatasetVerifier.Verify(dataset, jobs);
            foreach (var problem in report.Problems.Take(20)) Console.Error.WriteLine($"l3: {directory}: {problem}");
            if (!report.Ok)
            {
                Console.Error.WriteLine($"l3: {directory}: {report.Problems.Count} problems in {report.Shards} shards, {report.Samples} samples");
                return 1;
            }
            if (!quiet)
                Console.WriteLine(FormattableString.Invariant(
                    $"{directory}: ok ({report.Samples} samples, {report.Shards} shards, {report.Bytes / 1e6:F1} MB; every checksum and sample checked in {clock.Elapsed.TotalSeconds:F1} s)"));
            return 0;
        });
    }

    /// <summary>`l3 info DATASET`: counts, sizes, ratios, classes and shapes.</summary>
    public static int Info(string directory, bool json)
    {
        return Guard(() =>
        {
            using var dataset = L3Dataset.Open(directory);
            var m = dataset.Manifest;
            var fields = new Dictionary<string, object>
            {
                ["dataset"] = directory, ["samples"] = m.Samples, ["shards"] = m.Shards.Count, ["failures"] = m.Failures,
                ["classes"] = m.Classes.Count, ["unlabelled"] = m.Unlabelled,
                ["channels"] = string.Join(" ", m.ChannelCounts.OrderBy(p => p.Key).Select(p => $"{p.Key}:{p.Value}")),
                ["shapes"] = m.Shapes.Count, ["patch_size"] = m.Settings.PatchSize, ["source"] = m.Settings.SourceKind,
                ["source_bytes"] = m.SourceBytes, ["l3_bytes"] = m.L3Bytes, ["dataset_bytes"] = m.Shards.Sum(s => s.TarBytes + s.IndexBytes),
                ["decoded_bytes"] = m.DecodedBytes,
                ["ratio_to_source"] = m.SourceBytes > 0 ? Math.Round((double)m.L3Bytes / m.SourceBytes, 4) : 0,
                ["compression"] = m.L3Bytes > 0 ? Math.Round((double)m.DecodedBytes / m.L3Bytes, 4) : 0,
                ["tool"] = m.Tool,
            };
            if (json)
            {
                fields["class_names"] = m.Classes;
                fields["label_counts"] = m.LabelCounts;
                Console.WriteLine(JsonSerializer.Serialize(fields));
                return 0;
            }
            foreach (var (key, value) in fields) Console.WriteLine($"{key,-15} {value}");
            foreach (var (name, count) in m.Classes.Zip(m.LabelCounts).Take(20)) Console.WriteLine($"  class {name}: {count}");
            if (m.Classes.Count > 20) Console.WriteLine($"  … {m.Classes.Count - 20} more classes");
            return 0;
        });
    }

    public static Command Extract()
    {
        var dataset = new Argument<string>("dataset") { Description = "an L3 dataset folder" };
        var output = new Argument<string>("output") { Description = "the folder to write PNG files into (the source paths, as .png)" };
        var jobs = JobsOption();
        var force = new Option<bool>("--force") { Description = "overwrite existing files" };
        var command = new Command("extract", "write every sample of a dataset back as a PNG file (to check losslessness with other tools)")
            { dataset, output, jobs, force };
        command.SetAction(r => Guard(() =>
        {
            using var data = L3Dataset.Open(r.GetValue(dataset)!);
            string outputDirectory = r.GetValue(output)!;
            var targets = ExtractNames(data);
            bool overwrite = r.GetValue(force);
            foreach (var target in targets) OutputFile.CheckWritable(Path.Combine(outputDirectory, target), overwrite);
            Parallel.For(0L, data.Count, new ParallelOptions { MaxDegreeOfParallelism = r.GetValue(jobs) }, i =>
            {
                var image = L3Codec.Decode(data.ReadSample(i));
                string path = Path.Combine(outputDirectory, targets[(int)i]);
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                OutputFile.Write(path, ImageFiles.EncodePng(image, level: 1), overwrite);
            });
            Console.WriteLine($"extracted {data.Count} samples to {outputDirectory}");
            return 0;
        }));
        return command;
    }

    /// <summary>Each sample's source path with .png for its extension; a name taken by an earlier
    /// sample (a.jpg and a.png) gets the sample's key added.</summary>
    private static List<string> ExtractNames(L3Dataset dataset)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var names = new List<string>();
        for (long i = 0; i < dataset.Count; i++)
        {
            string source = dataset.GetSource(i).Replace('\\', '/');
            // a source path is data: it may not climb out of the output folder
            if (source.Length == 0 || Path.IsPathRooted(source) || source.Split('/').Any(p => p is ".." or "." or ""))
                source = Path.GetFileName(source) is { Length: > 0 } file && file is not (".." or ".") ? file : dataset.Locate(i).Entry.Key;
            string name = Path.ChangeExtension(source, ".png");
            if (!taken.Add(name))
            {
                name = Path.ChangeExtension(source, "." + dataset.Locate(i).Entry.Key + ".png");
                taken.Add(name);
            }
            names.Add(name.Replace('/', Path.DirectorySeparatorChar));
        }
        return names;
    }

    /// <summary>Maps failures to exit codes and one-line messages, as every `l3` command does.</summary>
    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (UsageException e) { Console.Error.WriteLine("l3: " + e.Message); return 2; }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("l3: interrupted; completed shards are kept: run the same command again to resume");
            return 1;
        }
        catch (Exception e) when (e is L3FormatException or DatasetException or ImageFileException or OutputFile.ExistsException
                                       or IOException or UnauthorizedAccessException or ArgumentException or FormatException or InvalidDataException)
        {
            Console.Error.WriteLine("l3: " + e.Message.ReplaceLineEndings(" "));
            return 1;
        }
    }

    /// <summary>Ctrl-C and SIGTERM (a scheduler's preemption) stop a conversion cleanly.</summary>
    public static CancellationTokenSource CancelOnSignals(out IDisposable registrations)
    {
        var cancel = new CancellationTokenSource();
        var handlers = new List<PosixSignalRegistration>();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            handlers.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                cancel.Cancel();
            }));
        registrations = new Registrations(handlers);
        return cancel;
    }

    private sealed class Registrations(List<PosixSignalRegistration> handlers) : IDisposable
    {
        public void Dispose() => handlers.ForEach(h => h.Dispose());
    }
}
