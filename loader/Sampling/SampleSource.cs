using L3.Datasets;
using Microsoft.Win32.SafeHandles;

namespace L3.Loading;

/// <summary>
/// Numbered L3 files with labels, as the loader reads them: a dataset (its shards' samples), or
/// plain files. Reads are positional and thread-safe, so reader threads fetch a file's header and
/// then only the byte ranges of the patches a crop touches.
/// </summary>
public abstract class SampleSource : IDisposable
{
    public abstract long Count { get; }

    /// <summary>The label of sample <paramref name="sample"/>, −1 when it has none.</summary>
    public abstract int GetLabel(long sample);

    /// <summary>The sample's L3 file's length in bytes.</summary>
    public abstract long GetLength(long sample);

    /// <summary>Reads bytes [<paramref name="offset"/>, offset + destination.Length) of the sample's L3
    /// file; a file that ends sooner is an <see cref="L3FormatException"/>.</summary>
    public abstract void Read(long sample, long offset, Span<byte> destination);

    /// <summary>Names the sample for an error message: its shard and number, or its path.</summary>
    public abstract string Describe(long sample);

    public virtual void Dispose() { }

    /// <summary>The files that hold the samples back to back (a dataset's shards), for a loader that
    /// maps them so the device copies samples straight from the page cache; empty when the samples
    /// are files of their own (too many to map).</summary>
    internal virtual IReadOnlyList<(string Path, long Length)> BackingFiles => [];

    /// <summary>Where sample <paramref name="sample"/>'s L3 file starts: which of
    /// <see cref="BackingFiles"/>, and at which byte.</summary>
    internal virtual (int File, long Offset) Where(long sample) => throw new NotSupportedException("the samples are files of their own");

    /// <summary>The samples of a dataset (the source does not own it).</summary>
    public static SampleSource FromDataset(L3Dataset dataset) => new DatasetSource(dataset);

    /// <summary>L3 files by path, with their labels (or none: −1).</summary>
    public static SampleSource FromFiles(IReadOnlyList<string> paths, IReadOnlyList<int>? labels = null) =>
        new FileSource(paths.ToArray(), labels?.ToArray() ?? Enumerable.Repeat(-1, paths.Count).ToArray());

    /// <summary>
    /// Every <c>.l3</c> file below <paramref name="directory"/>, in ordinal order of the relative
    /// paths (with '/'); the label is the index of the first folder among the sorted folders
    /// (ImageFolder's rule, as dataset conversion uses), −1 for a file directly inside.
    /// </summary>
    public static SampleSource FromDirectory(string directory)
    {
        string root = Path.GetFullPath(directory);
        var files = Directory.EnumerateFiles(root, "*.l3", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => !f.Split('/').Any(part => part.StartsWith('.')))
            .OrderBy(f => f, StringComparer.Ordinal).ToArray();
        static string? ClassOf(string name) => name.IndexOf('/') is > 0 and var slash ? name[..slash] : null;
        var classes = files.Select(ClassOf).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        var labels = files.Select(f => ClassOf(f) is { } c ? classes.IndexOf(c) : -1).ToArray();
        return new FileSource(files.Select(f => Path.Combine(root, f)).ToArray(), labels);
    }

    /// <summary>A list file: one path a line (relative to the list's folder), optionally a tab and
    /// an integer label; empty lines and lines starting with '#' are skipped.</summary>
    public static SampleSource FromList(string listPath)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(listPath))!;
        var paths = new List<string>();
        var labels = new List<int>();
        foreach (string line in File.ReadLines(listPath))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split('\t');
            paths.Add(Path.Combine(folder, parts[0]));
            labels.Add(parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : -1);
        }
        return new FileSource(paths.ToArray(), labels.ToArray());
    }

    private sealed class DatasetSource(L3Dataset dataset) : SampleSource
    {
        private readonly Handles _shards = new(dataset.Shards.Count);

        public override long Count => dataset.Count;
        public override int GetLabel(long sample) => dataset.Locate(sample).Entry.Label;
        public override long GetLength(long sample) => dataset.Locate(sample).Entry.Length;

        public override void Read(long sample, long offset, Span<byte> destination)
        {
            var location = dataset.Locate(sample);
            if (offset < 0 || offset + destination.Length > location.Entry.Length)
                throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + destination.Length} are outside sample {sample}'s {location.Entry.Length}");
            var info = dataset.Shards[location.Shard];
            // the shard's length is checked once, on opening: a truncated shard is named, never read past
            var handle = _shards.Get(location.Shard, () => dataset.ShardPath(location.Shard), info.TarBytes, info.Tar);
            ReadFully(handle, destination, location.Entry.DataOffset + offset, Describe(sample));
        }

        public override string Describe(long sample)
        {
            var location = dataset.Locate(sample);
            return $"{dataset.Shards[location.Shard].Tar} sample {sample} (key {location.Entry.Key})";
        }

        internal override IReadOnlyList<(string Path, long Length)> BackingFiles =>
            Enumerable.Range(0, dataset.Shards.Count).Select(s => (dataset.ShardPath(s), dataset.Shards[s].TarBytes)).ToArray();

        internal override (int File, long Offset) Where(long sample)
        {
            var location = dataset.Locate(sample);
            return (location.Shard, location.Entry.DataOffset);
        }

        public override void Dispose() => _shards.Dispose();
    }

    private sealed class FileSource(string[] paths, int[] labels) : SampleSource
    {
        private readonly Handles _files = new(paths.Length);

        public override long Count => paths.Length;
        public override int GetLabel(long sample) => labels[sample];
        public override long GetLength(long sample) => RandomAccess.GetLength(Handle(sample));
        public override string Describe(long sample) => paths[sample];

        public override void Read(long sample, long offset, Span<byte> destination) =>
            ReadFully(Handle(sample), destination, offset, paths[sample]);

        private SafeFileHandle Handle(long sample) => _files.Get((int)sample, () => paths[sample], -1, paths[sample]);

        public override void Dispose() => _files.Dispose();
    }

    /// <summary>Read handles opened on first use and shared by the reader threads.</summary>
    private sealed class Handles(int count) : IDisposable
    {
        private readonly SafeFileHandle?[] _handles = new SafeFileHandle?[count];
        private readonly Lock _gate = new();
        private bool _disposed;

        /// <summary>The handle of file <paramref name="index"/>; when <paramref name="expectedLength"/> is
        /// not −1 the file must be exactly that long.</summary>
        public SafeFileHandle Get(int index, Func<string> path, long expectedLength, string name)
        {
            var handle = Volatile.Read(ref _handles[index]);
            if (handle is not null) return handle;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_handles[index] is { } open) return open;
                try { handle = File.OpenHandle(path(), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess); }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    throw new L3FormatException($"{name} is missing");
                }
                long length = RandomAccess.GetLength(handle);
                if (expectedLength >= 0 && length != expectedLength)
                {
                    handle.Dispose();
                    throw new L3FormatException($"{name} is {length} bytes; the manifest says {expectedLength} (truncated or replaced)");
                }
                Volatile.Write(ref _handles[index], handle);
                return handle;
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                foreach (var handle in _handles) handle?.Dispose();
            }
        }
    }

    private static void ReadFully(SafeFileHandle handle, Span<byte> destination, long offset, string name)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int read = RandomAccess.Read(handle, destination[done..], offset + done);
            if (read == 0) throw new L3FormatException($"{name} ends at byte {offset + done}, before the {destination.Length - done} bytes still to read", offset + done);
            done += read;
        }
    }
}
