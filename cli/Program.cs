using System.CommandLine;
using System.Text.Json;
using L3;
using L3.Cli;
using L3.Cli.Commands;
using L3.Datasets;
using L3.Imaging;

// `l3`: exit 0 on success, 1 on bad input or failure (one line on stderr), 2 on wrong usage.
var root = new RootCommand("L3: a lossless image format that decodes on GPUs and SIMD CPUs at memory speed");

var force = new Option<bool>("--force") { Description = "replace an existing output (a regular file only, never an input)" };
var patch = new Option<int>("--patch") { Description = "patch size N: 8, 16, 32 or 64", DefaultValueFactory = _ => L3EncodeOptions.Default.PatchSize };
var mode = CodingModes.Option();
var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
var gpu = new Option<bool>("--gpu") { Description = "use the GPU codec (CUDA through ILGPU; ILGPU's CPU accelerator when no GPU is present)" };

var encodeIn = new Argument<string>("input") { Description = "PNG, JPEG, BMP, GIF, WebP or netpbm (PGM, PPM, PAM) image; - for standard input" };
var encodeOut = new Argument<string>("output") { Description = "the L3 file to write; - for standard output" };
// what cannot be stored exactly is refused; these ask for a conversion, which is then reported on stderr
var firstFrame = new Option<bool>("--first-frame") { Description = "of an animated GIF, WebP or PNG, encode the first frame" };
var convertCmyk = new Option<bool>("--convert-cmyk") { Description = "convert a CMYK JPEG to RGB" };
var applyOrientation = new Option<bool>("--apply-orientation") { Description = "rotate or flip the pixels to the image's EXIF orientation" };
var ignoreOrientation = new Option<bool>("--ignore-orientation") { Description = "keep the pixels as stored and drop the EXIF orientation" };
var encodeJobs = DatasetCommands.JobsOption();
var encode = new Command("encode", "encode an image as L3 (a folder of images: into a folder, on all cores)")
{
    encodeIn, encodeOut, patch, mode, force, gpu, firstFrame, convertCmyk, applyOrientation, ignoreOrientation, encodeJobs,
};
encode.SetAction(r => Directory.Exists(r.GetValue(encodeIn)) ? EncodeFolder(r) : Run(() =>
{
    string input = r.GetValue(encodeIn)!, output = r.GetValue(encodeOut)!;
    OutputFile.CheckWritable(output, r.GetValue(force), input);
    int n = r.GetValue(patch);
    if (!L3Header.IsValidPatchSize(n)) throw new UsageException($"--patch {n} is not 8, 16, 32 or 64");
    if (r.GetValue(applyOrientation) && r.GetValue(ignoreOrientation))
        throw new UsageException("--apply-orientation and --ignore-orientation exclude each other");
    var options = new ImageReadOptions
    {
        FirstFrame = r.GetValue(firstFrame),
        ConvertCmyk = r.GetValue(convertCmyk),
        Orientation = r.GetValue(applyOrientation) ? OrientationHandling.Apply
            : r.GetValue(ignoreOrientation) ? OrientationHandling.Ignore : OrientationHandling.Refuse,
    };
    // a path is read by the image library (regular files only, declared size checked first);
    // standard input is read here, bounded, then handed over
    var read = InputFile.IsStandardStream(input)
        ? ImageFiles.ReadWithNotes(InputFile.ReadImage(input), options)
        : ImageFiles.ReadWithNotes(input, options);
    foreach (string note in read.Notes) Console.Error.WriteLine($"l3: note: {note}");
    var image = read.Image;
    byte[] file;
    var codingMode = CodingModes.Parse(r.GetValue(mode));
    if (r.GetValue(gpu))
    {
        if (codingMode != L3CodingMode.Rows) throw new UsageException("--gpu encodes --mode rows only");
        using var codec = GpuCodecs.Open();
        file = codec.Encode([image], n)[0];
    }
    else file = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = n, Mode = codingMode });
    OutputFile.Write(output, file, r.GetValue(force), input);
}));
root.Subcommands.Add(encode);

int EncodeFolder(ParseResult r)
{
    int exit = 0;
    int code = Run(() =>
    {
        if (r.GetValue(applyOrientation) && r.GetValue(ignoreOrientation))
            throw new UsageException("--apply-orientation and --ignore-orientation exclude each other");
        exit = BatchCommands.EncodeTree(r.GetValue(encodeIn)!, r.GetValue(encodeOut)!, r.GetValue(patch), CodingModes.Parse(r.GetValue(mode)), r.GetValue(force), r.GetValue(encodeJobs),
            new ImageReadOptions
            {
                FirstFrame = r.GetValue(firstFrame),
                ConvertCmyk = r.GetValue(convertCmyk),
                Orientation = r.GetValue(applyOrientation) ? OrientationHandling.Apply
                    : r.GetValue(ignoreOrientation) ? OrientationHandling.Ignore : OrientationHandling.Refuse,
            });
    });
    return Math.Max(code, exit);
}

