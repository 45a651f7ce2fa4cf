using System.Runtime.InteropServices;

namespace L3.Datasets;

/// <summary>
/// The one way a dataset file reaches its final name: written to a temporary file beside it
/// (a dot name ending in .tmp, with the host and process in it), flushed to disk, then renamed,
/// and the folder flushed. So a file under its final name is always complete, whatever kills the
/// writer; a leftover temporary file is never read and is removed by a later run.
/// </summary>
internal static partial class DurableFile
{
    public static string TemporaryPathFor(string finalPath)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(finalPath))!;
        return Path.Combine(directory, $".{Path.GetFileName(finalPath)}.{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}{DatasetLayout.TemporarySuffix}");
    }

    /// <summary>Writes <paramref name="bytes"/> under <paramref name="finalPath"/>, replacing it
    /// (atomically: readers see the old file or the new, never a mix).</summary>
    public static void WriteReplacing(string finalPath, ReadOnlySpan<byte> bytes)
    {
        string temp = WriteTemporary(finalPath, bytes);
        Publish(temp, finalPath, replace: true);
    }

    /// <summary>Writes <paramref name="bytes"/> under <paramref name="finalPath"/> unless a file is
    /// already there; returns false (and writes nothing) when one is.</summary>
    public static bool WriteIfAbsent(string finalPath, ReadOnlySpan<byte> bytes)
    {
        if (File.Exists(finalPath)) return false;
        string temp = WriteTemporary(finalPath, bytes);
        try
        {
            Publish(temp, finalPath, replace: false);
            return true;
        }
        catch (IOException) when (File.Exists(finalPath))
        {
            return false; // another process published first
        }
    }

    private static string WriteTemporary(string finalPath, ReadOnlySpan<byte> bytes)
    {
        string temp = TemporaryPathFor(finalPath);
        try
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return temp;
    }

    /// <summary>Renames a flushed temporary file to its final name and flushes the folder.</summary>
    public static void Publish(string temp, string finalPath, bool replace)
    {
        try
        {
            File.Move(temp, finalPath, overwrite: replace);
        }
        finally
        {
            TryDelete(temp);
        }
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
    }

    public static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Flushes a folder's entries (the rename) to disk where the system allows it.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        try
        {
            int fd = open(directory, 0);
            if (fd < 0) return;
            fsync(fd);
            close(fd);
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc")]
    private static partial int fsync(int fd);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
