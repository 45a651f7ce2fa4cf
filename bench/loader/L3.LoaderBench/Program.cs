using System.Diagnostics;
using L3;
using L3.Datasets;
using L3.Imaging;
using L3.Loading;
using ILGPU.Runtime.Cuda;

// L3 loader bench: see bench/loader/run.sh. Usage:
//   L3.LoaderBench PNG_DIR WORK_DIR [images=512] [batch=64] [batches=50] [readers=the loader's default]
// Before timing, every entry of the first epoch is checked against the CPU reference (L3_CHECK_BATCHES=k: k batches).
// L3_BENCH_SMALL=1: 256x128 images, to try it on ILGPU's CPU accelerator.
// L3_RANK=r L3_WORLD=w: one rank of w (one process a GPU): crops only, and the samples of this
// rank's first epoch written to WORK_DIR/rank-r-samples.txt, for the script to check disjointness.
// L3_SLOTS=s: device slots (the loader's default otherwise). L3_DATASET_ONLY=1: build the dataset and stop.
// L3_DENSE_PATCH=n: the patch size of the dense (coding mode 1) dataset timed beside the row-coded one
// (default 64; 0: no dense rows).
string pngDir = args.Length > 0 ? args[0] : "images";
string work = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "l3-loader-bench");
int imageCount = args.Length > 2 ? int.Parse(args[2]) : 512;
int batchSize = args.Length > 3 ? int.Parse(args[3]) : 64;
int timedBatches = args.Length > 4 ? int.Parse(args[4]) : 50;
int readers = args.Length > 5 ? int.Parse(args[5]) : new LoaderOptions().Readers;
bool small = Environment.GetEnvironmentVariable("L3_BENCH_SMALL") == "1";
int width = small ? 256 : 2048, height = small ? 128 : 1024;
int patchSize = int.Parse(Environment.GetEnvironmentVariable("L3_PATCH") ?? "16");
int rank = int.Parse(Environment.GetEnvironmentVariable("L3_RANK") ?? "0"), world = int.Parse(Environment.GetEnvironmentVariable("L3_WORLD") ?? "1");
int slots = int.Parse(Environment.GetEnvironmentVariable("L3_SLOTS") ?? new LoaderOptions().DeviceSlots.ToString());
int densePatchSize = int.Parse(Environment.GetEnvironmentVariable("L3_DENSE_PATCH") ?? "64");
Console.WriteLine($"L3 loader bench, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, readers {readers}, " +
                  $"{imageCount} images of {width}x{height} RGB, N = {patchSize} (dense rows: N = {densePatchSize}), batch {batchSize}");

// 1. the datasets: every PNG as RGB, tiled to width × height with a shift per copy, as PPM inputs,
// converted with row coding (mode 0) at N = L3_PATCH and, for the dense rows, with mode 1
string dataset = Dataset(patchSize, L3CodingMode.Rows);
string? denseDataset = world == 1 && densePatchSize > 0 ? Dataset(densePatchSize, L3CodingMode.Dense) : null;
string? inputsLeft = Path.Combine(work, "inputs");
if (Directory.Exists(inputsLeft)) Directory.Delete(inputsLeft, true);