var decodeIn = new Argument<string>("input") { Description = "the L3 file to read; - for standard input" };
var decodeOut = new Argument<string>("output") { Description = "the image to write: .png, or .pgm/.ppm/.pam/.pnm; - for PNG on standard output" };
var decode = new Command("decode", "decode an L3 file to PNG or netpbm") { decodeIn, decodeOut, force, gpu };
decode.SetAction(r => Run(() =>
{
    string input = r.GetValue(decodeIn)!, output = r.GetValue(decodeOut)!;
    OutputFile.CheckWritable(output, r.GetValue(force), input);
    byte[] bytes = InputFile.ReadL3(input);
    L3Image image;
    if (r.GetValue(gpu))
    {
        using var codec = GpuCodecs.Open();
        image = codec.Decode(bytes);
    }
    else image = L3Codec.Decode(bytes);
    var encoded = OutputFile.IsStandardStream(output) ? ImageFiles.EncodePng(image) : ImageFiles.EncodeFor(output, image);
    OutputFile.Write(output, encoded, r.GetValue(force), input);
}));
root.Subcommands.Add(decode);

var infoIn = new Argument<string[]>("files") { Description = "L3 files (only their header and table are read) or dataset folders; - for standard input", Arity = ArgumentArity.OneOrMore };
var info = new Command("info", "print an L3 file's header, or a dataset's counts and sizes") { infoIn, json };
info.SetAction(r => r.GetValue(infoIn)!.Select(path => L3Dataset.IsDataset(path) ? DatasetCommands.Info(path, r.GetValue(json)) : Run(() =>
{
    var header = InputFile.ReadL3Header(path);
    var fields = new Dictionary<string, object>
    {
        ["file"] = path, ["version"] = header.Version, ["mode"] = CodingModes.Name(header.Mode),
        ["width"] = header.Width, ["height"] = header.Height, ["channels"] = header.Channels,
        ["patch_size"] = header.PatchSize, ["patches"] = header.PatchCount, ["file_bytes"] = header.FileLength,
        ["raw_bytes"] = header.DecodedBytes, ["ratio"] = Math.Round((double)header.DecodedBytes / header.FileLength, 4),
    };
    if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(fields));
    else foreach (var (key, value) in fields) Console.WriteLine($"{key,-11} {value}");
}, path)).ToList().Max());
root.Subcommands.Add(info);

var verifyIn = new Argument<string[]>("files") { Description = "L3 files or dataset folders (a folder: every .l3 below it); - for standard input", Arity = ArgumentArity.OneOrMore };
var verifyJobs = DatasetCommands.JobsOption();
var verify = new Command("verify", "check checksums and decode each file fully (a dataset: every shard and sample)") { verifyIn, verifyJobs };
verify.SetAction(r =>
{
    int exit = 0;
    var files = new List<string>();
    foreach (string path in r.GetValue(verifyIn)!)
    {
        if (L3Dataset.IsDataset(path)) exit = Math.Max(exit, DatasetCommands.Verify(path, r.GetValue(verifyJobs), quiet: false));
        else if (Directory.Exists(path))
        {
            var below = BatchCommands.Expand([path], BatchCommands.L3Extensions); // every .l3 below it
            if (below.Count == 0) exit = Math.Max(exit, Run(() => throw new IOException("is a directory with no .l3 file below it"), path));
            files.AddRange(below);
        }
        else exit = Math.Max(exit, Run(() =>
        {
            var header = L3Codec.Verify(InputFile.ReadL3(path));
            Console.WriteLine($"{path}: ok ({header.Width}x{header.Height}x{header.Channels}, N={header.PatchSize}, {CodingModes.Name(header.Mode)})");
        }, path));
    }
    if (files.Count > 0) exit = Math.Max(exit, BatchCommands.VerifyFiles(files, r.GetValue(verifyJobs)));
    return exit;
});
root.Subcommands.Add(verify);

