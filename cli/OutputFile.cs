namespace L3.Cli;

/// <summary>Writes an output file all at once or not at all: into a temporary file beside it,
/// then renamed over the target, so an interrupted run leaves no half-written file.</summary>
public static class OutputFile
{
    public sealed class ExistsException(string path)
        : Exception($"'{path}' already exists; pass --force to overwrite it");

    /// <summary>Fails early, before any work, when the output exists and --force was not given.</summary>
    public static void CheckWritable(string path, bool force)
    {
        if (!force && (File.Exists(path) || Directory.Exists(path))) throw new ExistsException(path);
    }

    public static void Write(string path, ReadOnlySpan<byte> bytes, bool force)
    {
        CheckWritable(path, force);
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: force);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
