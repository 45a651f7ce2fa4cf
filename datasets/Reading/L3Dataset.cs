using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace L3.Datasets;

/// <summary>Where sample i lies: its shard, its place there, and its index record.</summary>
public readonly record struct SampleLocation(long Sample, int Shard, int IndexInShard, SampleEntry Entry);

/// <summary>
/// A finished dataset, opened for reading: sample i → its shard, byte range and label, from the
/// manifest and the shard indexes alone; reads are positional (thread-safe) on shared handles.
/// Shard indexes are loaded on first use and checked against the manifest; a missing, truncated
/// or altered shard or index is an <see cref="L3FormatException"/> naming it.
/// </summary>
public sealed class L3Dataset : IDisposable
{
    private readonly ShardIndex?[] _indexes;
    private readonly SafeFileHandle?[] _handles;
    private readonly long[] _firstSamples;
    private readonly Lock _gate = new();
    private bool _disposed;

    public string Directory { get; }
    public DatasetManifest Manifest { get; }

    public long Count => Manifest.Samples;
    public IReadOnlyList<string> Classes => Manifest.Classes;
    public IReadOnlyList<ShardInfo> Shards => Manifest.Shards;

    private L3Dataset(string directory, DatasetManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
        _indexes = new ShardIndex?[manifest.Shards.Count];
        _handles = new SafeFileHandle?[manifest.Shards.Count];
        _firstSamples = manifest.Shards.Select(s => s.FirstSample).ToArray();
    }

    /// <summary>True when <paramref name="directory"/> holds a dataset manifest (finished or not, see <see cref="Open"/>).</summary>
    public static bool IsDataset(string directory) =>
        System.IO.Directory.Exists(directory)
        && (File.Exists(Path.Combine(directory, DatasetLayout.ManifestFile)) || File.Exists(Path.Combine(directory, DatasetLayout.PlanFile)));