var benchIn = new Argument<string[]>("images") { Description = "images to measure", Arity = ArgumentArity.OneOrMore };
var runs = new Option<int>("--runs") { Description = "timed runs per image (the median is kept)", DefaultValueFactory = _ => 5 };
var benchMode = new Option<string>("--mode") { Description = "coding mode to measure: rows, dense or both (each image in both, side by side)", DefaultValueFactory = _ => "both" };
var bench = new Command("bench", "measure size vs PNG-6 and one-thread speed, with QOI timed in the same run (--gpu: GPU kernel speed)") { benchIn, patch, benchMode, runs, json, gpu };
bench.SetAction(r => Run(() =>
{
    if (r.GetValue(gpu))
    {
        var gpuResults = GpuImageBench.Measure(r.GetValue(benchIn)!, r.GetValue(patch), r.GetValue(runs));
        if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(gpuResults, new JsonSerializerOptions { WriteIndented = true }));
        else GpuImageBench.PrintTable(Console.Out, gpuResults);
        if (gpuResults.Any(x => !x.BitExact)) throw new L3FormatException("a GPU round trip was not bit-exact");
        return;
    }
    // a folder stands for the images below it; each image is printed as it is measured, and one
    // that cannot be read is named and skipped
    var paths = BatchCommands.Expand(r.GetValue(benchIn)!, L3.Datasets.ImageSource.ImageExtensions);
    L3CodingMode[] benchModes = r.GetValue(benchMode) == "both" ? [L3CodingMode.Rows, L3CodingMode.Dense] : [CodingModes.Parse(r.GetValue(benchMode))];
    var results = new List<BenchResult>();
    int unreadable = 0;
    if (!r.GetValue(json)) ImageBench.PrintHeader(Console.Out);
    foreach (string path in paths)
    {
        int measured = results.Count;
        try
        {
            var image = ImageFiles.Read(path);
            long png = ImageFiles.EncodePng(image).Length;
            foreach (var codingMode in benchModes)
                results.Add(ImageBench.Measure(path, image, png, r.GetValue(patch), r.GetValue(runs), codingMode));
        }
        catch (Exception e) when (e is ImageFileException or L3FormatException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            unreadable++;
            Console.Error.WriteLine($"l3: {path}: {e.Message.ReplaceLineEndings(" ")}");
            results.RemoveRange(measured, results.Count - measured);
            continue;
        }
        if (!r.GetValue(json)) foreach (var result in results.Skip(measured)) ImageBench.PrintRow(Console.Out, result);
    }
    if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
    else if (results.Count > 0) ImageBench.PrintSummary(Console.Out, results);
    if (results.Any(x => !x.BitExact)) throw new L3FormatException("a round trip was not bit-exact");
    if (unreadable > 0) throw new IOException($"{unreadable} of {paths.Count} images could not be read (named above)");
}));
root.Subcommands.Add(bench);

var demo = new Command("demo", "encode, decode and check the images shipped in the repository");
demo.SetAction(_ => Run(() =>
{
    string dir = Demo.FindImages();
    var images = Directory.GetFiles(dir, "*.png").Order().ToList();
    Console.WriteLine($"L3 demo: {images.Count} real images from {Path.GetRelativePath(Environment.CurrentDirectory, dir)}, N = 64, one thread");
    var results = images.Select(p => ImageBench.Measure(p, 64, 3)).ToList();
    ImageBench.PrintTable(Console.Out, results);
    if (results.Any(x => !x.BitExact)) throw new L3FormatException("a round trip was not bit-exact");
    Console.WriteLine("every image round-tripped bit-exactly");
}));
root.Subcommands.Add(demo);
root.Subcommands.Add(DatasetCommands.Convert());
root.Subcommands.Add(DatasetCommands.Extract());
root.Subcommands.Add(LoaderBenchCommand.Create());

// a bare `l3` shows what it can do
root.SetAction(_ => root.Parse(["--help"]).Invoke());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"l3: {error.Message}");
    return 2;
}
return parse.Invoke();

static int Run(Action action, string? subject = null)
{
    string prefix = subject is null ? "l3: " : $"l3: {subject}: ";
    try
    {
        action();
        return 0;
    }
    catch (UsageException e) { Console.Error.WriteLine(prefix + e.Message); return 2; }
    catch (Exception e) when (e is L3FormatException or ImageFileException or OutputFile.ExistsException
                                   or IOException or UnauthorizedAccessException or ArgumentException)
    {
        Console.Error.WriteLine(prefix + e.Message.ReplaceLineEndings(" "));
        return 1;
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"{prefix}unexpected {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        return 1;
    }
}

sealed class UsageException(string message) : Exception(message);

static class Demo
{
    /// <summary>The repository's tests/data, found from the current directory upwards.</summary>
    public static string FindImages()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "data");
            if (File.Exists(Path.Combine(dir.FullName, "L3.Gen.sln")) && Directory.Exists(candidate)) return candidate;
        }
        throw new IOException("the demo images (tests/data) were not found; run the demo from inside the repository");
    }
}
