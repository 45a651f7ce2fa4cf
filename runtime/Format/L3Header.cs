using System.Buffers.Binary;
using System.IO.Hashing;

namespace L3;

/// <summary>How the patches' pixels are coded; named in the header so that a decoder can refuse
/// a mode it does not know.</summary>
public enum L3CodingMode : byte
{
    /// <summary>v1 row coding: per-row predictor, zigzag residuals in width groups of 8.</summary>
    Rows = 0,
}

/// <summary>
/// The parsed and validated header and patch table of an L3 file (docs/FORMAT.md, "File layout").
/// Once <see cref="Read"/> returns, every field is in range and every patch's byte range lies
/// inside the payload; what remains to check lives inside each patch.
/// </summary>
public sealed class L3Header
{
    public static ReadOnlySpan<byte> Magic => "L3IF"u8;
    public const byte CurrentVersion = 1;

    /// <summary>Bytes of the fixed part of the header, before the patch table.</summary>
    public const int FixedSize = 32;
    public const int ChecksumSize = 8;

    /// <summary>Largest width or height (2^20).</summary>
    public const int MaxDimension = 1 << 20;

    /// <summary>Largest pixel count (2^28): at most 1 GiB of decoded RGBA, so a file can never
    /// ask for more memory than that, and every offset fits 32 bits.</summary>
    public const long MaxPixels = 1L << 28;

    public int Version { get; }
    public L3CodingMode Mode { get; }
    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public int PatchSize { get; }
    public int PatchesX { get; }
    public int PatchesY { get; }
    public int PatchCount => PatchesX * PatchesY;

    /// <summary>Bytes from the file's start to the payload (fixed header, table, checksum).</summary>
    public int PayloadStart { get; }
    public int PayloadLength { get; }
    public ulong PayloadChecksum { get; }

    private readonly uint[] _patchOffsets; // PatchCount + 1 entries, relative to the payload

    /// <summary>Bytes of decoded pixels: width × height × channels.</summary>
    public long DecodedBytes => (long)Width * Height * Channels;

    public long FileLength => PayloadStart + (long)PayloadLength;

    private L3Header(int width, int height, int channels, int patchSize, uint[] offsets, ulong payloadChecksum)
    {
        Version = CurrentVersion;
        Mode = L3CodingMode.Rows;
        Width = width;
        Height = height;
        Channels = channels;
        PatchSize = patchSize;
        PatchesX = (width + patchSize - 1) / patchSize;
        PatchesY = (height + patchSize - 1) / patchSize;
        _patchOffsets = offsets;
        PayloadStart = TableEnd(PatchCount) + ChecksumSize;
        PayloadLength = (int)offsets[^1];
        PayloadChecksum = payloadChecksum;
    }

    /// <summary>Byte range of patch <paramref name="index"/>, relative to the payload.</summary>
    public (int Start, int Length) PatchRange(int index) =>
        ((int)_patchOffsets[index], (int)(_patchOffsets[index + 1] - _patchOffsets[index]));

    /// <summary>The pixel rectangle patch <paramref name="index"/> covers (edge patches are smaller).</summary>
    public (int X, int Y, int Width, int Height) PatchRect(int index)
    {
        int px = index % PatchesX, py = index / PatchesX;
        int x = px * PatchSize, y = py * PatchSize;
        return (x, y, Math.Min(PatchSize, Width - x), Math.Min(PatchSize, Height - y));
    }

    /// <summary>The table's offsets (PatchCount + 1 entries), e.g. to hand to a GPU decoder.</summary>
    public ReadOnlySpan<uint> PatchOffsets => _patchOffsets;

    public static bool IsValidPatchSize(int n) => n is 8 or 16 or 32 or 64;
    public static bool IsValidChannelCount(int c) => c is 1 or 3 or 4;

    private static int TableEnd(int patchCount) => FixedSize + 4 * (patchCount + 1);

