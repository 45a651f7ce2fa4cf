using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using L3;
using L3.Imaging;
using L3.Gpu;

// L3 GPU bench: see bench/gpu/run.sh. Prints a table last.
// --ptx DIR: only the dense kernels' PTX, no GPU needed (bench/gpu/ptxas.sh)
if (args is ["--ptx", var ptxDirectory]) return L3.GpuBench.PtxDump.Run(ptxDirectory);
string imageDir = args.Length > 0 ? args[0] : "images";
int[] batchSizes = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [1, 2, 4, 8, 16, 32, 64, 128, 256];
// L3_BENCH_SMALL=1: tiny images and buffers, to try the bench on the CPU accelerator
bool small = Environment.GetEnvironmentVariable("L3_BENCH_SMALL") == "1";
int Width = small ? 136 : 2048, Height = small ? 72 : 1024;
const int Channels = 3, N = 64;

int groupsPerSM = int.Parse(Environment.GetEnvironmentVariable("L3_DECODE_GROUPS_PER_SM") ?? "0");
using var codec = new L3GpuCodec(new L3GpuOptions { DecodeGroupsPerSM = groupsPerSM });
var acc = codec.Accelerator;
Console.WriteLine($"device: {codec.DeviceName} ({acc.AcceleratorType}), {acc.MemorySize / (1 << 20)} MiB, " +
    $"{acc.NumMultiprocessors} SMs, warp {acc.WarpSize}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

// L3_DENSE_HOSTILE=M: only the dense hostile set (valid extremes, crafted tables and streams, M
// resealed mutants) against the CPU codec, each file alone and the valid ones in one batch
// (bench/gpu/dense.sh runs it under compute-sanitizer memcheck)
if (int.TryParse(Environment.GetEnvironmentVariable("L3_DENSE_HOSTILE"), out int hostileMutants))
{
    var hostile = L3.Hostile.DenseHostileSet.All(hostileMutants);
    var (disagreements, decoded) = L3.Hostile.DenseGpuAgreement.Check(codec, hostile);
    foreach (var d in disagreements) Console.WriteLine("DISAGREE " + d);
    Console.WriteLine($"dense hostile set: {hostile.Count} files, {decoded} decoded by both codecs without the checksum " +
        $"(alone and in one batch), the rest refused by both; {disagreements.Count} disagreement(s)");
    return disagreements.Count == 0 ? 0 : 1;
}

// images: every PNG, as RGB, cropped or tiled to 2048x1024
var sw = Stopwatch.StartNew();
var names = Directory.GetFiles(imageDir, "*.png").Order().ToArray();
var raws = names.Select(p => Tile(ImageFiles.Read(p), Width, Height)).ToArray();
var files = raws.Select(r => L3Codec.Encode(r, new L3EncodeOptions { PatchSize = N, MaxDegreeOfParallelism = Environment.ProcessorCount })).ToArray();
for (int i = 0; i < files.Length; i++)
{
    if (!L3Codec.Decode(files[i]).Pixels.AsSpan().SequenceEqual(raws[i].Pixels)) throw new Exception("CPU round trip failed");
    Console.WriteLine($"  {Path.GetFileName(names[i]),-36} {files[i].Length,10:N0} bytes ({(double)files[i].Length / raws[i].Pixels.Length:F3} of raw)");
}
Console.WriteLine($"images ready in {sw.Elapsed.TotalSeconds:F1} s");
long imageBytes = (long)Width * Height * Channels;

// 0. every corpus image (gray, RGB, RGBA, own sizes) through every GPU path, checked; the
// directory is the third argument (bench/gpu/run.sh packs ../shared/corpus there)
bool corpusExact = args.Length <= 2 || CorpusCheck.Run(codec, args[2]);

// 1. device copy bandwidth (read + write), 1 GiB
double copyGBs;
{
    long words = small ? 1L << 20 : 1L << 28;
    using var a = acc.Allocate1D<uint>(words);
    using var b = acc.Allocate1D<uint>(words);
    a.MemSetToZero(); b.MemSetToZero();
    var times = new List<double>();
    for (int i = 0; i < 12; i++)
    {
        using var m0 = codec.ComputeStream.AddProfilingMarker();
        a.View.CopyTo(codec.ComputeStream, b.View);
        using var m1 = codec.ComputeStream.AddProfilingMarker();
        if (i >= 2) times.Add((m1 - m0).TotalSeconds);
    }
    copyGBs = 2.0 * words * 4 / Median(times) / 1e9;
    Console.WriteLine($"device copy: {copyGBs:F0} GB/s (read + write, 1 GiB, median of {times.Count})");
}

// L3_DENSE=1: only coding mode 1 against mode 0, same images, both kernels timed and checked
if (Environment.GetEnvironmentVariable("L3_DENSE") == "1")
{
    var (denseRows, denseExact) = L3.GpuBench.DenseKernelBench.Run(codec, raws, batchSizes, copyGBs, small);
    Console.WriteLine();
    Console.WriteLine($"L3 GPU bench, dense vs rows: {codec.DeviceName}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {names.Length} images {Width}x{Height} RGB, N = {N}; device copy {copyGBs:F0} GB/s");
    foreach (var row in denseRows) Console.WriteLine(row);
    Console.WriteLine(denseExact ? "every dense output bit-exact" : "MISMATCH");
    return denseExact ? 0 : 1;
}

// 2. host->device from page-locked memory, 512 MiB
double h2dGBs;
{
    long words = small ? 1L << 20 : 1L << 27;
    using var pinned = acc.AllocatePageLocked1D<uint>(words);
    using var dev = acc.Allocate1D<uint>(words);
    var times = new List<double>();
    for (int i = 0; i < 8; i++)
    {
        var t = Stopwatch.StartNew();
        dev.View.CopyFromPageLockedAsync(codec.CopyStream, pinned);
        codec.CopyStream.Synchronize();
        if (i >= 2) times.Add(t.Elapsed.TotalSeconds);
    }
    h2dGBs = words * 4 / Median(times) / 1e9;
    Console.WriteLine($"host->device page-locked: {h2dGBs:F1} GB/s (512 MiB, median of {times.Count})");
}

// 2b. launch-bound variants of the decode kernel, kernel time at one batch size
var variants = new List<string>();
if (!small && Environment.GetEnvironmentVariable("L3_VARIANTS") == "1")
{
    var vlist = Enumerable.Range(0, 64).Select(i => (ReadOnlyMemory<byte>)files[i % files.Length]).ToList();
    foreach (int v in new[] { 0, 5, 6, 7, 8 })
    {
        using var vc = new L3GpuCodec(new L3GpuOptions { DecodeGroupsPerSM = v });
        using var vb = vc.Prepare(vlist);
        vc.UploadAndWait(vb);
        vc.Launch(vb, 0);
        vc.ComputeStream.Synchronize();
        var vt = new List<double>();
        for (int i = 0; i < 30; i++)
        {
            using var m0 = vc.ComputeStream.AddProfilingMarker();
            vc.Launch(vb, 0);
            using var m1 = vc.ComputeStream.AddProfilingMarker();
            vt.Add((m1 - m0).TotalSeconds);
        }
        variants.Add($"decode kernel, 64 images, groups/SM bound {v,2}: {Median(vt) * 1e3:F3} ms, {imageBytes * 64 / Median(vt) / 1e9:F0} GB/s");
        Console.WriteLine(variants[^1]);
    }
}

// 3. decode: kernel time and end to end, per batch size, every output checked
var rows = new List<string>();
var host = new byte[imageBytes * batchSizes.Max() + 64];
bool allExact = true;
foreach (int batchSize in batchSizes)
{
    var list = Enumerable.Range(0, batchSize).Select(i => (ReadOnlyMemory<byte>)files[i % files.Length]).ToList();
    // host preparation (checks, XXH64, packing): first into a newly pinned buffer, then again
    // into the same buffer taken back from the codec's pool, as a loader's next batch would be
    var tp = Stopwatch.StartNew();
    codec.Prepare(list).Dispose();
    double prepareNew = tp.Elapsed.TotalSeconds;
    tp.Restart();
    using var batch = codec.Prepare(list);
    double prepare = tp.Elapsed.TotalSeconds;
    long raw = imageBytes * batchSize;

    codec.Upload(batch, 0);
    codec.CopyStream.Synchronize();
    // poison the output, decode once, check every image against the CPU decoder's output
    codec.Output(0).SubView(0, batch.OutputBytes).MemSet(codec.ComputeStream, 0xA5);
    codec.Launch(batch, 0);
    codec.ComputeStream.Synchronize();
    codec.Output(0).SubView(0, batch.OutputBytes).CopyToCPU(ref host[0], batch.OutputBytes);
    bool exact = true;
    for (int i = 0; i < batchSize; i++)
        exact &= host.AsSpan((int)batch.Images[i].OutputOffset, (int)imageBytes).SequenceEqual(raws[i % raws.Length].Pixels);
    allExact &= exact;

    int reps = small ? 2 : Math.Clamp(2048 / batchSize, 10, 200);
    var times = new List<double>();
    for (int i = 0; i < reps; i++)
    {
        using var m0 = codec.ComputeStream.AddProfilingMarker();
        codec.Launch(batch, 0);
        using var m1 = codec.ComputeStream.AddProfilingMarker();
        times.Add((m1 - m0).TotalSeconds);
    }
    double kernel = Median(times);

    // end to end: page-locked host batch -> device -> decoded, next copy overlapping this decode
    int passes = small ? 2 : Math.Clamp(512 / batchSize, 4, 64);
    codec.DecodeMany(Enumerable.Repeat(batch, 2));
    var te = Stopwatch.StartNew();
    codec.DecodeMany(Enumerable.Repeat(batch, passes));
    double e2e = te.Elapsed.TotalSeconds / passes;
    // the copy alone, same batch, same passes: what end to end is compared with
    codec.UploadAndWait(batch);
    var tc = Stopwatch.StartNew();
    for (int i = 0; i < passes; i++) codec.UploadAndWait(batch);
    double copyOnly = tc.Elapsed.TotalSeconds / passes;
    double h2dBatch = batch.PackedBytes / copyOnly / 1e9;

    double kernelGBs = raw / kernel / 1e9;
    double e2eIn = batch.PackedBytes / e2e / 1e9;
    rows.Add($"decode {batchSize,4} {raw / 1e6,9:F0} {batch.CompressedBytes / 1e6,8:F1} {kernel * 1e3,8:F3} {kernelGBs,8:F0} {kernelGBs / copyGBs,6:F3} " +
        $"{e2e * 1e3,8:F3} {e2eIn,7:F1} {e2eIn / h2dBatch,6:F3} {raw / e2e / 1e9,8:F1} {$"{prepareNew * 1e3:F0}/{prepare * 1e3:F0}",9} {(exact ? "yes" : "NO"),5}");
    Console.WriteLine(rows[^1]);
}

// 3b. planar (CHW) output, kernel time; the first images of the batch checked against the
// original pixels transposed
var planarRows = new List<string>();
var planarRefs = raws.Select(r => Planar(r.Pixels, Width * Height)).ToArray();
foreach (int batchSize in batchSizes.Where(b => b >= 64 || small))
{
    var list = Enumerable.Range(0, batchSize).Select(i => (ReadOnlyMemory<byte>)files[i % files.Length]).ToList();
    using var batch = codec.Prepare(list);
    codec.UploadAndWait(batch);
    codec.Output(0).SubView(0, batch.OutputBytes).MemSet(codec.ComputeStream, 0xA5);
    codec.Launch(batch, 0, L3PixelLayout.Planar);
    codec.ComputeStream.Synchronize();
    codec.Output(0).SubView(0, batch.OutputBytes).CopyToCPU(ref host[0], batch.OutputBytes);
    bool exact = true;
    for (int i = 0; i < Math.Min(batchSize, raws.Length); i++)
        exact &= host.AsSpan((int)batch.Images[i].OutputOffset, (int)imageBytes).SequenceEqual(planarRefs[i]);
    allExact &= exact;
    var times = new List<double>();
    for (int i = 0; i < (small ? 2 : Math.Clamp(2048 / batchSize, 10, 200)); i++)
    {
        using var m0 = codec.ComputeStream.AddProfilingMarker();
        codec.Launch(batch, 0, L3PixelLayout.Planar);
        using var m1 = codec.ComputeStream.AddProfilingMarker();
        times.Add((m1 - m0).TotalSeconds);
    }
    double kernelGBs = imageBytes * batchSize / Median(times) / 1e9;
    planarRows.Add($"planar {batchSize,4} {imageBytes * batchSize / 1e6,9:F0} {batch.CompressedBytes / 1e6,8:F1} {Median(times) * 1e3,8:F3} " +
        $"{kernelGBs,8:F0} {kernelGBs / copyGBs,6:F3}   (CHW output; first {Math.Min(batchSize, raws.Length)} images checked) {(exact ? "yes" : "NO"),5}");
    Console.WriteLine(planarRows[^1]);
}

// 3c. the kernel instantiated with the images' profile (every fact a constant) against the generic
// instantiation, same batch, alternating launches; both outputs checked first
var profileRows = new List<string>();
foreach (int batchSize in batchSizes.Where(b => b >= 16 || small))
{
    var r = small ? L3.GpuBench.ProfileKernelBench.Run<L3.GpuBench.Bench136x72.Shape>(codec, raws, files, batchSize, small)
        : L3.GpuBench.ProfileKernelBench.Run<L3.GpuBench.Bench2048x1024.Shape>(codec, raws, files, batchSize, small);
    allExact &= r.Exact;
    profileRows.Add(r.Row);
    Console.WriteLine(r.Row);
}

// 4. encode on the GPU: byte-identical to the CPU encoder
var encodeRows = new List<string>();
foreach (int batchSize in batchSizes.Where(b => b >= 1))
{
    var r = GpuEncodeBench.Run(codec, raws, files, batchSize, copyGBs, small);
    if (r is null) break;
    allExact &= r.Value.Exact;
    encodeRows.Add(r.Value.Row);
    Console.WriteLine(r.Value.Row);
}

Console.WriteLine();
Console.WriteLine($"L3 GPU bench: {codec.DeviceName}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {names.Length} images {Width}x{Height} RGB, N = {N}");
Console.WriteLine($"device copy {copyGBs:F0} GB/s (read+write); host->device page-locked {h2dGBs:F1} GB/s");
Console.WriteLine("what   batch   raw MB  comp MB kern ms  kern GB/s /copy   e2e ms  in GB/s /h2d  out GB/s  prep ms exact");
Console.WriteLine("  (decode: kern GB/s = decoded bytes / kernel time; e2e = page-locked host -> device -> decoded, next copy");
Console.WriteLine("   overlapping this decode; in GB/s = compressed bytes copied / e2e time; encode: kern GB/s = input pixel");
Console.WriteLine("   bytes / time of the 3 encode launches, e2e ms column = host copy-back + header + XXH64 of the batch;");
Console.WriteLine("   /h2d = end-to-end input rate over the same batch's page-locked copy alone, timed in the same run;");
Console.WriteLine("   prep ms = host checks + packing, into a newly pinned buffer / into a pooled one)");
foreach (var row in rows) Console.WriteLine(row);
foreach (var row in planarRows) Console.WriteLine(row);
foreach (var row in profileRows) Console.WriteLine(row);
foreach (var row in encodeRows) Console.WriteLine(row);
foreach (var v in variants) Console.WriteLine(v);
allExact &= corpusExact;
if (args.Length > 2) Console.WriteLine(corpusExact ? "corpus (all channel counts and patch sizes): bit-exact" : "corpus: MISMATCH");
Console.WriteLine(allExact ? "every output bit-exact against the CPU codec" : "MISMATCH against the CPU codec");
return allExact ? 0 : 1;

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

static byte[] Planar(byte[] interleaved, int pixels)
{
    var planar = new byte[interleaved.Length];
    for (int p = 0; p < pixels; p++)
        for (int c = 0; c < 3; c++) planar[c * pixels + p] = interleaved[p * 3 + c];
    return planar;
}

static L3Image Tile(L3Image image, int W, int H)
{
    var pixels = new byte[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
        {
            int sx = x % image.Width, sy = y % image.Height;
            int s = (sy * image.Width + sx) * image.Channels, d = (y * W + x) * 3;
            for (int c = 0; c < 3; c++) pixels[d + c] = image.Pixels[s + (image.Channels == 1 ? 0 : c)];
        }
    return new L3Image(W, H, 3, pixels);
}