    public static L3Dataset Open(string directory)
    {
        string manifestPath = Path.Combine(directory, DatasetLayout.ManifestFile);
        if (!File.Exists(manifestPath))
        {
            if (File.Exists(Path.Combine(directory, DatasetLayout.PlanFile)))
                throw new L3FormatException($"dataset {directory} is not finished: some shards are still missing or it was never finalized " +
                                            "(run the conversion again, or `l3 convert --finalize`)");
            throw new L3FormatException($"{directory} is not an L3 dataset (no {DatasetLayout.ManifestFile})");
        }
        return new L3Dataset(directory, DatasetManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath));
    }

    /// <summary>The shard holding sample <paramref name="sample"/> and its place there.</summary>
    public (int Shard, int IndexInShard) Find(long sample)
    {
        if ((ulong)sample >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(sample), $"sample {sample} is not in 0..{Count - 1}");
        int shard = Array.BinarySearch(_firstSamples, sample);
        if (shard < 0) shard = ~shard - 1;
        // empty shards share their first sample with the next: move on to the one that holds it
        while (Manifest.Shards[shard].Samples == 0 || sample >= _firstSamples[shard] + Manifest.Shards[shard].Samples) shard++;
        return (shard, (int)(sample - _firstSamples[shard]));
    }

    public SampleLocation Locate(long sample)
    {
        var (shard, local) = Find(sample);
        return new SampleLocation(sample, shard, local, GetIndex(shard).Samples[local]);
    }

    /// <summary>The label of sample i (−1 when unlabelled).</summary>
    public int GetLabel(long sample) => Locate(sample).Entry.Label;

    /// <summary>Sample i's L3 file, read from its shard.</summary>
    public byte[] ReadSample(long sample)
    {
        var location = Locate(sample);
        var bytes = GC.AllocateUninitializedArray<byte>(location.Entry.Length);
        ReadMember(location.Shard, location.Entry.DataOffset, bytes, location);
        return bytes;
    }

    /// <summary>Reads sample i's L3 file into <paramref name="destination"/>; returns its length.</summary>
    public int ReadSample(long sample, Span<byte> destination)
    {
        var location = Locate(sample);
        if (destination.Length < location.Entry.Length)
            throw new ArgumentException($"sample {sample} is {location.Entry.Length} bytes; the destination holds {destination.Length}", nameof(destination));
        ReadMember(location.Shard, location.Entry.DataOffset, destination[..location.Entry.Length], location);
        return location.Entry.Length;
    }

    /// <summary>Sample i's KEY.json member (source path, class, shape).</summary>
    public byte[] ReadMetadata(long sample)
    {
        var location = Locate(sample);
        var bytes = new byte[location.Entry.MetadataLength];
        ReadMember(location.Shard, location.Entry.MetadataOffset, bytes, location);
        return bytes;
    }

    /// <summary>The source path sample i was converted from.</summary>
    /// <exception cref="L3FormatException">the metadata member is not a JSON object with a "source" string</exception>
    public string GetSource(long sample)
    {
        var metadata = ReadMetadata(sample);
        try
        {
            return SampleMetadata.ReadSource(metadata);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            var location = Locate(sample);
            throw new L3FormatException($"{Manifest.Shards[location.Shard].Tar}: sample {sample} (key {location.Entry.Key}) has metadata " +
                                        $"that is not a JSON object with a source: {e.Message}");
        }
    }

    private void ReadMember(int shard, long offset, Span<byte> destination, SampleLocation location)
    {
        var handle = GetHandle(shard);
        int done = 0;
        while (done < destination.Length)
        {
            int read = RandomAccess.Read(handle, destination[done..], offset + done);
            if (read == 0)
                throw new L3FormatException($"{Manifest.Shards[shard].Tar} ends inside sample {location.Sample} (key {location.Entry.Key})", offset + done);
            done += read;
        }
    }

    /// <summary>The index of shard <paramref name="shard"/>, loaded and checked on first use: its
    /// XXH64 and length against the manifest, its tar's length against the index.</summary>
    public ShardIndex GetIndex(int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, _indexes.Length);
        var index = Volatile.Read(ref _indexes[shard]);
        if (index is not null) return index;
        var info = Manifest.Shards[shard];
        string path = DatasetLayout.Resolve(Directory, info.Index);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new L3FormatException($"shard index {info.Index} is missing"); }
        if (bytes.Length != info.IndexBytes || XxHash64.HashToUInt64(bytes) != info.IndexChecksum)
            throw new L3FormatException($"shard index {info.Index} does not match the manifest's length or XXH64");
        index = ShardIndex.Parse(bytes, info.Index);
        if (index.Shard != shard || index.Samples.Count != info.Samples || index.TarLength != info.TarBytes || index.TarChecksum != info.TarChecksum)
            throw new L3FormatException($"shard index {info.Index} disagrees with the manifest");
        Volatile.Write(ref _indexes[shard], index);
        return index;
    }

    private SafeFileHandle GetHandle(int shard)
    {
        var handle = Volatile.Read(ref _handles[shard]);
        if (handle is not null) return handle;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_handles[shard] is { } existing) return existing;
            var info = Manifest.Shards[shard];
            string path = DatasetLayout.Resolve(Directory, info.Tar);
            try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess); }
            catch (FileNotFoundException) { throw new L3FormatException($"shard {info.Tar} is missing"); }
            long length = RandomAccess.GetLength(handle);
            if (length != info.TarBytes)
            {
                handle.Dispose();
                throw new L3FormatException($"shard {info.Tar} is {length} bytes; the manifest says {info.TarBytes} (truncated or replaced)");
            }
            Volatile.Write(ref _handles[shard], handle);
            return handle;
        }
    }

    /// <summary>The full path of shard <paramref name="shard"/>'s tar (for shard-local readers).</summary>
    public string ShardPath(int shard) => DatasetLayout.Resolve(Directory, Manifest.Shards[shard].Tar);

    /// <summary>Every failure recorded by the conversion, in input order.</summary>
    public IEnumerable<ConvertFailure> Failures() =>
        Enumerable.Range(0, Shards.Count).SelectMany(s => GetIndex(s).Failures);

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var handle in _handles) handle?.Dispose();
        }
    }
}