    /// <summary>Checks an image's shape against the format's limits; throws L3FormatException.</summary>
    public static void ValidateShape(long width, long height, int channels, int patchSize)
    {
        if (width < 1 || height < 1 || width > MaxDimension || height > MaxDimension)
            throw new L3FormatException($"image size {width}x{height} is outside 1..{MaxDimension} per side");
        if (width * height > MaxPixels)
            throw new L3FormatException($"image of {width * height} pixels exceeds the limit of {MaxPixels}");
        if (!IsValidChannelCount(channels))
            throw new L3FormatException($"channel count {channels} is not 1, 3 or 4");
        if (!IsValidPatchSize(patchSize))
            throw new L3FormatException($"patch size {patchSize} is not 8, 16, 32 or 64");
    }

    /// <summary>
    /// Reads and validates the header and patch table: magic, version, mode, shape, the header
    /// checksum, offsets that start at 0, never decrease and end at the payload's length, and a
    /// file exactly as long as the header says. The payload checksum is checked by
    /// <see cref="VerifyPayload"/>, since a region decode may want to skip it.
    /// </summary>
    public static L3Header Read(ReadOnlySpan<byte> file) => Read(file, file.Length);

    /// <summary>
    /// <see cref="Read(ReadOnlySpan{byte})"/> from the file's first bytes only, for a reader that has
    /// not read the rest (e.g. `l3 info` on a large file): <paramref name="headerAndTable"/> holds at
    /// least <see cref="HeaderLength"/> bytes, <paramref name="fileLength"/> is the whole file's length.
    /// </summary>
    public static L3Header Read(ReadOnlySpan<byte> headerAndTable, long fileLength)
    {
        var file = headerAndTable;
        int headerLength = HeaderLength(file, fileLength);
        if (file.Length < headerLength)
            throw new ArgumentException($"the header and table take {headerLength} bytes; {file.Length} were given", nameof(headerAndTable));
        int channels = file[6], patchSize = file[7];
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
        uint height = BinaryPrimitives.ReadUInt32LittleEndian(file[12..]);
        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(file[20..]);
        ulong payloadChecksum = BinaryPrimitives.ReadUInt64LittleEndian(file[24..]);
        int patchCount = (int)((width + patchSize - 1) / patchSize) * (int)((height + patchSize - 1) / patchSize);
        int tableEnd = TableEnd(patchCount);
        ulong headerChecksum = BinaryPrimitives.ReadUInt64LittleEndian(file[tableEnd..]);
        if (XxHash64.HashToUInt64(file[..tableEnd]) != headerChecksum)
            throw new L3FormatException("header checksum mismatch: the header or patch table is corrupt", tableEnd);
        long expectedLength = (long)tableEnd + ChecksumSize + payloadLength;
        if (fileLength != expectedLength)
            throw new L3FormatException($"file is {fileLength} bytes but its header says {expectedLength}", Math.Min(fileLength, expectedLength));

        var offsets = new uint[patchCount + 1];
        uint previous = 0;
        for (int i = 0; i <= patchCount; i++)
        {
            int at = FixedSize + 4 * i;
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(file[at..]);
            if (i == 0 && offset != 0)
                throw new L3FormatException($"the first patch offset is {offset}, not 0", at);
            if (offset < previous)
                throw new L3FormatException($"patch {i} starts at {offset}, before patch {i - 1} at {previous}", at);
            if (offset > payloadLength)
                throw new L3FormatException($"patch offset {offset} lies past the payload's {payloadLength} bytes", at);
            offsets[i] = previous = offset;
        }
        if (offsets[patchCount] != payloadLength)
            throw new L3FormatException($"the patch table ends at {offsets[patchCount]}, not at the payload's end {payloadLength}", tableEnd - 4);
        return new L3Header((int)width, (int)height, channels, patchSize, offsets, payloadChecksum);
    }

