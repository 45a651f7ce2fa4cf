using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace L3.Datasets;

/// <summary>One sample of a shard, as its index records it (docs/DATASET.md §3): where its L3
/// file lies in the tar and what it holds, so a reader needs neither the tar headers nor the file.</summary>
public readonly record struct SampleEntry(
    long Ordinal, long DataOffset, int Length, int Width, int Height, int Channels, int PatchSize,
    int Label, long MetadataOffset, int MetadataLength, long SourceBytes)
{
    /// <summary>The sample's key: its input ordinal, zero-padded.</summary>
    public string Key => DatasetLayout.Key(Ordinal);

    /// <summary>Bytes of the decoded image (width × height × channels).</summary>
    public long DecodedBytes => (long)Width * Height * Channels;
}

/// <summary>An input that could not be converted, and why (one line).</summary>
public sealed record ConvertFailure(long Ordinal, string Source, string Reason);

/// <summary>
/// The index of one shard (`shard-NNNNNN.idx`, docs/DATASET.md §3): a 64-byte header, one
/// 56-byte record per sample, the inputs of the shard that failed, and an XXH64 of all of it.
/// Writing it (after the tar) is what marks a shard complete.
/// </summary>
public sealed class ShardIndex
{
    public static ReadOnlySpan<byte> Magic => "L3DX"u8;
    public const int CurrentVersion = 1;
    public const int HeaderSize = 64;
    public const int RecordSize = 56;
    private const int ChecksumSize = 8;

    public int Shard { get; }

    /// <summary>The first input ordinal of the shard and how many inputs it covers (samples + failures).</summary>
    public long FirstOrdinal { get; }
    public int InputCount { get; }

    /// <summary>Length and XXH64 of the shard's tar file.</summary>
    public long TarLength { get; }
    public ulong TarChecksum { get; }

    public IReadOnlyList<SampleEntry> Samples { get; }
    public IReadOnlyList<ConvertFailure> Failures { get; }

    public ShardIndex(int shard, long firstOrdinal, int inputCount, long tarLength, ulong tarChecksum,
        IReadOnlyList<SampleEntry> samples, IReadOnlyList<ConvertFailure> failures)
    {
        if (samples.Count + failures.Count != inputCount)
            throw new ArgumentException($"shard {shard}: {samples.Count} samples and {failures.Count} failures do not make {inputCount} inputs");
        Shard = shard;
        FirstOrdinal = firstOrdinal;
        InputCount = inputCount;
        TarLength = tarLength;
        TarChecksum = tarChecksum;
        Samples = samples;
        Failures = failures;
    }

