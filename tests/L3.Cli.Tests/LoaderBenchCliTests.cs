using System.Diagnostics;
using Png = L3.Imaging.ImageFiles;

namespace L3.Cli.Tests;

/// <summary>`l3 loader-bench` on a small dataset made by `l3 convert`, run as a user runs it (a
/// separate process, on ILGPU's CPU accelerator): the check passes; bad input exits 1 with one line.</summary>
public sealed class LoaderBenchCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-loader-bench-cli-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Err) L3(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "l3.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(300_000)) { process.Kill(); throw new TimeoutException("l3 hung"); }
        return (process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>Six small RGB PNGs in two classes, converted with N = 8 into one shard.</summary>
    private string Dataset()
    {
        string images = Path.Combine(_dir, "images"), dataset = Path.Combine(_dir, "dataset");
        for (int i = 0; i < 6; i++)
            TestTrees.Write(images, $"{(char)('a' + i % 2)}/{i}.png", Png.EncodePng(new L3Image(40 + i, 30 - i, 3, TestTrees.Pixels(40 + i, 30 - i, 3, i))));
        var convert = L3("convert", images, dataset, "--patch", "8", "--quiet");
        Assert.True(convert.Exit == 0, convert.Err);
        return dataset;
    }

    [Fact]
    public void Every_output_equals_the_reference_and_bad_input_exits_1()
    {
        string dataset = Dataset();
        var run = L3("loader-bench", dataset, "--batch", "3", "--size", "12x10", "--dtype", "bf16", "--batches", "2", "--check", "--readers", "1", "--prefetch", "1");
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("check: passed, 6 entries equal the CPU reference", run.Out);
        Assert.Contains("images/s:", run.Out);
        Assert.Contains("CPU cores busy:", run.Out);

        // ranks: --rank 1 --world 2 takes half the samples (3: one batch a rank)
        var rank = L3("loader-bench", dataset, "--batch", "3", "--size", "8", "--dtype", "uint8", "--rank", "1", "--world", "2", "--epochs", "1", "--check", "--gpu");
        Assert.True(rank.Exit == 0, rank.Err);
        Assert.Contains("1 batches of 3 an epoch", rank.Out);
        Assert.Contains("check: passed, 3 entries", rank.Out);
        Assert.Contains("no CUDA GPU found", rank.Err); // the one-line emulator notice

        // a corrupt shard: every sample's magic overwritten; the error names the shard
        string shard = Directory.GetFiles(Path.Combine(dataset, "shards"), "*.tar").Single();
        var bytes = File.ReadAllBytes(shard);
        var magic = BitConverter.GetBytes(global::L3.Kernels.FileLayout.Magic);
        for (int i = bytes.AsSpan().IndexOf(magic); i >= 0; i = bytes.AsSpan(i + 1).IndexOf(magic) is var next and >= 0 ? i + 1 + next : -1)
            bytes[i] ^= 0xFF;
        File.WriteAllBytes(shard, bytes);
        var corrupt = L3("loader-bench", dataset, "--batch", "3", "--size", "8", "--batches", "2");
        Assert.Equal(1, corrupt.Exit);
        Assert.Contains(Path.GetFileName(shard), corrupt.Err);
        Assert.Single(corrupt.Err.Trim().Split('\n'));

        var missing = L3("loader-bench", Path.Combine(_dir, "nothing-here"));
        Assert.Equal(1, missing.Exit);
        Assert.Single(missing.Err.Trim().Split('\n'));
        var usage = L3("loader-bench", dataset, "--rank", "2", "--world", "2");
        Assert.Equal(2, usage.Exit);
    }
}
