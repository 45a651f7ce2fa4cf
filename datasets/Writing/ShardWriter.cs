using System.Formats.Tar;
using System.IO.Hashing;

namespace L3.Datasets;

/// <summary>A converted sample on its way into a shard.</summary>
public sealed record SampleToWrite(
    long Ordinal, byte[] L3File, int Width, int Height, int Channels, int PatchSize,
    int Label, string? ClassName, string Source, long SourceBytes);

/// <summary>
/// Writes one shard: the tar into a temporary file (hashing as it goes), then, on
/// <see cref="Complete"/>, flushes and renames it, and writes the index the same way. The index
/// is written last, so a shard whose index is under its final name is complete. Disposing an
/// incomplete writer deletes its temporary file.
/// </summary>
public sealed class ShardWriter : IDisposable
{
    private readonly string _datasetDirectory;
    private readonly int _shard;
    private readonly long _firstOrdinal;
    private readonly int _inputCount;
    private readonly string _tempPath;
    private readonly FileStream _file;
    private readonly HashingStream _stream;
    private readonly TarWriter _tar;
    private readonly List<SampleEntry> _samples = [];
    private readonly List<ConvertFailure> _failures = [];
    private long _nextOrdinal;
    private bool _completed;

    public ShardWriter(string datasetDirectory, int shard, long firstOrdinal, int inputCount)
    {
        _datasetDirectory = datasetDirectory;
        _shard = shard;
        _firstOrdinal = _nextOrdinal = firstOrdinal;
        _inputCount = inputCount;
        string tarPath = DatasetLayout.Resolve(datasetDirectory, DatasetLayout.ShardTarPath(shard));
        Directory.CreateDirectory(Path.GetDirectoryName(tarPath)!);
        _tempPath = DurableFile.TemporaryPathFor(tarPath);
        _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 20);
        _stream = new HashingStream(_file);
        _tar = new TarWriter(_stream, TarEntryFormat.Ustar, leaveOpen: true);
    }

    /// <summary>The temporary file being written (tests simulate a kill by leaving it behind).</summary>
    internal string TemporaryPath => _tempPath;

    public int SampleCount => _samples.Count;

    public void Add(SampleToWrite sample)
    {
        TakeOrdinal(sample.Ordinal);
        string key = DatasetLayout.Key(sample.Ordinal);
        var (dataOffset, _) = WriteMember(key + DatasetLayout.ImageSuffix, sample.L3File);
        if (sample.Label >= 0)
            WriteMember(key + DatasetLayout.LabelSuffix, System.Text.Encoding.ASCII.GetBytes(sample.Label.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        byte[] metadata = SampleMetadata.Serialize(key, sample);
        var (metadataOffset, metadataLength) = WriteMember(key + DatasetLayout.MetadataSuffix, metadata);
        _samples.Add(new SampleEntry(sample.Ordinal, dataOffset, sample.L3File.Length, sample.Width, sample.Height,
            sample.Channels, sample.PatchSize, sample.Label, metadataOffset, metadataLength, sample.SourceBytes));
    }

    public void AddFailure(ConvertFailure failure)
    {
        TakeOrdinal(failure.Ordinal);
        _failures.Add(failure);
    }

    /// <summary>Inputs come in order, each once, inside the shard's range: so the shard's bytes
    /// depend on its inputs alone.</summary>
    private void TakeOrdinal(long ordinal)
    {
        if (_completed) throw new InvalidOperationException("the shard is already complete");
        if (ordinal != _nextOrdinal || ordinal >= _firstOrdinal + _inputCount)
            throw new InvalidOperationException($"shard {_shard}: input {ordinal} given where {_nextOrdinal} was due");
        _nextOrdinal++;
    }

    private (long Offset, int Length) WriteMember(string name, byte[] data)
    {
        _tar.WriteEntry(TarLayout.Member(name, data));
        // the data is the last thing written, padded to whole blocks
        long offset = _stream.Position - TarLayout.RoundUp(data.Length);
        return (offset, data.Length);
    }

    /// <summary>Finishes the tar, publishes it and then the index; returns the index.</summary>
    public ShardIndex Complete()
    {
        if (_nextOrdinal != _firstOrdinal + _inputCount)
            throw new InvalidOperationException($"shard {_shard}: {_nextOrdinal - _firstOrdinal} of {_inputCount} inputs given");
        _tar.Dispose(); // the two zero blocks that end an archive
        _file.Flush(flushToDisk: true);
        long length = _stream.Position;
        ulong checksum = _stream.Checksum;
        _file.Dispose();

        DurableFile.Publish(_tempPath, DatasetLayout.Resolve(_datasetDirectory, DatasetLayout.ShardTarPath(_shard)), replace: true);
        var index = new ShardIndex(_shard, _firstOrdinal, _inputCount, length, checksum, _samples, _failures);
        DurableFile.WriteReplacing(DatasetLayout.Resolve(_datasetDirectory, DatasetLayout.ShardIndexPath(_shard)), index.Serialize());
        _completed = true;
        return index;
    }

    /// <summary>Test hook: stops as a killed process would, leaving the temporary file behind.</summary>
    internal void Abandon()
    {
        _completed = true;
        _file.Flush();
        _file.Dispose();
    }

    public void Dispose()
    {
        if (_completed) return;
        _completed = true;
        _tar.Dispose();
        _file.Dispose();
        DurableFile.TryDelete(_tempPath);
    }

    /// <summary>Passes writes through, counting and hashing them (XXH64 of the whole tar).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly XxHash64 _hash = new();
        private long _length;

        public ulong Checksum => _hash.GetCurrentHashAsUInt64();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.Append(buffer);
            inner.Write(buffer);
            _length += buffer.Length;
        }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>The KEY.json member of a sample: where it came from and what it holds.</summary>
internal static class SampleMetadata
{
    public static byte[] Serialize(string key, SampleToWrite s)
    {
        var buffer = new MemoryStream();
        using (var w = DatasetManifest.Json.Writer(buffer, indented: false))
        {
            w.WriteStartObject();
            w.WriteString("key", key);
            w.WriteString("source", s.Source);
            w.WriteNumber("source_bytes", s.SourceBytes);
            w.WriteNumber("label", s.Label);
            if (s.ClassName is not null) w.WriteString("class", s.ClassName);
            w.WriteNumber("width", s.Width);
            w.WriteNumber("height", s.Height);
            w.WriteNumber("channels", s.Channels);
            w.WriteNumber("patch_size", s.PatchSize);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The source path recorded in a KEY.json member.</summary>
    public static string ReadSource(ReadOnlySpan<byte> json)
    {
        using var document = DatasetManifest.Json.Parse(json);
        return document.RootElement.GetProperty("source").GetString() ?? "";
    }
}