string Dataset(int n, L3CodingMode mode)
{
    string path = Path.Combine(work, $"dataset-{width}x{height}-n{n}-{imageCount}" + (mode == L3CodingMode.Dense ? "-dense" : ""));
    if (File.Exists(Path.Combine(path, "dataset.json"))) return path;
    var clock = Stopwatch.StartNew();
    string inputs = Path.Combine(work, "inputs");
    if (!Directory.Exists(inputs) || Directory.GetFiles(inputs, "*.ppm", SearchOption.AllDirectories).Length != imageCount)
    {
        if (Directory.Exists(inputs)) Directory.Delete(inputs, true);
        var bases = Directory.GetFiles(pngDir, "*.png").Order(StringComparer.Ordinal).Select(p => ImageFiles.Read(p)).ToArray();
        if (bases.Length == 0) throw new InvalidOperationException($"no PNG in {pngDir}");
        Parallel.For(0, imageCount, i =>
        {
            var tile = Tile(bases[i % bases.Length], width, height, i * 131 % width, i * 71 % height);
            string file = Path.Combine(inputs, $"class{i % 10}", $"{i:D5}.ppm");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            ImageFiles.Write(file, tile);
        });
    }
    using (var source = ImageSource.Open(inputs))
        DatasetConverter.Convert(source, path, new ConvertOptions
        {
            DecodeImage = bytes => ImageFiles.Read(bytes), PatchSize = n, ShardSize = ShardSize.Parse("256MB"), Mode = mode,
        });
    Console.WriteLine($"dataset written in {clock.Elapsed.TotalSeconds:F1} s: {path}");
    return path;
}
if (Environment.GetEnvironmentVariable("L3_DATASET_ONLY") == "1") return;
using var rowData = L3Dataset.Open(dataset);
using var denseData = denseDataset is null ? null : L3Dataset.Open(denseDataset);
foreach (var (set, path) in new[] { (rowData, dataset), (denseData, denseDataset) })
{
    if (set is null) continue;
    Console.WriteLine($"dataset: {set.Count} samples, {set.Manifest.L3Bytes / 1e6:F0} MB of L3 ({(double)set.Manifest.L3Bytes / set.Manifest.DecodedBytes:F3} of raw), {path}");
    // warm the page cache: the target is a loader fed from files in memory
    foreach (var shard in set.Shards) File.ReadAllBytes(Path.Combine(path!, shard.Tar));
}
var data = rowData;
int dataPatchSize = patchSize;

