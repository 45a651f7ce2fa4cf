using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace L3.Cli;

/// <summary>
/// The one way the CLI writes an output (every command that writes uses it). The bytes go to a
/// temporary file beside the target, which then takes the target's name in one atomic step:
/// <list type="bullet">
/// <item>without --force an existing path is never replaced, not even by a run that races this
/// one (renameat2 RENAME_NOREPLACE, or link then unlink);</item>
/// <item>--force replaces only a regular file, and never an input of the same run (same device
/// and inode): a directory, FIFO, device, socket or symbolic link is refused;</item>
/// <item>"-" is standard output;</item>
/// <item>no temporary file outlives the run: it is removed on failure, on SIGINT, SIGTERM, SIGHUP
/// and SIGQUIT, and one left by a killed run (SIGKILL) is removed by the next run that writes into
/// the same directory (its name carries the process id and start time, so a live run's file is
/// never taken);</item>
/// <item>the temporary name is short whatever the target's (a 255-byte file name works), and
/// messages name the user's path, never the temporary one.</item>
/// </list>
/// </summary>
public static class OutputFile
{
    public sealed class ExistsException(string path)
        : Exception($"'{path}' already exists; pass --force to replace it");

    /// <summary>An output the CLI refuses to write; the message says why.</summary>
    public sealed class RefusedException(string message) : IOException(message);

    private const string TempPrefix = ".l3-partial-";
    private static readonly ConcurrentDictionary<string, byte> LiveTemps = new();
    private static readonly ConcurrentDictionary<string, byte> SweptDirectories = new();
    private static int s_counter;
    private static PosixSignalRegistration[]? s_signals;

    public static bool IsStandardStream(string path) => path == "-";

    /// <summary>Fails early, before any work, when the output cannot be written as asked.</summary>
    public static void CheckWritable(string path, bool force, params string[] inputs)
    {
        if (IsStandardStream(path)) return;
        var (kind, identity, _) = UnixFiles.Stat(path, followLinks: false);
        if (kind == FileKind.Missing) return;
        if (!force) throw new ExistsException(path);
        if (kind != FileKind.Regular)
            throw new RefusedException($"'{path}' is {UnixFiles.Describe(kind)}; --force replaces only a regular file"
                + (kind is FileKind.SymbolicLink or FileKind.CharacterDevice or FileKind.Fifo ? " (write to '-' for standard output)" : ""));
        foreach (string input in inputs)
            if (!IsStandardStream(input) && UnixFiles.Stat(input, followLinks: true) is { Kind: FileKind.Regular } i && i.Identity == identity)
                throw new RefusedException($"'{path}' is the input file '{input}'; l3 does not replace its own input");
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> all at once or not at all.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool force, params string[] inputs)
    {
        if (IsStandardStream(path))
        {
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(bytes);
            return;
        }
        CheckWritable(path, force, inputs);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        RemoveStaleTemps(directory);
        string temp = Path.Combine(directory, $"{TempPrefix}{ProcessStamp.Current}-{Interlocked.Increment(ref s_counter)}");
        EnsureSignalCleanup();
        LiveTemps[temp] = 0;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            if (force)
            {
                // the target may have changed since the check: check again just before replacing it
                CheckWritable(path, force, inputs);
                File.Move(temp, full, overwrite: true);
            }
            else if (!UnixFiles.MoveNoReplace(temp, full))
                throw new ExistsException(path);
        }
        catch (IOException e) when (e is not RefusedException)
        {
            // the system's message names the temporary file: name the user's instead
            throw new IOException($"cannot write '{path}': {e.Message.Replace($": '{temp}'", "").Replace(temp, path)}", e);
        }
        catch (UnauthorizedAccessException)
        {
            throw new IOException($"cannot write '{path}': permission denied");
        }
        finally
        {
            TryDelete(temp);
            LiveTemps.TryRemove(temp, out _);
        }
    }

    private static void TryDelete(string temp)
    {
        try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the temporary files, then the process ends
    /// as it would have (the handlers do not cancel the signal).</summary>
    private static void EnsureSignalCleanup()
    {
        if (Volatile.Read(ref s_signals) is not null) return;
        PosixSignal[] signals = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT];
        var registrations = signals.Select(s => PosixSignalRegistration.Create(s, _ =>
        {
            foreach (var temp in LiveTemps.Keys) TryDelete(temp);
        })).ToArray();
        if (Interlocked.CompareExchange(ref s_signals, registrations, null) is not null)
            foreach (var r in registrations) r.Dispose();
    }

    /// <summary>Removes, once per directory and run, temporary files of runs that no longer live
    /// (killed with SIGKILL, or the machine stopped).</summary>
    private static void RemoveStaleTemps(string directory)
    {
        if (!SweptDirectories.TryAdd(directory, 0)) return;
        IEnumerable<string> temps;
        try { temps = Directory.EnumerateFiles(directory, TempPrefix + "*"); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (string temp in temps)
        {
            string stamp = Path.GetFileName(temp)[TempPrefix.Length..];
            int dash = stamp.LastIndexOf('-');
            if (dash > 0 && !ProcessStamp.IsLive(stamp[..dash])) TryDelete(temp);
        }
    }
}

/// <summary>A process's id and start time, "PID.START": unique among the processes that ever ran
/// on this machine since boot, so a temporary file can be told to belong to a live run or not.</summary>
internal static class ProcessStamp
{
    public static string Current { get; } = Of(Environment.ProcessId) ?? $"{Environment.ProcessId}.0";

    /// <summary>The stamp of the live process <paramref name="pid"/>, or null if there is none.</summary>
    private static string? Of(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // /proc/PID/stat: field 22 is the start time in clock ticks since boot; the command
                // name (field 2) may hold spaces, so count from its closing parenthesis
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return $"{pid}.{fields[19]}";
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return $"{pid}.{process.StartTime.Ticks}";
        }
        catch (ArgumentException) { return null; }
        catch (InvalidOperationException) { return null; }
    }

    public static bool IsLive(string stamp)
    {
        int dot = stamp.IndexOf('.');
        if (dot <= 0 || !int.TryParse(stamp[..dot], out int pid)) return true; // not ours to judge
        return Of(pid) == stamp;
    }
}
