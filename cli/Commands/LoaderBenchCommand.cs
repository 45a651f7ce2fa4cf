using System.CommandLine;
using System.Diagnostics;
using L3.Datasets;
using L3.Imaging;
using L3.Loading;

namespace L3.Cli.Commands;

/// <summary>
/// `l3 loader-bench DATASET`: runs the training loader (docs/LOADER.md) over a dataset or a folder
/// of .l3 files as a training job would, and prints images/s, GB/s, time per batch, CPU cores busy
/// and, with --check, whether every output entry equals the CPU reference (AugmentReference).
/// Exit codes as every command: 0 success, 1 bad input or a failed check (one line on stderr), 2 wrong usage.
/// </summary>
internal static class LoaderBenchCommand
{
    public static Command Create()
    {
        var dataset = new Argument<string>("dataset") { Description = "a dataset folder (l3 convert), or a folder of .l3 files" };
        var batch = new Option<int>("--batch", "-b") { Description = "samples a batch", DefaultValueFactory = _ => 64 };
        var size = new Option<string>("--size") { Description = "output size: 224 or WIDTHxHEIGHT", DefaultValueFactory = _ => "224" };
        var dtype = new Option<string>("--dtype") { Description = "output element type", DefaultValueFactory = _ => "fp16" };
        dtype.AcceptOnlyFromAmong("uint8", "fp16", "bf16", "fp32");
        var channelsLast = new Option<bool>("--channels-last") { Description = "NHWC instead of NCHW" };
        var full = new Option<bool>("--full") { Description = "whole images at their own size (every image of a batch the same size), no crop or flip" };
        var center = new Option<bool>("--center") { Description = "the validation centre crop instead of RandomResizedCrop + flip" };
        var gpu = new Option<bool>("--gpu") { Description = "run on the CUDA GPU (else, and without one, on ILGPU's CPU accelerator)" };
        var rank = new Option<int>("--rank") { Description = "this process's rank (0-based)", DefaultValueFactory = _ => 0 };
        var world = new Option<int>("--world") { Description = "ranks in all", DefaultValueFactory = _ => 1 };
        var epochs = new Option<int?>("--epochs") { Description = "epochs to run (default 1)" };
        var batches = new Option<int?>("--batches") { Description = "batches to run, instead of --epochs" };
        var readers = new Option<int>("--readers") { Description = "reader threads", DefaultValueFactory = _ => new LoaderOptions().Readers };
        var prefetch = new Option<int>("--prefetch") { Description = "batches prepared ahead", DefaultValueFactory = _ => new LoaderOptions().PrefetchDepth };
        var seed = new Option<ulong>("--seed") { Description = "shuffle and crop seed", DefaultValueFactory = _ => 1UL };
        var check = new Option<bool>("--check") { Description = "compare every output entry with the CPU reference (not timed)" };
        var generic = new Option<bool>("--generic") { Description = "use the generic fused kernels even where a registered profile matches" };

        var command = new Command("loader-bench", "run the training loader over a dataset: images/s, GB/s, CPU cores busy (--check: outputs against the CPU reference)")
        {
            dataset, batch, size, dtype, channelsLast, full, center, gpu, rank, world, epochs, batches, readers, prefetch, seed, check, generic,
        };
        command.SetAction(r =>
        {
            try
            {
                var settings = new Settings(r.GetValue(dataset)!, r.GetValue(batch), r.GetValue(size)!, r.GetValue(dtype)!, r.GetValue(channelsLast),
                    r.GetValue(full), r.GetValue(center), r.GetValue(gpu), r.GetValue(rank), r.GetValue(world), r.GetValue(epochs), r.GetValue(batches),
                    r.GetValue(readers), r.GetValue(prefetch), r.GetValue(seed), r.GetValue(check), r.GetValue(generic));
                return Run(settings);
            }
            catch (UsageException e) { Console.Error.WriteLine("l3: loader-bench: " + e.Message); return 2; }
            catch (Exception e) when (e is L3FormatException or DatasetException or ImageFileException or IOException or UnauthorizedAccessException
                                           or ArgumentException or InvalidDataException or TimeoutException or InvalidOperationException)
            {
                Console.Error.WriteLine("l3: loader-bench: " + e.Message.ReplaceLineEndings(" "));
                return 1;
            }
            finally
            {
                LoaderProfiles.Enabled = true;
            }
        });
        return command;
    }

