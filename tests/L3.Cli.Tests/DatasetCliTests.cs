using System.Diagnostics;
using System.Text.Json;
using L3.TestSupport;
using Png = L3.Imaging.ImageFiles;

namespace L3.Cli.Tests;

/// <summary>`l3 convert`, `verify`, `info` and `extract` run as a user runs them: separate
/// processes (killed with SIGKILL, several parts at once), real PNG files, exit codes.</summary>
public sealed class DatasetCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-datasets-cli-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string PathOf(string name) => Path.Combine(_dir, name);

    private static ProcessStartInfo StartInfo(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "l3.dll")); // the referenced CLI, copied next to the tests
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    private static (int Exit, string Out, string Err) L3(params string[] args)
    {
        using var process = Process.Start(StartInfo(args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(300_000)) { process.Kill(); throw new TimeoutException("l3 hung"); }
        return (process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>A tree of real PNG files (gray, RGB, RGBA) in three class folders, and bad files:
    /// a truncated PNG, a 16-bit netpbm image and a text file named .png.</summary>
    private Dictionary<string, L3Image> MakePngTree(string root, int count, int size = 48)
    {
        var images = new Dictionary<string, L3Image>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            int channels = new[] { 1, 3, 4 }[i % 3];
            int width = size + i % 5, height = size - i % 3;
            var image = new L3Image(width, height, channels, TestTrees.Pixels(width, height, channels, i));
            string name = $"{(char)('a' + i % 3)}-class/{i:D3}.png";
            TestTrees.Write(root, name, Png.EncodePng(image));
            images[name] = image;
        }
        return images;
    }

    private void AddBadFiles(string root)
    {
        var good = Png.EncodePng(new L3Image(40, 40, 3, TestTrees.Pixels(40, 40, 3, 99)));
        TestTrees.Write(root, "a-class/bad-truncated.png", good[..(good.Length / 2)]);
        TestTrees.Write(root, "b-class/bad-16bit.png", CraftedFiles.Png(2, 2, colorType: 0, bitDepth: 16, new byte[2 * 2 * 2]));
        TestTrees.Write(root, "c-class/bad-text.png", "not a png"u8.ToArray());
    }

    [Fact]
    public void Convert_verify_info_extract_with_bad_files_mixed_in()
    {
        var images = MakePngTree(PathOf("src"), 12);
        AddBadFiles(PathOf("src"));

        var run = L3("convert", PathOf("src"), PathOf("ds"), "--shard-size", "5", "--jobs", "2");
        Assert.Equal(1, run.Exit);
        var summary = Assert.Single(run.Err.Trim().Split('\n'));
        Assert.Contains("converted 12 images into 3 shards", summary);
        Assert.Contains("3 images failed", summary);
        Assert.DoesNotContain("   at ", run.Err);
        string report = File.ReadAllText(PathOf("ds/failures.txt"));
        foreach (var bad in new[] { "a-class/bad-truncated.png", "b-class/bad-16bit.png", "c-class/bad-text.png" })
            Assert.Contains(bad, report);

        Assert.Equal(0, L3("verify", PathOf("ds")).Exit);
        var info = L3("info", PathOf("ds"), "--json");
        Assert.Equal(0, info.Exit);
        using (var json = JsonDocument.Parse(info.Out))
        {
            Assert.Equal(12, json.RootElement.GetProperty("samples").GetInt64());
            Assert.Equal(3, json.RootElement.GetProperty("failures").GetInt64());
        }

        Assert.Equal(0, L3("extract", PathOf("ds"), PathOf("out")).Exit);
        foreach (var (name, image) in images)
        {
            var back = Png.Read(PathOf("out/" + name));
            Assert.Equal((image.Width, image.Height, image.Channels), (back.Width, back.Height, back.Channels));
            Assert.True(image.Pixels.AsSpan().SequenceEqual(back.Pixels), name);
        }
        Assert.Equal(12, Directory.GetFiles(PathOf("out"), "*.png", SearchOption.AllDirectories).Length);
        Assert.Equal(1, L3("extract", PathOf("ds"), PathOf("out")).Exit); // outputs exist: --force needed
        Assert.Equal(1, L3("convert", PathOf("src"), PathOf("out")).Exit); // not a dataset folder: refused

        // --strict stops at the first bad file
        var strict = L3("convert", PathOf("src"), PathOf("strict"), "--strict", "--shard-size", "5");
        Assert.Equal(1, strict.Exit);
        Assert.Contains("bad-truncated.png", strict.Err);
        Assert.False(File.Exists(PathOf("strict/dataset.json")));
    }

    [Fact]
    public void Parts_run_as_separate_processes_at_once_give_the_dataset_of_one_run()
    {
        MakePngTree(PathOf("src"), 20, size: 24);
        AddBadFiles(PathOf("src"));
        Assert.Equal(1, L3("convert", PathOf("src"), PathOf("one"), "--shard-size", "2", "--jobs", "2").Exit);

        var processes = Enumerable.Range(0, 3).Select(part =>
            Process.Start(StartInfo(["convert", PathOf("src"), PathOf("parts"), "--shard-size", "2", "--jobs", "1", "--part", $"{part}/3"]))!).ToList();
        var errors = new List<string>();
        foreach (var p in processes)
        {
            p.StandardOutput.ReadToEnd();
            errors.Add(p.StandardError.ReadToEnd());
            Assert.True(p.WaitForExit(300_000));
        }
        Assert.True(File.Exists(PathOf("parts/dataset.json")), "no part finished the dataset:\n" + string.Join("\n", errors));
        TestTrees.AssertSameFiles(PathOf("one"), PathOf("parts"));
        Assert.Equal(0, L3("verify", PathOf("parts")).Exit);
    }

    [Fact]
    public void A_conversion_killed_with_SIGKILL_resumes_to_the_same_bytes()
    {
        MakePngTree(PathOf("src"), 40, size: 160);
        AddBadFiles(PathOf("src"));
        string[] options = ["--shard-size", "1", "--jobs", "1", "--quiet"];
        Assert.Equal(1, L3(["convert", PathOf("src"), PathOf("whole"), .. options]).Exit);

        using (var process = Process.Start(StartInfo(["convert", PathOf("src"), PathOf("killed"), .. options]))!)
        {
            string third = PathOf("killed/shards/shard-000003.idx");
            var clock = Stopwatch.StartNew();
            while (!File.Exists(third) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(2);
            process.Kill(); // SIGKILL
            process.WaitForExit();
        }
        Assert.False(File.Exists(PathOf("killed/dataset.json")), "the conversion finished before it could be killed");
        int complete = Directory.GetFiles(PathOf("killed/shards"), "*.idx").Length;
        Assert.InRange(complete, 4, 42);

        var resumed = L3(["convert", PathOf("src"), PathOf("killed"), .. options]);
        Assert.Equal(1, resumed.Exit); // the bad files again
        Assert.Contains($"({complete} already complete)", resumed.Err);
        TestTrees.AssertSameFiles(PathOf("whole"), PathOf("killed"));
    }

    [Fact]
    public async Task SIGTERM_stops_cleanly_and_the_run_resumes_to_the_same_bytes()
    {
        MakePngTree(PathOf("src"), 30, size: 160);
        string[] options = ["--shard-size", "1", "--jobs", "1"];
        Assert.Equal(0, L3(["convert", PathOf("src"), PathOf("whole"), "--quiet", .. options]).Exit);

        using (var process = Process.Start(StartInfo(["convert", PathOf("src"), PathOf("stopped"), .. options]))!)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(PathOf("stopped/shards/shard-000002.idx")) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(2);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            Assert.True(process.WaitForExit(60_000));
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("interrupted", await stderr);
        }
        Assert.False(File.Exists(PathOf("stopped/dataset.json")));
        Assert.Empty(Directory.GetFiles(PathOf("stopped/shards"), "*.tmp")); // a clean stop leaves no temporary shard
        Assert.Equal(0, L3(["convert", PathOf("src"), PathOf("stopped"), "--quiet", .. options]).Exit);
        TestTrees.AssertSameFiles(PathOf("whole"), PathOf("stopped"));
    }

    [Fact]
    public void Single_file_commands_take_folders_and_several_files()
    {
        var images = MakePngTree(PathOf("src"), 6, size: 20);
        TestTrees.Write(PathOf("src"), "c-class/bad.png", "not a png"u8.ToArray());

        var encode = L3("encode", PathOf("src"), PathOf("l3"), "--jobs", "2");
        Assert.Equal(1, encode.Exit);
        Assert.Contains("bad.png", encode.Err);
        Assert.Contains("encoded 6 of 7 images", encode.Err.Trim().Split('\n')[^1]);
        foreach (var (name, image) in images)
            Assert.Equal(image.Pixels, L3Codec.Decode(File.ReadAllBytes(PathOf("l3/" + Path.ChangeExtension(name, ".l3")))).Pixels);

        var verify = L3("verify", PathOf("l3"));
        Assert.Equal(0, verify.Exit);
        Assert.Contains("6 files ok", verify.Out);
        File.WriteAllBytes(PathOf("l3/a-class/000.l3"), [1, 2, 3]);
        Assert.Equal(1, L3("verify", PathOf("l3")).Exit);

        var info = L3("info", PathOf("l3/b-class/001.l3"), PathOf("l3/c-class/002.l3"), "--json");
        Assert.Equal(0, info.Exit);
        Assert.Equal(2, info.Out.Trim().Split('\n').Length);

        var bench = L3("bench", PathOf("src"), "--runs", "1");
        Assert.Equal(1, bench.Exit); // bad.png is named, the other six are measured
        Assert.Contains("bad.png", bench.Err);
        // the six, each in both coding modes (rows and dense, side by side)
        Assert.Equal(12, bench.Out.Split('\n').Count(line => line.TrimEnd().EndsWith("yes")));

        var bare = L3();
        Assert.Equal(0, bare.Exit);
        Assert.Contains("convert", bare.Out);
    }
}

/// <summary>Small trees of files for the dataset commands, and a byte-for-byte comparison of two folders.</summary>
internal static class TestTrees
{
    public static byte[] Pixels(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * channels];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 7 * 30 + random.Next(12));
        return pixels;
    }

    public static void Write(string root, string name, byte[] bytes)
    {
        string path = Path.Combine(root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    public static void AssertSameFiles(string expected, string actual)
    {
        static SortedDictionary<string, byte[]> Snapshot(string root) =>
            new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes), StringComparer.Ordinal);
        var a = Snapshot(expected);
        var b = Snapshot(actual);
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, bytes) in a)
            Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"{name} differs");
    }
}
