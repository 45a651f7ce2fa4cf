using System.Diagnostics;
using L3.Imaging;
using L3.TestSupport;

namespace L3.Cli.Tests;

/// <summary>
/// The CLI never loses a file and never trusts an input (issue 12): run as a user runs it, a
/// separate process. Inputs that are not regular files are refused at once, L3 inputs are read
/// header first, outputs are written through one atomic path (cli/OutputFile.cs).
/// </summary>
public sealed class CliFileSafetyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-safety-").FullName;
    private static readonly string Png = TestData.Path("gray-page.png");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private sealed record Run(int Exit, string Out, string Err, byte[] OutBytes);

    private static Process Start(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "l3.dll")); // the referenced CLI, copied beside the tests
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Process.Start(start)!;
    }

    private static Run L3(string[] args, byte[]? stdin = null, IDictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        using var process = Start(args, environment);
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"l3 {string.Join(' ', args)} did not end within {timeoutSeconds} s");
        }
        copy.Wait();
        return new Run(process.ExitCode, System.Text.Encoding.UTF8.GetString(stdout.ToArray()), stderr.Result, stdout.ToArray());
    }

    private static Run L3(params string[] args) => L3(args, null);

    private static void AssertOneLineFailure(Run run, params string[] mentions)
    {
        Assert.Equal(1, run.Exit);
        Assert.Single(run.Err.Trim().Split('\n'));
        foreach (var m in mentions) Assert.Contains(m, run.Err);
    }

    /// <summary>Hidden files left in the folder: the temporaries of today's and yesterday's code.</summary>
    private string[] Leftovers() => Directory.GetFiles(_dir).Where(f => Path.GetFileName(f).StartsWith('.')).ToArray();

    private static void Shell(string command)
    {
        using var p = Process.Start("sh", ["-c", command])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    // ---- outputs ----

    [Fact]
    public void The_input_is_never_replaced_by_its_own_output_even_with_force()
    {
        File.Copy(Png, PathOf("s.png"));
        var original = File.ReadAllBytes(PathOf("s.png"));
        AssertOneLineFailure(L3("encode", PathOf("s.png"), PathOf("s.png"), "--force"), "input");
        Assert.Equal(original, File.ReadAllBytes(PathOf("s.png")));

        // the same file under another name (a hard link) is the same input
        Shell($"ln '{PathOf("s.png")}' '{PathOf("link.png")}'");
        AssertOneLineFailure(L3("encode", PathOf("s.png"), PathOf("link.png"), "--force"), "input");
        Assert.Equal(original, File.ReadAllBytes(PathOf("s.png")));

        Assert.Equal(0, L3("encode", Png, PathOf("x.pam")).Exit); // an L3 file named .pam
        var l3 = File.ReadAllBytes(PathOf("x.pam"));
        AssertOneLineFailure(L3("decode", PathOf("x.pam"), PathOf("x.pam"), "--force"), "input");
        Assert.Equal(l3, File.ReadAllBytes(PathOf("x.pam")));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void Force_replaces_only_a_regular_file()
    {
        File.WriteAllText(PathOf("target.txt"), "keep me");
        File.CreateSymbolicLink(PathOf("link.l3"), PathOf("target.txt"));
        AssertOneLineFailure(L3("encode", Png, PathOf("link.l3"), "--force"), "symbolic link");
        Assert.NotNull(new FileInfo(PathOf("link.l3")).LinkTarget);
        Assert.Equal("keep me", File.ReadAllText(PathOf("target.txt")));

        Directory.CreateDirectory(PathOf("dir.l3"));
        AssertOneLineFailure(L3("encode", Png, PathOf("dir.l3"), "--force"), "directory");
        Assert.True(Directory.Exists(PathOf("dir.l3")));

        Shell($"mkfifo '{PathOf("fifo.l3")}'");
        AssertOneLineFailure(L3("encode", Png, PathOf("fifo.l3"), "--force"), "FIFO");
        Assert.Equal(FileKind.Fifo, UnixFiles.Stat(PathOf("fifo.l3"), followLinks: false).Kind);

        if (Environment.UserName == "root")
        {
            // a device node of our own (the null device's numbers), so that nothing outside is at risk
            Shell($"mknod '{PathOf("null.l3")}' c 1 3");
            AssertOneLineFailure(L3("encode", Png, PathOf("null.l3"), "--force"), "device");
            Assert.Equal(FileKind.CharacterDevice, UnixFiles.Stat(PathOf("null.l3"), followLinks: false).Kind);
        }

        File.WriteAllText(PathOf("regular.l3"), "old");
        Assert.Equal(0, L3("encode", Png, PathOf("regular.l3"), "--force").Exit);
        Assert.Equal(0, L3("verify", PathOf("regular.l3")).Exit);
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void Without_force_an_existing_path_is_never_replaced_even_by_racing_runs()
    {
        File.Copy(Png, PathOf("a.png"));
        Shell($"cp '{Png}' '{PathOf("b.png")}' && printf x >> '{PathOf("b.png")}'"); // another input, another output
        for (int round = 0; round < 6; round++)
        {
            string output = PathOf($"out{round}.l3");
            var runs = Enumerable.Range(0, 3).Select(i => Start(["encode", PathOf(i % 2 == 0 ? "a.png" : "b.png"), output])).ToList();
            foreach (var p in runs) Assert.True(p.WaitForExit(120_000));
            Assert.Equal(1, runs.Count(p => p.ExitCode == 0));
            Assert.Equal(0, L3("verify", output).Exit);
        }
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void The_atomic_move_refuses_an_existing_target()
    {
        File.WriteAllText(PathOf("from"), "new");
        File.WriteAllText(PathOf("to"), "old");
        Assert.False(UnixFiles.MoveNoReplace(PathOf("from"), PathOf("to")));
        Assert.Equal("old", File.ReadAllText(PathOf("to")));
        Assert.True(UnixFiles.MoveNoReplace(PathOf("from"), PathOf("fresh")));
        Assert.Equal("new", File.ReadAllText(PathOf("fresh")));
        Assert.False(File.Exists(PathOf("from")));
    }

    [Fact]
    public void A_255_byte_output_name_works_and_messages_name_the_users_path()
    {
        string longName = new string('n', 252) + ".l3";
        Assert.Equal(255, longName.Length);
        Assert.Equal(0, L3("encode", Png, PathOf(longName)).Exit);
        Assert.Equal(0, L3("verify", PathOf(longName)).Exit);

        string unreachable = Path.Combine(_dir, "no-such-folder", "out.l3");
        var run = L3("encode", Png, unreachable);
        AssertOneLineFailure(run, unreachable);
        Assert.DoesNotContain(".tmp", run.Err);
        Assert.DoesNotContain("partial", run.Err);
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_temporary_file_of_a_killed_run_is_removed_by_the_next_run_and_a_live_ones_is_kept()
    {
        // what SIGKILL leaves: today's name (.l3-partial-PID.START-N) of a process that no longer
        // exists, and yesterday's (.NAME.PID.tmp)
        int deadPid = FindDeadPid();
        File.WriteAllText(PathOf($".l3-partial-{deadPid}.12345-1"), "stale");
        string live = $".l3-partial-{ProcessStampOfThisProcess()}-1";
        File.WriteAllText(PathOf(live), "a live run's");

        Assert.Equal(0, L3("encode", Png, PathOf("out.l3")).Exit);
        Assert.Equal([PathOf(live)], Leftovers());
    }

    [Fact]
    public void No_temporary_file_survives_SIGTERM_or_SIGINT_while_writing()
    {
        // a large output (1 MP RGBA as PAM: 4 MB, written and synced), so that the write takes a while
        var pixels = new byte[2048 * 2048 * 4];
        new Random(3).NextBytes(pixels);
        File.WriteAllBytes(PathOf("big.l3"), L3Codec.Encode(pixels, 2048, 2048, 4, new L3EncodeOptions { PatchSize = 8 }));
        int caught = 0;
        foreach (string signal in new[] { "TERM", "INT", "TERM", "INT", "TERM", "INT", "TERM", "INT" })
        {
            string output = PathOf($"out-{caught}-{signal}.pam");
            using var process = Start(["decode", PathOf("big.l3"), output]);
            var watch = Stopwatch.StartNew();
            bool seen = false;
            while (!process.HasExited && watch.Elapsed < TimeSpan.FromSeconds(60))
                if (Leftovers().Length > 0) { seen = true; break; }
            if (seen) Shell($"kill -{signal} {process.Id}");
            Assert.True(process.WaitForExit(60_000));
            if (seen) caught++;
            Assert.Empty(Leftovers());
            if (File.Exists(output)) File.Delete(output);
            if (caught >= 2) break;
        }
        Assert.True(caught >= 1, "the signal never arrived while the temporary file existed");
    }

    private static int FindDeadPid()
    {
        for (int pid = 4_000_000; pid > 300_000; pid -= 7919)
            if (!Directory.Exists($"/proc/{pid}")) return pid;
        return 4_194_301;
    }

    private static string ProcessStampOfThisProcess()
    {
        string stat = File.ReadAllText($"/proc/{Environment.ProcessId}/stat");
        return $"{Environment.ProcessId}.{stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19]}";
    }

    // ---- inputs ----

    [Fact]
    public void A_FIFO_directory_or_device_input_fails_at_once_and_never_blocks()
    {
        Shell($"mkfifo '{PathOf("in.fifo")}'");
        Directory.CreateDirectory(PathOf("in.dir"));
        foreach (string input in new[] { PathOf("in.fifo"), PathOf("in.dir"), "/dev/zero", "/dev/null" })
        {
            AssertOneLineFailure(L3(["decode", input, PathOf("out.png")], timeoutSeconds: 30), input);
            AssertOneLineFailure(L3(["info", input], timeoutSeconds: 30), input);
            if (input == PathOf("in.dir")) continue; // encode and verify take a folder as a folder of inputs
            AssertOneLineFailure(L3(["verify", input], timeoutSeconds: 30), input);
            AssertOneLineFailure(L3(["encode", input, PathOf("out.l3")], timeoutSeconds: 30), input);
        }
        Assert.False(File.Exists(PathOf("out.png")));
        Assert.False(File.Exists(PathOf("out.l3")));
    }

    [Fact]
    public void A_huge_file_is_judged_by_its_header_without_being_read_whole()
    {
        // 1.9 GB of zeros (sparse), and the same with a valid L3 fixed header claiming a small image;
        // under a 256 MB heap, reading either whole would end in OutOfMemoryException
        var limit = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" };
        using (var zeros = File.Create(PathOf("zeros.l3"))) zeros.SetLength(1_900_000_000);
        var small = L3Codec.Encode(new byte[8 * 8], 8, 8, 1, new L3EncodeOptions { PatchSize = 8 });
        using (var claimed = File.Create(PathOf("claims-small.l3")))
        {
            claimed.Write(small);
            claimed.SetLength(1_900_000_000);
        }
        foreach (var command in new[] { "info", "verify", "decode" })
        {
            string[] args = command == "decode" ? [command, PathOf("zeros.l3"), PathOf("o.png")] : [command, PathOf("zeros.l3")];
            AssertOneLineFailure(L3(args, environment: limit), "not an L3 file");
            args[1] = PathOf("claims-small.l3");
            var run = L3(args, environment: limit);
            AssertOneLineFailure(run, "header says");
            Assert.DoesNotContain("OutOfMemory", run.Err);
        }
        var image = L3(["encode", PathOf("zeros.l3"), PathOf("o.l3")], environment: limit);
        Assert.Equal(1, image.Exit);
        Assert.DoesNotContain("OutOfMemory", image.Err);
    }

    // ---- standard streams ----

    [Fact]
    public void A_dash_is_standard_input_and_output()
    {
        var png = File.ReadAllBytes(Png);
        var encoded = L3(["encode", "-", "-"], stdin: png);
        Assert.Equal(0, encoded.Exit);
        Assert.Equal(0, L3(["encode", Png, PathOf("file.l3")]).Exit);
        Assert.Equal(File.ReadAllBytes(PathOf("file.l3")), encoded.OutBytes);

        var info = L3(["info", "-", "--json"], stdin: encoded.OutBytes);
        Assert.Equal(0, info.Exit);
        Assert.Contains("\"patch_size\":64", info.Out);
        Assert.Equal(0, L3(["verify", "-"], stdin: encoded.OutBytes).Exit);
        AssertOneLineFailure(L3(["verify", "-"], stdin: encoded.OutBytes[..^1]), "header says");
        AssertOneLineFailure(L3(["verify", "-"], stdin: [.. encoded.OutBytes, 0]), "header says");

        var decoded = L3(["decode", "-", "-"], stdin: encoded.OutBytes);
        Assert.Equal(0, decoded.Exit);
        Assert.Equal(0x89, decoded.OutBytes[0]); // a PNG
        File.WriteAllBytes(PathOf("back.png"), decoded.OutBytes);
        Assert.Equal(ImageFiles.Read(Png).Pixels, ImageFiles.Read(PathOf("back.png")).Pixels);
        Assert.Empty(Leftovers());
    }
}
