using System.Formats.Tar;
using System.IO.Hashing;

namespace L3.Datasets;

/// <summary>What `l3 verify DATASET` found.</summary>
public sealed record VerifyReport(int Shards, long Samples, long Bytes, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Checks a whole dataset: every shard's length and XXH64 against the manifest, every tar member
/// against the index (names, order, data offsets, label members), nothing else in the tar, and
/// every sample decoded in full with its shape matching the index.
/// </summary>
public static class DatasetVerifier
{
    public static VerifyReport Verify(L3Dataset dataset, int jobs, Action<long, long>? progress = null)
    {
        var problems = new System.Collections.Concurrent.ConcurrentBag<(long Order, string Message)>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = jobs };
        long bytes = 0;

        Parallel.For(0, dataset.Shards.Count, options, shard =>
        {
            try
            {
                CheckShardFile(dataset, shard);
                Interlocked.Add(ref bytes, dataset.Shards[shard].TarBytes);
            }
            catch (Exception e) when (e is L3FormatException or IOException or InvalidDataException or FormatException)
            {
                problems.Add((dataset.Shards[shard].FirstSample * 2, e.Message));
            }
        });

        long checkedSamples = 0;
        Parallel.For(0L, dataset.Count, options, sample =>
        {
            try
            {
                var location = dataset.Locate(sample);
                var header = L3Codec.Verify(dataset.ReadSample(sample));
                var e = location.Entry;
                if (header.Width != e.Width || header.Height != e.Height || header.Channels != e.Channels || header.PatchSize != e.PatchSize)
                    throw new L3FormatException($"sample {sample} (key {e.Key}) is {header.Width}x{header.Height}x{header.Channels} N={header.PatchSize}; " +
                                                $"the index says {e.Width}x{e.Height}x{e.Channels} N={e.PatchSize}");
            }
            catch (L3FormatException e)
            {
                problems.Add((sample * 2 + 1, $"{ShardOf(dataset, sample)}: sample {sample}: {e.Message}"));
            }
            progress?.Invoke(Interlocked.Increment(ref checkedSamples), dataset.Count);
        });

        return new VerifyReport(dataset.Shards.Count, dataset.Count, bytes,
            problems.OrderBy(p => p.Order).Select(p => p.Message).ToList());
    }

    private static string ShardOf(L3Dataset dataset, long sample)
    {
        try { return dataset.Shards[dataset.Find(sample).Shard].Tar; }
        catch (ArgumentOutOfRangeException) { return "?"; }
    }

    /// <summary>The tar's length and XXH64, then its members against the index, read as any tar reader reads them.</summary>
    private static void CheckShardFile(L3Dataset dataset, int shard)
    {
        var info = dataset.Shards[shard];
        var index = dataset.GetIndex(shard);
        string path = dataset.ShardPath(shard);
        if (!File.Exists(path)) throw new L3FormatException($"{info.Tar} is missing");
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan))
        {
            if (stream.Length != info.TarBytes) throw new L3FormatException($"{info.Tar} is {stream.Length} bytes; the manifest says {info.TarBytes}");
            var hash = new XxHash64();
            hash.Append(stream);
            if (hash.GetCurrentHashAsUInt64() != info.TarChecksum)
                throw new L3FormatException($"{info.Tar}: XXH64 {DatasetManifest.Hex(hash.GetCurrentHashAsUInt64())} is not the manifest's {DatasetManifest.Hex(info.TarChecksum)}");
        }

        var expected = new List<(string Name, long Offset, long Length, int Label)>();
        foreach (var e in index.Samples)
        {
            expected.Add((e.Key + DatasetLayout.ImageSuffix, e.DataOffset, e.Length, -1));
            if (e.Label >= 0) expected.Add((e.Key + DatasetLayout.LabelSuffix, -1, -1, e.Label));
            expected.Add((e.Key + DatasetLayout.MetadataSuffix, e.MetadataOffset, e.MetadataLength, -1));
        }
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        using (var reader = new TarReader(stream))
        {
            int i = 0;
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (i >= expected.Count) throw new L3FormatException($"{info.Tar}: member '{entry.Name}' is not in the index");
                var (name, offset, length, label) = expected[i];
                if (entry.Name != name || entry.EntryType != TarEntryType.RegularFile
                    || (offset >= 0 && (entry.DataOffset != offset || entry.Length != length)))
                    throw new L3FormatException($"{info.Tar}: member {i} is '{entry.Name}' at {entry.DataOffset} ({entry.Length} bytes); the index expects '{name}' at {offset} ({length} bytes)");
                if (name.EndsWith(DatasetLayout.LabelSuffix, StringComparison.Ordinal))
                {
                    using var data = new StreamReader(entry.DataStream!);
                    string text = data.ReadToEnd();
                    if (text != label.ToString(System.Globalization.CultureInfo.InvariantCulture))
                        throw new L3FormatException($"{info.Tar}: '{name}' says '{text}'; the index says label {label}");
                }
                i++;
            }
            if (i != expected.Count) throw new L3FormatException($"{info.Tar} holds {i} members; the index lists {expected.Count}");
        }
    }
}
