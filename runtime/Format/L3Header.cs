using System.Buffers.Binary;
using System.IO.Hashing;
using L3.Kernels;
using static L3.Kernels.FileLayout;

namespace L3;

/// <summary>How the patches' pixels are coded; named in the header so that a decoder can refuse
/// a mode it does not know.</summary>
public enum L3CodingMode : byte
{
    /// <summary>v1 row coding: per-row predictor, zigzag residuals in width groups of 8.</summary>
    Rows = 0,

    /// <summary>Dense: the same rows, their residual codes entropy-coded (interleaved rANS, one state
    /// per group of 8 columns, per-image tables chosen by the codes of the row above).</summary>
    Dense = 1,
}

/// <summary>
/// The parsed and validated header and patch table of an L3 file (docs/FORMAT.md, "File layout").
/// Once <see cref="Read"/> returns, every field is in range and every patch's byte range lies
/// inside the payload; what remains to check lives inside each patch.
/// </summary>
public sealed class L3Header
{
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

    private L3Header(L3CodingMode mode, int width, int height, int channels, int patchSize, uint[] offsets, ulong payloadChecksum)
    {
        Version = CurrentVersion;
        Mode = mode;
        Width = width;
        Height = height;
        Channels = channels;
        PatchSize = patchSize;
        PatchesX = PatchesAlong(width, patchSize);
        PatchesY = PatchesAlong(height, patchSize);
        _patchOffsets = offsets;
        PayloadStart = FileLayout.PayloadStart(PatchCount);
        PayloadLength = (int)offsets[^1];
        PayloadChecksum = payloadChecksum;
    }

    /// <summary>Bytes at the payload's start before the first patch: the probability tables of a
    /// dense file (offset[0]); 0 in row coding.</summary>
    public int TablesLength => (int)_patchOffsets[0];

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