    private sealed record Settings(string Dataset, int Batch, string Size, string Dtype, bool ChannelsLast, bool Full, bool Center, bool Gpu,
        int Rank, int World, int? Epochs, int? Batches, int Readers, int Prefetch, ulong Seed, bool Check, bool Generic);

    private static int Run(Settings s)
    {
        if (s.Batch < 1) throw new UsageException("--batch must be at least 1");
        if (s.World < 1 || s.Rank < 0 || s.Rank >= s.World) throw new UsageException($"--rank {s.Rank} of --world {s.World}: expected 0 <= rank < world");
        if (s.Epochs is not null && s.Batches is not null) throw new UsageException("give --epochs or --batches, not both");
        if (s.Epochs is < 1 || s.Batches is < 1) throw new UsageException("--epochs and --batches must be at least 1");
        if (s.Readers < 1 || s.Prefetch < 1) throw new UsageException("--readers and --prefetch must be at least 1");
        if (s.Full && s.Center) throw new UsageException("give --full or --center, not both");
        var (width, height) = ParseSize(s.Size);
        var augment = new AugmentOptions
        {
            Crop = s.Full ? CropMode.Full : s.Center ? CropMode.Center : CropMode.RandomResized,
            RandomFlip = !s.Full && !s.Center,
            Width = width, Height = height,
            Type = s.Dtype switch { "uint8" => OutputType.UInt8, "fp32" => OutputType.Float32, "bf16" => OutputType.BFloat16, _ => OutputType.Float16 },
            Layout = s.ChannelsLast ? TensorLayout.ChannelsLast : TensorLayout.ChannelsFirst,
        };

        if (!Directory.Exists(s.Dataset)) throw new IOException($"{s.Dataset}: no such folder");
        using var data = L3Dataset.IsDataset(s.Dataset) ? L3Dataset.Open(s.Dataset) : null;
        using var source = data is not null ? SampleSource.FromDataset(data) : SampleSource.FromDirectory(s.Dataset);
        if (source.Count == 0) throw new IOException($"{s.Dataset}: no samples");

        LoaderProfiles.Enabled = !s.Generic;
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = s.Batch, Seed = s.Seed, Rank = s.Rank, WorldSize = s.World },
            Augment = augment, Readers = s.Readers, PrefetchDepth = s.Prefetch, ForceCpu = !s.Gpu, TimeDevice = true,
        });
        if (s.Gpu && loader.Accelerator.AcceleratorType != ILGPU.Runtime.AcceleratorType.Cuda) Console.Error.WriteLine(GpuCodecs.EmulatorNotice);
        long total = s.Batches ?? (long)(s.Epochs ?? 1) * loader.BatchesPerEpoch;
        Console.WriteLine($"loader-bench {s.Dataset}: {source.Count} samples, rank {s.Rank} of {s.World}, {loader.BatchesPerEpoch} batches of {s.Batch} an epoch, " +
                          $"{total} batches; {Describe(augment)} on {loader.Accelerator.Name}");

        // the first batch compiles the kernels: timed apart
        var process = Process.GetCurrentProcess();
        var clock = Stopwatch.StartNew();
        var checkClock = new Stopwatch();
        TimeSpan firstBatch = TimeSpan.Zero, cpu0 = process.TotalProcessorTime, checkCpu = TimeSpan.Zero;
        long compressed0 = 0, region0 = 0, images = 0, checkedEntries = 0;
        var timings0 = loader.Timings.Snapshot();
        var profileBatches = LoaderProfiles.All.ToDictionary(p => p, p => p.Batches);
        for (long b = 0; b < total; b++)
        {
            using var batch = loader.Next();
            if (b == 0)
            {
                firstBatch = clock.Elapsed;
                clock.Restart();
                process.Refresh();
                cpu0 = process.TotalProcessorTime;
                (compressed0, region0) = (loader.CompressedBytes, loader.RegionBytes);
                timings0 = loader.Timings.Snapshot();
            }
            else images += batch.Valid;
            if (s.Check)
            {
                checkClock.Start();
                process.Refresh();
                var before = process.TotalProcessorTime;
                checkedEntries += Check(batch, source, augment);
                process.Refresh();
                checkCpu += process.TotalProcessorTime - before;
                checkClock.Stop();
            }
        }
        double seconds = (clock.Elapsed - checkClock.Elapsed).TotalSeconds;
        process.Refresh();
        double cores = seconds > 0 ? (process.TotalProcessorTime - cpu0 - checkCpu).TotalSeconds / seconds : 0;
        var used = LoaderProfiles.All.Where(p => p.Batches > profileBatches.GetValueOrDefault(p)).Select(p => p.Name).ToList();

        Console.WriteLine($"kernels: {(used.Count > 0 ? "profile " + string.Join(", ", used) : "generic")}; first batch (kernel compilation) {firstBatch.TotalSeconds:F2} s");
        if (total > 1 && seconds > 0)
        {
            Console.WriteLine($"images/s: {images / seconds:F1}");
            Console.WriteLine($"source pixels decoded: {(loader.RegionBytes - region0) / seconds / 1e9:G3} GB/s (patches the crops touch); compressed read: {(loader.CompressedBytes - compressed0) / seconds / 1e9:G3} GB/s");
            var stages = loader.Timings.Since(timings0);
            Console.WriteLine($"time per batch: {seconds * 1000 / (total - 1):F2} ms" + (stages.DeviceDecodePerBatch > TimeSpan.Zero
                ? $"; on the GPU: tasks and decode {stages.DeviceDecodePerBatch.TotalMilliseconds:F2} ms, output stage {stages.DeviceOutputPerBatch.TotalMilliseconds:F2} ms, " +
                  $"upload {stages.DeviceUploadPerBatch.TotalMilliseconds:F2} ms (from the batch's start on its stream, waits for other batches' uploads included)"
                : " (GPU times: CUDA only)"));
            Console.WriteLine($"CPU cores busy: {cores:F2}");
            Console.WriteLine($"stages, {loader.Timings.Since(timings0)}");
        }
        else Console.WriteLine("images/s: n/a (one batch only: it compiles the kernels; give --batches 2 or more)");
        if (s.Check) Console.WriteLine($"check: passed, {checkedEntries} entries equal the CPU reference byte for byte");
        return 0;
    }

    /// <summary>Every valid entry of the batch against the reference on the CPU decode of its sample.</summary>
    private static long Check(L3DeviceBatch batch, SampleSource source, AugmentOptions augment)
    {
        var host = batch.CopyToHost();
        long count = 0;
        Parallel.For(0, batch.Valid, k =>
        {
            long sample = batch.Samples[k];
            var file = new byte[source.GetLength(sample)];
            source.Read(sample, 0, file);
            var expected = AugmentReference.Apply(L3Codec.Decode(file), batch.Crops[k], augment);
            if (!batch.Entry(host, k).SequenceEqual(expected))
                throw new InvalidDataException($"check failed: batch {batch.Index} of epoch {batch.Epoch}, entry {k} ({source.Describe(sample)}) differs from the CPU reference");
            Interlocked.Increment(ref count);
        });
        return count;
    }

    private static (int Width, int Height) ParseSize(string text)
    {
        var parts = text.Split('x');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, out int v) && v is >= 1 and <= 1 << 14))
            return (int.Parse(parts[0]), int.Parse(parts[^1]));
        throw new UsageException($"--size {text}: expected N or WIDTHxHEIGHT, 1..16384");
    }

    private static string Describe(AugmentOptions a) =>
        (a.Crop == CropMode.Full ? "full images" : $"{a.Crop} {a.Width}x{a.Height}{(a.RandomFlip ? " + flip" : "")}")
        + $", {a.Type}, {a.Layout}";
}