var rows = new List<string>();
double lastCompressedGBs = 0;
if (world > 1)
{
    var rankCrops = new AugmentOptions { Width = 224, Height = 224, Type = OutputType.Float16 };
    Run($"rank {rank} of {world}: RandomResizedCrop 224, flip, normalize, fp16 NCHW", rankCrops, HostPath.Auto, samplesFile: Path.Combine(work, $"rank-{rank}-samples.txt"));
    Console.WriteLine();
    Console.WriteLine($"| output | images/s | ratio | compressed GB/s read | source GB/s (decoded regions) | ms per batch | device ms per batch: upload / tasks+decode / output | CPU cores busy | checked |");
    Console.WriteLine($"| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var row in rows) Console.WriteLine(row);
    return;
}
// the host→device copy rate of this machine, now: page-locked memory, and the dataset's own files
// mapped and registered as the loader maps them
double pageLockedGBs = double.NaN, mappedGBs = double.NaN;
using (var context = ILGPU.Context.Create(b => b.Cuda()))
    if (context.Devices.Any(d => d.AcceleratorType == ILGPU.Runtime.AcceleratorType.Cuda))
    {
        using var cuda = context.GetPreferredDevice(preferCPU: false).CreateAccelerator(context);
        using var files = SampleSource.FromDataset(rowData);
        (pageLockedGBs, mappedGBs) = TransferRate.Measure(cuda, files);
    }
Console.WriteLine($"host→device copies: page-locked {pageLockedGBs:F1} GB/s, mapped dataset files {mappedGBs:F1} GB/s");
// The same output with the generic fused kernels and with the profile's (Profiles.cs: the generator's
// DecodePatchList<Shape> and Augment<Output>), in the same run; the ratio is profile / generic.
var crops = new AugmentOptions { Width = 224, Height = 224, Type = OutputType.Float16 };
var full = new AugmentOptions { Crop = CropMode.Full, RandomFlip = false, Type = OutputType.Float16 };
double generic = Run("RandomResizedCrop 224, flip, normalize, fp16 NCHW: generic fused kernel", crops, HostPath.Auto, profiles: false);
Run("RandomResizedCrop 224, flip, normalize, fp16 NCHW: profile fused kernel", crops, HostPath.Auto, baseline: generic);
Run("the same, page-locked copies", crops, HostPath.PageLockedCopies);
double fullRate = Run("full images, normalize, fp16 NCHW", full, HostPath.Auto);
double fullCompressed = lastCompressedGBs;
Run($"the same, {slots + 1} device slots", full, HostPath.Auto, slotCount: slots + 1);
double fullCompressedMoreSlots = lastCompressedGBs;
double fullPinnedRate = Run("the same, page-locked copies", full, HostPath.PageLockedCopies);
Run("full images, uint8 NHWC", full with { Type = OutputType.UInt8, Layout = TensorLayout.ChannelsLast }, HostPath.Auto);
// the same outputs from the dense dataset (coding mode 1), in the same run: fewer bytes cross PCIe
double denseFullRate = double.NaN, denseFullCompressed = double.NaN, denseFullPinnedRate = double.NaN;
if (denseData is not null)
{
    data = denseData;
    dataPatchSize = densePatchSize;
    string mode = $"dense N = {densePatchSize}";
    Run($"{mode}: RandomResizedCrop 224, flip, normalize, fp16 NCHW", crops, HostPath.Auto);
    denseFullRate = Run($"{mode}: full images, normalize, fp16 NCHW", full, HostPath.Auto);
    denseFullCompressed = lastCompressedGBs;
    denseFullPinnedRate = Run($"{mode}: the same, page-locked copies", full, HostPath.PageLockedCopies);
    data = rowData;
    dataPatchSize = patchSize;
}
Console.WriteLine();
Console.WriteLine($"| output | images/s | ratio to generic | compressed GB/s read | source GB/s (decoded regions) | ms per batch | device ms per batch: upload / tasks+decode / output | CPU cores busy | checked |");
Console.WriteLine($"| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var row in rows) Console.WriteLine(row);
Console.WriteLine();
Console.WriteLine($"full fp16 images, compressed bytes a second against the host→device copy rate of this run: " +
                  $"{fullCompressed:F1} GB/s = {fullCompressed / pageLockedGBs:F2} of page-locked ({pageLockedGBs:F1} GB/s), {fullCompressed / mappedGBs:F2} of mapped files ({mappedGBs:F1} GB/s); " +
                  $"with {slots + 1} slots {fullCompressedMoreSlots:F1} GB/s = {fullCompressedMoreSlots / pageLockedGBs:F2} / {fullCompressedMoreSlots / mappedGBs:F2}");
if (denseData is not null)
    Console.WriteLine($"full fp16 images, dense (mode 1) against row coding (mode 0), this run: {denseFullRate:F1} / {fullRate:F1} images/s = {denseFullRate / fullRate:F2} " +
                      $"from the page cache (mapped), {denseFullPinnedRate:F1} / {fullPinnedRate:F1} = {denseFullPinnedRate / fullPinnedRate:F2} through page-locked copies; " +
                      $"dense compressed {denseFullCompressed:F1} GB/s = {denseFullCompressed / pageLockedGBs:F2} of page-locked");

double Run(string name, AugmentOptions augment, HostPath hostPath, bool profiles = true, double baseline = 0, int slotCount = 0, string? samplesFile = null)
{
    LoaderProfiles.Enabled = profiles;
    var (outputWidth, outputHeight) = augment.OutputSize(width, height);
    var profile = LoaderProfiles.Find([(dataPatchSize, 3)], augment, outputWidth, outputHeight);
    long profileBatches0 = profile?.Batches ?? 0;
    using var source = SampleSource.FromDataset(data);
    using var loader = new L3Loader(source, new LoaderOptions
    {
        Sampling = new SamplerOptions { BatchSize = batchSize, Seed = 1, LastBatch = LastBatchPolicy.Pad, Rank = rank, WorldSize = world },
        Augment = augment, Readers = readers, PrefetchDepth = 4, HostPath = hostPath, DeviceSlots = slotCount > 0 ? slotCount : slots, TimeDevice = true,
    });
    Console.WriteLine($"\n{name} on {loader.Accelerator.Name} ({loader.Accelerator.AcceleratorType}); {loader.HostPathUsed}; kernels: {profile?.Name ?? "generic"}");

    // every entry of the first epoch (every sample of this rank once) against the CPU reference
    int checkedEntries = 0;
    int checkBatches = int.Parse(Environment.GetEnvironmentVariable("L3_CHECK_BATCHES") ?? loader.BatchesPerEpoch.ToString());
    for (int b = 0; b < checkBatches; b++)
    {
        using var batch = loader.Next();
        var host = batch.CopyToHost();
        Parallel.For(0, batch.Count, k =>
        {
            var image = L3Codec.Decode(data.ReadSample(batch.Samples[k]));
            var expected = AugmentReference.Apply(image, batch.Crops[k], augment);
            if (!batch.Entry(host, k).SequenceEqual(expected))
                throw new InvalidOperationException($"{name}: batch {b} entry {k} (sample {batch.Samples[k]}) differs from the CPU reference");
            Interlocked.Increment(ref checkedEntries);
        });
    }
    Console.WriteLine($"  checked: {checkedEntries} entries equal the CPU reference byte for byte");
    if (samplesFile is not null)
    {
        // the rest of this rank's first epoch: every real entry's sample
        var seen = new List<long>();
        using (var fresh = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = batchSize, Seed = 1, LastBatch = LastBatchPolicy.Pad, Rank = rank, WorldSize = world },
            Augment = augment, Readers = readers,
        }, accelerator: loader.Accelerator))
            foreach (var batch in fresh.ReadEpoch())
                using (batch) seen.AddRange(batch.Samples.Take(batch.Valid));
        File.WriteAllLines(samplesFile, seen.Select(v => v.ToString()));
        Console.WriteLine($"  epoch 0 of rank {rank}: {seen.Count} samples ({seen.Distinct().Count()} distinct) written to {samplesFile}");
    }

    for (int i = 0; i < 3; i++) loader.Next().Dispose();   // warm-up
    var process = Process.GetCurrentProcess();
    long compressed0 = loader.CompressedBytes, region0 = loader.RegionBytes;
    var waited0 = loader.WaitedForBatches;
    var timings0 = loader.Timings.Snapshot();
    var cpu0 = process.TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < timedBatches; i++) loader.Next().Dispose();
    double seconds = clock.Elapsed.TotalSeconds;
    process.Refresh();
    double cores = (process.TotalProcessorTime - cpu0).TotalSeconds / seconds;
    double images = (double)timedBatches * batchSize / seconds;
    double compressedGBs = (loader.CompressedBytes - compressed0) / seconds / 1e9, regionGBs = (loader.RegionBytes - region0) / seconds / 1e9;
    double waited = (loader.WaitedForBatches - waited0).TotalSeconds / seconds;
    Console.WriteLine($"  {images:F1} images/s, {compressedGBs:F2} GB/s compressed read, {regionGBs:F2} GB/s decoded, {cores:F1} cores busy, " +
                      $"consumer waited {waited:P0} of the time");
    Console.WriteLine($"  {loader.Timings.Since(timings0)}");
    if (profile is not null && profile.Batches == profileBatches0)
        throw new InvalidOperationException($"{name}: the profile {profile.Name} matched but its kernels did not run");
    string ratio = baseline > 0 ? $"{images / baseline:F2}" : "";
    lastCompressedGBs = compressedGBs;
    var device = loader.Timings.Since(timings0);
    rows.Add($"| {name} | {images:F1} | {ratio} | {compressedGBs:F2} | {regionGBs:F2} | {seconds * 1000 / timedBatches:F1} | " +
             $"{device.DeviceUploadPerBatch.TotalMilliseconds:F2} / {device.DeviceDecodePerBatch.TotalMilliseconds:F2} / {device.DeviceOutputPerBatch.TotalMilliseconds:F2} | {cores:F1} | {checkedEntries} entries exact |");
    LoaderProfiles.Enabled = true;
    return images;
}

static L3Image Tile(L3Image image, int width, int height, int shiftX, int shiftY)
{
    var pixels = new byte[width * height * 3];
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            int sx = (x + shiftX) % image.Width, sy = (y + shiftY) % image.Height;
            int from = (sy * image.Width + sx) * image.Channels, to = (y * width + x) * 3;
            for (int c = 0; c < 3; c++) pixels[to + c] = image.Pixels[from + (image.Channels == 1 ? 0 : c)];
        }
    return new L3Image(width, height, 3, pixels);
}
