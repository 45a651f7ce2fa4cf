using System.Diagnostics;
using L3.Imaging;
using L3.TestSupport;

namespace L3.Cli.Tests;

/// <summary>The `l3` command run as a user runs it: a separate process, exit codes and stderr.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Err) L3(params string[] args)
    {
        // the referenced CLI project is copied next to the tests
        string dll = Path.Combine(AppContext.BaseDirectory, "l3.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(120_000)) { process.Kill(); throw new TimeoutException("l3 hung"); }
        return (process.ExitCode, stdout.Result, stderr);
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Theory]
    [InlineData("gray-page.png", "8", ".pgm")]
    [InlineData("photo-coffee.png", "16", ".ppm")]
    [InlineData("rgba-kay-1080x1920.png", "32", ".pam")]
    [InlineData("photo-astronaut.png", "64", ".png")]
    public void Encode_then_decode_is_bit_exact(string image, string n, string extension)
    {
        string source = TestData.Path(image);
        Assert.Equal(0, L3("encode", source, PathOf("a.l3"), "--patch", n).Exit);
        Assert.Equal(0, L3("decode", PathOf("a.l3"), PathOf("b" + extension)).Exit);
        var original = ImageFiles.Read(source);
        var back = ImageFiles.Read(PathOf("b" + extension));
        Assert.Equal((original.Width, original.Height, original.Channels), (back.Width, back.Height, back.Channels));
        Assert.True(original.Pixels.AsSpan().SequenceEqual(back.Pixels));

        // and the netpbm/PNG we wrote encodes to the very same L3 file
        Assert.Equal(0, L3("encode", PathOf("b" + extension), PathOf("c.l3"), "--patch", n).Exit);
        Assert.Equal(File.ReadAllBytes(PathOf("a.l3")), File.ReadAllBytes(PathOf("c.l3")));

        var info = L3("info", PathOf("a.l3"), "--json");
        Assert.Equal(0, info.Exit);
        Assert.Contains($"\"patch_size\":{n}", info.Out);
        Assert.Equal(0, L3("verify", PathOf("a.l3")).Exit);
    }

    [Fact]
    public void Dense_mode_encodes_smaller_and_decodes_bit_exactly()
    {
        string source = TestData.Path("photo-coffee.png");
        Assert.Equal(0, L3("encode", source, PathOf("rows.l3")).Exit);
        Assert.Equal(0, L3("encode", source, PathOf("dense.l3"), "--mode", "dense").Exit);
        Assert.True(new FileInfo(PathOf("dense.l3")).Length < new FileInfo(PathOf("rows.l3")).Length);
        Assert.Contains("\"mode\":\"dense\"", L3("info", PathOf("dense.l3"), "--json").Out);
        Assert.Contains("\"mode\":\"rows\"", L3("info", PathOf("rows.l3"), "--json").Out);
        var verify = L3("verify", PathOf("dense.l3"));
        Assert.Equal(0, verify.Exit);
        Assert.Contains("dense", verify.Out);
        Assert.Equal(0, L3("decode", PathOf("dense.l3"), PathOf("back.ppm")).Exit);
        Assert.True(ImageFiles.Read(source).Pixels.AsSpan().SequenceEqual(ImageFiles.Read(PathOf("back.ppm")).Pixels));
        Assert.Equal(2, L3("encode", source, PathOf("x.l3"), "--mode", "sparse").Exit);
    }

    [Fact]
    public void Existing_outputs_are_kept_without_force()
    {
        string source = TestData.Path("gray-page.png");
        File.WriteAllText(PathOf("x.l3"), "keep me");
        var run = L3("encode", source, PathOf("x.l3"));
        Assert.Equal(1, run.Exit);
        Assert.Contains("--force", run.Err);
        Assert.Equal("keep me", File.ReadAllText(PathOf("x.l3")));
        Assert.Equal(0, L3("encode", source, PathOf("x.l3"), "--force").Exit);
        Assert.Equal(0, L3("verify", PathOf("x.l3")).Exit);
    }

    [Fact]
    public void Bad_files_exit_1_with_one_line_and_leave_no_output()
    {
        string source = TestData.Path("gray-page.png");
        Assert.Equal(0, L3("encode", source, PathOf("ok.l3")).Exit);
        var bytes = File.ReadAllBytes(PathOf("ok.l3"));
        File.WriteAllBytes(PathOf("cut.l3"), bytes[..(bytes.Length / 2)]);
        bytes[bytes.Length - 5] ^= 0x10;
        File.WriteAllBytes(PathOf("flip.l3"), bytes);
        foreach (var bad in new[] { "cut.l3", "flip.l3" })
        {
            var run = L3("decode", PathOf(bad), PathOf("out.png"));
            Assert.Equal(1, run.Exit);
            Assert.Single(run.Err.Trim().Split('\n'));
            Assert.DoesNotContain("   at ", run.Err);
            Assert.False(File.Exists(PathOf("out.png")));
        }
        var notL3 = L3("decode", source, PathOf("out.png"));
        Assert.Equal(1, notL3.Exit);
        Assert.Contains("not an L3 file", notL3.Err);
        var notImage = L3("encode", PathOf("ok.l3"), PathOf("y.l3"));
        Assert.Equal(1, notImage.Exit);
        Assert.False(File.Exists(PathOf("y.l3")));
        Assert.Equal(1, L3("verify", PathOf("ok.l3"), PathOf("cut.l3")).Exit);
        Assert.Equal(1, L3("decode", PathOf("missing.l3"), PathOf("out.png")).Exit);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void What_cannot_be_stored_exactly_is_refused_and_a_conversion_asked_for_is_reported()
    {
        File.WriteAllBytes(PathOf("deep.png"), CraftedFiles.Png(2, 2, 2, 16, new byte[2 * 2 * 6]));
        var deep = L3("encode", PathOf("deep.png"), PathOf("deep.l3"));
        Assert.Equal(1, deep.Exit);
        Assert.Contains("16-bit PNG", deep.Err);
        Assert.Single(deep.Err.Trim().Split('\n'));
        Assert.False(File.Exists(PathOf("deep.l3")));

        File.WriteAllBytes(PathOf("moving.gif"), CraftedFiles.Gif(frames: 2));
        var animated = L3("encode", PathOf("moving.gif"), PathOf("moving.l3"));
        Assert.Equal(1, animated.Exit);
        Assert.Contains("--first-frame", animated.Err);
        var first = L3("encode", PathOf("moving.gif"), PathOf("moving.l3"), "--first-frame");
        Assert.Equal(0, first.Exit);
        Assert.StartsWith("l3: note: animated GIF: kept the first of 2 frames", first.Err);
        Assert.Equal(0, L3("decode", PathOf("moving.l3"), PathOf("moving.ppm")).Exit);
        Assert.Equal(new byte[] { 10, 20, 30 }, ImageFiles.Read(PathOf("moving.ppm")).Pixels);

        File.WriteAllBytes(PathOf("cmyk.jpg"), CraftedFiles.CmykJpeg());
        Assert.Contains("--convert-cmyk", L3("encode", PathOf("cmyk.jpg"), PathOf("cmyk.l3")).Err);
        Assert.Contains("l3: note: CMYK JPEG converted to RGB", L3("encode", PathOf("cmyk.jpg"), PathOf("cmyk.l3"), "--convert-cmyk").Err);
    }

    [Fact]
    public void Inputs_that_are_not_regular_files_exit_1_at_once()
    {
        // (encode and verify take a folder as a folder of inputs: decode and info do not)
        Assert.Contains("is a directory", L3("decode", _dir, PathOf("d.png")).Err);
        if (OperatingSystem.IsLinux()) Assert.Contains("character device", L3("encode", "/dev/zero", PathOf("z.l3")).Err);
    }

    [Fact]
    public void Gpu_without_a_cuda_gpu_says_so_in_one_line_and_still_decodes_exactly()
    {
        if (File.Exists("/dev/nvidia0")) return; // a machine with a GPU runs the real kernel: nothing to say
        string source = TestData.Path("gray-page.png");
        Assert.Equal(0, L3("encode", source, PathOf("g.l3")).Exit);
        var (exit, _, err) = L3("decode", PathOf("g.l3"), PathOf("g.pgm"), "--gpu");
        Assert.Equal(0, exit);
        Assert.Equal(GpuCodecs.EmulatorNotice, Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(ImageFiles.Read(source).Pixels, ImageFiles.Read(PathOf("g.pgm")).Pixels);
    }

    [Fact]
    public void Wrong_usage_exits_2()
    {
        Assert.Equal(2, L3("encode").Exit);
        Assert.Equal(2, L3("frobnicate").Exit);
        Assert.Equal(2, L3("encode", "a.png", PathOf("a.l3"), "--patch", "12").Exit);
        Assert.Equal(2, L3("encode", "a.png", PathOf("a.l3"), "--apply-orientation", "--ignore-orientation").Exit);
    }
}
