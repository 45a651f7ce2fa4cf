using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;

namespace L3.Datasets;

/// <summary>One input image: its name (relative, with '/'), its size in bytes and its class
/// (null when it has none).</summary>
public sealed record SourceItem(string Name, long Size, string? ClassName);

/// <summary>
/// Where a conversion's images come from, listed in conversion order (docs/DATASET.md §5):
/// a directory tree (ImageFolder: the first-level subfolder is the class), a list file (one path
/// a line, optionally a tab and a class), or a tar archive of images (classes as for a tree).
/// Reads are thread-safe.
/// </summary>
public abstract class ImageSource : IDisposable
{
    /// <summary>File name extensions taken as images in a tree or a tar (case-insensitive).</summary>
    public static IReadOnlySet<string> ImageExtensions { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".pgm", ".ppm", ".pam", ".pnm" };

    public abstract string Kind { get; }
    public abstract IReadOnlyList<SourceItem> Items { get; }

    /// <summary>The bytes of input <paramref name="ordinal"/>.</summary>
    public abstract byte[] Read(int ordinal);

    public virtual void Dispose() { }

    /// <summary>A directory is a tree, a file ending in .tar an archive, any other file a list.</summary>
    public static ImageSource Open(string path)
    {
        if (Directory.Exists(path)) return new DirectorySource(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' does not exist");
        if (path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase)) return new TarSource(path);
        return new ListSource(path);
    }

    public static bool IsImageName(string name) =>
        ImageExtensions.Contains(Path.GetExtension(name)) && !Path.GetFileName(name).StartsWith('.');

    /// <summary>ImageFolder's rule: the first folder of the relative name is the class.</summary>
    protected static string? ClassOf(string relativeName)
    {
        int slash = relativeName.IndexOf('/');
        return slash > 0 ? relativeName[..slash] : null;
    }

    private sealed class DirectorySource : ImageSource
    {
        private readonly string _root;
        public override string Kind => "directory";
        public override IReadOnlyList<SourceItem> Items { get; }

        public DirectorySource(string root)
        {
            _root = Path.GetFullPath(root);
            var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
            Items = new DirectoryInfo(_root).EnumerateFiles("*", options)
                .Select(f => (File: f, Name: Path.GetRelativePath(_root, f.FullName).Replace(Path.DirectorySeparatorChar, '/')))
                .Where(f => IsImageName(f.Name) && !f.Name.Split('/').Any(part => part.StartsWith('.')))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => new SourceItem(f.Name, f.File.Length, ClassOf(f.Name)))
                .ToList();
        }

        public override byte[] Read(int ordinal) => File.ReadAllBytes(Path.Combine(_root, Items[ordinal].Name));
    }

    private sealed class ListSource : ImageSource
    {
        private readonly string _baseDirectory;
        public override string Kind => "list";
        public override IReadOnlyList<SourceItem> Items { get; }

        public ListSource(string listPath)
        {
            _baseDirectory = Path.GetDirectoryName(Path.GetFullPath(listPath))!;
            var items = new List<SourceItem>();
            int lineNumber = 0;
            foreach (string raw in File.ReadLines(listPath))
            {
                lineNumber++;
                string line = raw.TrimEnd('\r');
                if (line.Length == 0 || line.StartsWith('#')) continue;
                string[] fields = line.Split('\t');
                if (fields.Length > 2) throw new FormatException($"{listPath}:{lineNumber}: expected PATH or PATH<tab>CLASS");
                string name = fields[0];
                string? className = fields.Length == 2 && fields[1].Length > 0 ? fields[1] : null;
                var info = new FileInfo(Path.Combine(_baseDirectory, name));
                if (!info.Exists) throw new FileNotFoundException($"{listPath}:{lineNumber}: '{name}' does not exist");
                items.Add(new SourceItem(name, info.Length, className));
            }
            Items = items; // a list keeps its own order: the user chose it
        }

        public override byte[] Read(int ordinal) => File.ReadAllBytes(Path.Combine(_baseDirectory, Items[ordinal].Name));
    }

    private sealed class TarSource : ImageSource
    {
        private readonly SafeFileHandle _handle;
        private readonly long[] _dataOffsets;
        public override string Kind => "tar";
        public override IReadOnlyList<SourceItem> Items { get; }

        public TarSource(string path)
        {
            var members = new Dictionary<string, (long Offset, long Length)>(StringComparer.Ordinal);
            using (var stream = File.OpenRead(path))
            using (var reader = new TarReader(stream))
            {
                try
                {
                    while (reader.GetNextEntry(copyData: false) is { } entry)
                    {
                        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                        string name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                        if (!IsImageName(name) || name.Split('/').Any(part => part.StartsWith('.'))) continue;
                        members[name] = (entry.DataOffset, entry.Length); // a later member of the same name replaces it, as tar does
                    }
                }
                catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
                {
                    throw new InvalidDataException($"{path} is not a readable tar archive: {e.Message}", e);
                }
            }
            var ordered = members.OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
            Items = ordered.Select(m => new SourceItem(m.Key, m.Value.Length, ClassOf(m.Key))).ToList();
            _dataOffsets = ordered.Select(m => m.Value.Offset).ToArray();
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }

        public override byte[] Read(int ordinal)
        {
            long length = Items[ordinal].Size;
            if (length > Array.MaxLength) throw new IOException($"{Items[ordinal].Name} is too large to convert");
            var bytes = new byte[length];
            int done = 0;
            while (done < bytes.Length)
            {
                int read = RandomAccess.Read(_handle, bytes.AsSpan(done), _dataOffsets[ordinal] + done);
                if (read == 0) throw new EndOfStreamException($"the tar ends inside {Items[ordinal].Name}");
                done += read;
            }
            return bytes;
        }

        public override void Dispose() => _handle.Dispose();
    }
}