    /// <summary>
    /// Checks the fixed header's fields (the first <see cref="FixedSize"/> bytes; <paramref name="fileLength"/>
    /// is the whole file's length) and returns how many bytes the header, table and header checksum
    /// take, so that a reader can read those, and nothing more, before <see cref="Read(ReadOnlySpan{byte}, long)"/>.
    /// </summary>
    public static int HeaderLength(ReadOnlySpan<byte> fixedHeader, long fileLength)
    {
        var file = fixedHeader;
        if (fileLength < FixedSize)
            throw new L3FormatException($"file of {fileLength} bytes is shorter than the {FixedSize}-byte L3 header", fileLength);
        if (file.Length < FixedSize)
            throw new ArgumentException($"the fixed header takes {FixedSize} bytes; {file.Length} were given", nameof(fixedHeader));
        if (!file[..4].SequenceEqual(Magic))
            throw new L3FormatException("not an L3 file: the magic bytes are not \"L3IF\"", 0);
        int version = file[4];
        if (version != CurrentVersion)
            throw new L3FormatException($"L3 version {version} is not supported (this decoder reads version {CurrentVersion})", 4);
        if (file[5] != (byte)L3CodingMode.Rows)
            throw new L3FormatException($"coding mode {file[5]} is not known to this decoder", 5);
        int channels = file[6];
        if (!IsValidChannelCount(channels))
            throw new L3FormatException($"channel count {channels} is not 1, 3 or 4", 6);
        int patchSize = file[7];
        if (!IsValidPatchSize(patchSize))
            throw new L3FormatException($"patch size {patchSize} is not 8, 16, 32 or 64", 7);
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
        uint height = BinaryPrimitives.ReadUInt32LittleEndian(file[12..]);
        if (width < 1 || width > MaxDimension)
            throw new L3FormatException($"width {width} is outside 1..{MaxDimension}", 8);
        if (height < 1 || height > MaxDimension)
            throw new L3FormatException($"height {height} is outside 1..{MaxDimension}", 12);
        if ((long)width * height > MaxPixels)
            throw new L3FormatException($"image of {(long)width * height} pixels exceeds the limit of {MaxPixels}", 8);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(file[16..]);
        if (flags != 0)
            throw new L3FormatException($"header flags 0x{flags:X8} are reserved and must be 0", 16);

        int patchesX = (int)((width + patchSize - 1) / patchSize);
        int patchesY = (int)((height + patchSize - 1) / patchSize);
        int patchCount = patchesX * patchesY;
        int tableEnd = TableEnd(patchCount);
        if (fileLength < tableEnd + ChecksumSize)
            throw new L3FormatException($"file ends inside the patch table ({patchCount} patches need {tableEnd + ChecksumSize} header bytes)", fileLength);
        return tableEnd + ChecksumSize;
    }

    /// <summary>Checks the payload checksum; throws L3FormatException on a mismatch.</summary>
    public void VerifyPayload(ReadOnlySpan<byte> file)
    {
        if (XxHash64.HashToUInt64(file.Slice(PayloadStart, PayloadLength)) != PayloadChecksum)
            throw new L3FormatException("payload checksum mismatch: the pixel data is corrupt", PayloadStart);
    }

    /// <summary>Writes a whole file: header, table, header checksum, then the patches in order.</summary>
    internal static byte[] Assemble(int width, int height, int channels, int patchSize, IReadOnlyList<ArraySegment<byte>> patches)
    {
        int patchCount = patches.Count;
        int tableEnd = TableEnd(patchCount);
        long payloadLength = 0;
        foreach (var p in patches) payloadLength += p.Count;
        if (payloadLength > uint.MaxValue || tableEnd + ChecksumSize + payloadLength > Array.MaxLength)
            throw new L3FormatException($"encoded payload of {payloadLength} bytes is too large for one L3 file");
        var file = new byte[tableEnd + ChecksumSize + payloadLength];
        var span = file.AsSpan();
        Magic.CopyTo(span);
        span[4] = CurrentVersion;
        span[5] = (byte)L3CodingMode.Rows;
        span[6] = (byte)channels;
        span[7] = (byte)patchSize;
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)width);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)height);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)payloadLength);
        int payloadStart = tableEnd + ChecksumSize;
        uint offset = 0;
        for (int i = 0; i < patchCount; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[(FixedSize + 4 * i)..], offset);
            patches[i].AsSpan().CopyTo(span[(payloadStart + (int)offset)..]);
            offset += (uint)patches[i].Count;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(span[(FixedSize + 4 * patchCount)..], offset);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], XxHash64.HashToUInt64(span[payloadStart..]));
        BinaryPrimitives.WriteUInt64LittleEndian(span[tableEnd..], XxHash64.HashToUInt64(span[..tableEnd]));
        return file;
    }
}