    /// <summary><see cref="FileLayout.IsValidPatchSize"/>, for the callers that ask the header.</summary>
    public static bool IsValidPatchSize(int n) => FileLayout.IsValidPatchSize(n);

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
        int channels = file[ChannelsOffset], patchSize = file[PatchSizeOffset];
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(file[WidthOffset..]);
        uint height = BinaryPrimitives.ReadUInt32LittleEndian(file[HeightOffset..]);
        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(file[PayloadLengthOffset..]);
        ulong payloadChecksum = BinaryPrimitives.ReadUInt64LittleEndian(file[PayloadChecksumOffset..]);
        int patchCount = PatchesAlong((int)width, patchSize) * PatchesAlong((int)height, patchSize);
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
            int at = TableEntryOffset(i);
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(file[at..]);
            if (i == 0 && offset != 0 && file[ModeOffset] == (byte)L3CodingMode.Rows)
                throw new L3FormatException($"the first patch offset is {offset}, not 0", at);
            if (offset < previous)
                throw new L3FormatException($"patch {i} starts at {offset}, before patch {i - 1} at {previous}", at);
            if (offset > payloadLength)
                throw new L3FormatException($"patch offset {offset} lies past the payload's {payloadLength} bytes", at);
            offsets[i] = previous = offset;
        }
        if (offsets[patchCount] != payloadLength)
            throw new L3FormatException($"the patch table ends at {offsets[patchCount]}, not at the payload's end {payloadLength}", TableEntryOffset(patchCount));
        return new L3Header((L3CodingMode)file[ModeOffset], (int)width, (int)height, channels, patchSize, offsets, payloadChecksum);
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
        if (BinaryPrimitives.ReadUInt32LittleEndian(file[MagicOffset..]) != FileLayout.Magic)
            throw new L3FormatException("not an L3 file: the magic bytes are not \"L3IF\"", MagicOffset);
        int version = file[VersionOffset];
        if (version != CurrentVersion)
            throw new L3FormatException($"L3 version {version} is not supported (this decoder reads version {CurrentVersion})", VersionOffset);
        if (file[ModeOffset] is not ((byte)L3CodingMode.Rows or (byte)L3CodingMode.Dense))
            throw new L3FormatException($"coding mode {file[ModeOffset]} is not known to this decoder", ModeOffset);
        int channels = file[ChannelsOffset];
        if (!IsValidChannelCount(channels))
            throw new L3FormatException($"channel count {channels} is not 1, 3 or 4", ChannelsOffset);
        int patchSize = file[PatchSizeOffset];
        if (!IsValidPatchSize(patchSize))
            throw new L3FormatException($"patch size {patchSize} is not 8, 16, 32 or 64", PatchSizeOffset);
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(file[WidthOffset..]);
        uint height = BinaryPrimitives.ReadUInt32LittleEndian(file[HeightOffset..]);
        if (width < 1 || width > MaxDimension)
            throw new L3FormatException($"width {width} is outside 1..{MaxDimension}", WidthOffset);
        if (height < 1 || height > MaxDimension)
            throw new L3FormatException($"height {height} is outside 1..{MaxDimension}", HeightOffset);
        if ((long)width * height > MaxPixels)
            throw new L3FormatException($"image of {(long)width * height} pixels exceeds the limit of {MaxPixels}", WidthOffset);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(file[FlagsOffset..]);
        if (flags != 0)
            throw new L3FormatException($"header flags 0x{flags:X8} are reserved and must be 0", FlagsOffset);

        int patchCount = PatchesAlong((int)width, patchSize) * PatchesAlong((int)height, patchSize);
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

    /// <summary>Writes a whole file: header, table, header checksum, then the patches in order,
    /// after <paramref name="tables"/> (a dense file's probability tables) when given.</summary>
    internal static byte[] Assemble(int width, int height, int channels, int patchSize, IReadOnlyList<ArraySegment<byte>> patches,
        L3CodingMode mode = L3CodingMode.Rows, byte[]? tables = null)
    {
        int patchCount = patches.Count;
        int payloadStart = FileLayout.PayloadStart(patchCount);
        long payloadLength = tables?.Length ?? 0;
        foreach (var p in patches) payloadLength += p.Count;
        if (payloadLength > uint.MaxValue || payloadStart + payloadLength > Array.MaxLength)
            throw new L3FormatException($"encoded payload of {payloadLength} bytes is too large for one L3 file");
        var file = new byte[payloadStart + payloadLength];
        var span = file.AsSpan();
        tables?.CopyTo(span[payloadStart..]);
        uint offset = (uint)(tables?.Length ?? 0);
        for (int i = 0; i < patchCount; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[TableEntryOffset(i)..], offset);
            patches[i].AsSpan().CopyTo(span[(payloadStart + (int)offset)..]);
            offset += (uint)patches[i].Count;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(span[TableEntryOffset(patchCount)..], offset);
        Complete(span, width, height, channels, patchSize, mode);
        return file;
    }

    /// <summary>
    /// Completes a file whose patch table and payload are in place (and whose length is exactly
    /// header, table, checksum and payload): writes the fixed header's fields, the payload
    /// checksum and the header checksum. The one writer of the header, for the CPU and GPU encoders.
    /// </summary>
    internal static void Complete(Span<byte> file, int width, int height, int channels, int patchSize, L3CodingMode mode = L3CodingMode.Rows)
    {
        int patchCount = PatchesAlong(width, patchSize) * PatchesAlong(height, patchSize);
        int tableEnd = TableEnd(patchCount), payloadStart = FileLayout.PayloadStart(patchCount);
        BinaryPrimitives.WriteUInt32LittleEndian(file[MagicOffset..], FileLayout.Magic);
        file[VersionOffset] = CurrentVersion;
        file[ModeOffset] = (byte)mode;
        file[ChannelsOffset] = (byte)channels;
        file[PatchSizeOffset] = (byte)patchSize;
        BinaryPrimitives.WriteUInt32LittleEndian(file[WidthOffset..], (uint)width);
        BinaryPrimitives.WriteUInt32LittleEndian(file[HeightOffset..], (uint)height);
        BinaryPrimitives.WriteUInt32LittleEndian(file[FlagsOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(file[PayloadLengthOffset..], (uint)(file.Length - payloadStart));
        BinaryPrimitives.WriteUInt64LittleEndian(file[PayloadChecksumOffset..], XxHash64.HashToUInt64(file[payloadStart..]));
        BinaryPrimitives.WriteUInt64LittleEndian(file[tableEnd..], XxHash64.HashToUInt64(file[..tableEnd]));
    }
}
