using L3.Datasets;
using L3.Imaging;

namespace L3.Cli.Commands;

/// <summary>
/// The single-file commands given folders: `l3 encode DIR OUTDIR` (a tree of images to a tree of
/// .l3 files), `l3 verify DIR` and `l3 bench DIR` (every file below). Work spreads over --jobs
/// threads; a file that fails is named on stderr with the reason, the rest go on, and a one-line
/// summary ends the run (exit 1 when anything failed).
/// </summary>
internal static class BatchCommands
{
    /// <summary>Paths as given, with every folder replaced by the files below it whose extension is
    /// one of <paramref name="extensions"/> (ordinal order, names starting with '.' skipped).</summary>
    public static List<string> Expand(IEnumerable<string> paths, IReadOnlySet<string> extensions)
    {
        var files = new List<string>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        foreach (string path in paths)
        {
            if (!Directory.Exists(path))
            {
                files.Add(path);
                continue;
            }
            files.AddRange(Directory.EnumerateFiles(path, "*", options)
                .Where(f => extensions.Contains(Path.GetExtension(f))
                            && !Path.GetRelativePath(path, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
                .Order(StringComparer.Ordinal));
        }
        return files;
    }

    public static readonly IReadOnlySet<string> L3Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".l3" };

    /// <summary>`l3 encode DIR OUTDIR`: each image below DIR to OUTDIR/same/path.l3.</summary>
    public static int EncodeTree(string input, string output, int patchSize, L3CodingMode mode, bool force, int jobs, ImageReadOptions readOptions)
    {
        if (!L3Header.IsValidPatchSize(patchSize)) throw new UsageException($"--patch {patchSize} is not 8, 16, 32 or 64");
        if (File.Exists(output) || output.EndsWith(".l3", StringComparison.OrdinalIgnoreCase))
            throw new IOException($"'{input}' is a directory: to encode every image below it, give an output folder, not the file '{output}'");
        using var source = ImageSource.Open(input);
        var items = source.Items;
        var targets = items.Select(i => Path.Combine(output, Path.ChangeExtension(i.Name, ".l3").Replace('/', Path.DirectorySeparatorChar))).ToList();
        foreach (string target in targets) OutputFile.CheckWritable(target, force);

        int failed = 0;
        long bytesIn = 0, bytesOut = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var encodeOptions = new L3EncodeOptions { PatchSize = patchSize, Mode = mode };
        Parallel.For(0, items.Count, new ParallelOptions { MaxDegreeOfParallelism = jobs }, i =>
        {
            try
            {
                byte[] bytes = source.Read(i);
                byte[] file = L3Codec.Encode(ImageFiles.Read(bytes, readOptions), encodeOptions);
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(targets[i]))!);
                // the item's own file, where the source is a folder: --force never replaces an input
                OutputFile.Write(targets[i], file, force, Path.Combine(input, items[i].Name));
                Interlocked.Add(ref bytesIn, bytes.Length);
                Interlocked.Add(ref bytesOut, file.Length);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Interlocked.Increment(ref failed);
                Console.Error.WriteLine($"l3: {Path.Combine(input, items[i].Name)}: {e.Message.ReplaceLineEndings(" ")}");
            }
        });
        string line = FormattableString.Invariant(
            $"encoded {items.Count - failed} of {items.Count} images into {output} ({bytesIn / 1e6:F1} MB → {bytesOut / 1e6:F1} MB, {(items.Count - failed) / clock.Elapsed.TotalSeconds:F1} images/s)");
        if (failed == 0)
        {
            Console.WriteLine(line);
            return 0;
        }
        Console.Error.WriteLine($"l3: {line}; {failed} failed (named above)");
        return 1;
    }

    /// <summary>`l3 verify` of many files: in parallel, each named with its result in input order.</summary>
    public static int VerifyFiles(IReadOnlyList<string> paths, int jobs)
    {
        var lines = new string?[paths.Count];
        var ok = new bool[paths.Count];
        Parallel.For(0, paths.Count, new ParallelOptions { MaxDegreeOfParallelism = jobs }, i =>
        {
            try
            {
                var header = L3Codec.Verify(InputFile.ReadL3(paths[i]));
                lines[i] = $"{paths[i]}: ok ({header.Width}x{header.Height}x{header.Channels}, N={header.PatchSize}, {CodingModes.Name(header.Mode)})";
                ok[i] = true;
            }
            catch (Exception e) when (e is L3FormatException or IOException or UnauthorizedAccessException)
            {
                lines[i] = $"l3: {paths[i]}: {e.Message.ReplaceLineEndings(" ")}";
            }
        });
        for (int i = 0; i < paths.Count; i++) (ok[i] ? Console.Out : Console.Error).WriteLine(lines[i]);
        int failed = ok.Count(x => !x);
        if (paths.Count > 1)
            (failed == 0 ? Console.Out : Console.Error).WriteLine(failed == 0
                ? $"{paths.Count} files ok"
                : $"l3: {failed} of {paths.Count} files failed verification");
        return failed == 0 ? 0 : 1;
    }
}