    public byte[] Serialize()
    {
        var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], CurrentVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], RecordSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)Shard);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)Samples.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)Failures.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], (ulong)FirstOrdinal);
        BinaryPrimitives.WriteUInt32LittleEndian(header[32..], (uint)InputCount);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], (ulong)TarLength);
        BinaryPrimitives.WriteUInt64LittleEndian(header[48..], TarChecksum);
        stream.Write(header);

        Span<byte> record = stackalloc byte[RecordSize];
        foreach (var s in Samples)
        {
            record.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)s.Ordinal);
            BinaryPrimitives.WriteUInt64LittleEndian(record[8..], (ulong)s.DataOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(record[16..], (uint)s.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[20..], (uint)s.Width);
            BinaryPrimitives.WriteUInt32LittleEndian(record[24..], (uint)s.Height);
            record[28] = (byte)s.Channels;
            record[29] = (byte)s.PatchSize;
            BinaryPrimitives.WriteInt32LittleEndian(record[32..], s.Label);
            BinaryPrimitives.WriteUInt32LittleEndian(record[36..], (uint)s.MetadataLength);
            BinaryPrimitives.WriteUInt64LittleEndian(record[40..], (ulong)s.MetadataOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(record[48..], (ulong)s.SourceBytes);
            stream.Write(record);
        }

        Span<byte> word = stackalloc byte[8];
        foreach (var f in Failures)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(word, (ulong)f.Ordinal);
            stream.Write(word);
            WriteString(stream, f.Source);
            WriteString(stream, f.Reason);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(word, XxHash64.HashToUInt64(stream.GetBuffer().AsSpan(0, (int)stream.Length)));
        stream.Write(word);
        return stream.ToArray();
    }

    private static void WriteString(Stream stream, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
        stream.Write(length);
        stream.Write(bytes);
    }

    /// <summary>Reads and checks an index; <paramref name="name"/> names it in errors. Every
    /// record is checked against the tar length it states, so a reader never reads outside the tar.</summary>
    public static ShardIndex Parse(ReadOnlySpan<byte> file, string name)
    {
        if (file.Length < HeaderSize + ChecksumSize) throw Bad(name, $"is {file.Length} bytes, shorter than an index header", 0);
        if (!file[..4].SequenceEqual(Magic)) throw Bad(name, "is not a shard index (magic L3DX expected)", 0);
        int version = BinaryPrimitives.ReadUInt16LittleEndian(file[4..]);
        if (version != CurrentVersion) throw Bad(name, $"has index version {version}; this reader knows {CurrentVersion}", 4);
        if (BinaryPrimitives.ReadUInt16LittleEndian(file[6..]) != RecordSize) throw Bad(name, "has an unknown record size", 6);
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(file[^ChecksumSize..]);
        if (XxHash64.HashToUInt64(file[..^ChecksumSize]) != stored)
            throw Bad(name, "checksum does not match its contents", file.Length - ChecksumSize);

        int shard = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(file[8..]));
        uint sampleCount = BinaryPrimitives.ReadUInt32LittleEndian(file[12..]);
        uint failureCount = BinaryPrimitives.ReadUInt32LittleEndian(file[16..]);
        long firstOrdinal = (long)BinaryPrimitives.ReadUInt64LittleEndian(file[24..]);
        uint inputCount = BinaryPrimitives.ReadUInt32LittleEndian(file[32..]);
        long tarLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(file[40..]);
        ulong tarChecksum = BinaryPrimitives.ReadUInt64LittleEndian(file[48..]);
        if ((long)sampleCount + failureCount != inputCount || inputCount > int.MaxValue || firstOrdinal < 0 || tarLength < 0)
            throw Bad(name, "header counts are inconsistent", 12);
        if ((long)HeaderSize + (long)sampleCount * RecordSize > file.Length - ChecksumSize)
            throw Bad(name, $"is too short for its {sampleCount} records", HeaderSize);

        var samples = new SampleEntry[sampleCount];
        long previous = firstOrdinal - 1;
        for (int i = 0; i < samples.Length; i++)
        {
            int at = HeaderSize + i * RecordSize;
            var r = file.Slice(at, RecordSize);
            var entry = new SampleEntry(
                Ordinal: (long)BinaryPrimitives.ReadUInt64LittleEndian(r),
                DataOffset: (long)BinaryPrimitives.ReadUInt64LittleEndian(r[8..]),
                Length: (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[16..]), int.MaxValue),
                Width: (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[20..]), int.MaxValue),
                Height: (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[24..]), int.MaxValue),
                Channels: r[28], PatchSize: r[29],
                Label: BinaryPrimitives.ReadInt32LittleEndian(r[32..]),
                MetadataOffset: (long)BinaryPrimitives.ReadUInt64LittleEndian(r[40..]),
                MetadataLength: (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[36..]), int.MaxValue),
                SourceBytes: (long)BinaryPrimitives.ReadUInt64LittleEndian(r[48..]));
            // keys rise within the shard and stay in its input range; data lies inside the tar on 512-byte blocks
            if (entry.Ordinal <= previous || entry.Ordinal >= firstOrdinal + inputCount)
                throw Bad(name, $"record {i}: key {entry.Ordinal} is out of order or outside the shard's inputs", at);
            if (!InsideTar(entry.DataOffset, entry.Length, tarLength) || !InsideTar(entry.MetadataOffset, entry.MetadataLength, tarLength))
                throw Bad(name, $"record {i}: member data lies outside the {tarLength}-byte tar or off a 512-byte block", at + 8);
            if (r[30] != 0 || r[31] != 0 || entry.Label < -1 || entry.SourceBytes < 0
                || !L3.Kernels.FileLayout.IsValidChannelCount(entry.Channels) || !L3Header.IsValidPatchSize(entry.PatchSize)
                || entry.Width < 1 || entry.Height < 1 || entry.Width > L3.Kernels.FileLayout.MaxDimension || entry.Height > L3.Kernels.FileLayout.MaxDimension)
                throw Bad(name, $"record {i}: shape, label or reserved bytes are invalid", at + 20);
            previous = entry.Ordinal;
            samples[i] = entry;
        }

        var failures = new ConvertFailure[failureCount];
        int position = HeaderSize + (int)sampleCount * RecordSize;
        var body = file[..^ChecksumSize];
        for (int i = 0; i < failures.Length; i++)
        {
            if (body.Length - position < 8) throw Bad(name, $"failure {i} is truncated", position);
            long ordinal = (long)BinaryPrimitives.ReadUInt64LittleEndian(body[position..]);
            position += 8;
            string source = ReadString(body, ref position, name);
            string reason = ReadString(body, ref position, name);
            failures[i] = new ConvertFailure(ordinal, source, reason);
        }
        if (position != body.Length) throw Bad(name, "has bytes after its failures", position);
        return new ShardIndex(shard, firstOrdinal, (int)inputCount, tarLength, tarChecksum, samples, failures);
    }

    private static bool InsideTar(long offset, int length, long tarLength) =>
        offset >= TarLayout.BlockSize && offset % TarLayout.BlockSize == 0 && length >= 0 && offset + length <= tarLength;

    private static string ReadString(ReadOnlySpan<byte> body, ref int position, string name)
    {
        if (body.Length - position < 4) throw Bad(name, "a failure record is truncated", position);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(body[position..]);
        position += 4;
        if (length > body.Length - position) throw Bad(name, "a failure record is truncated", position);
        string value = Encoding.UTF8.GetString(body.Slice(position, (int)length));
        position += (int)length;
        return value;
    }

    private static L3FormatException Bad(string name, string message, long offset) => new($"shard index {name} {message}", offset);
}
