using L3.Kernels;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace L3.TestSupport;

/// <summary>Small files built byte by byte, for what no encoder at hand writes: 16-bit PNGs,
/// truncated PNGs, PNGs with extra chunks, animated GIFs, CMYK JPEGs, EXIF orientation, and an L3
/// header that claims far more than its file holds.</summary>
public static class CraftedFiles
{
    /// <summary>An L3 file whose header claims 16384×16384 RGBA at N = 64 (1 GiB decoded) with a
    /// table of 65,536 offsets that are all 0 and a payload of <paramref name="payloadLength"/>
    /// bytes (0x55): the header checksum is valid, the payload's too unless
    /// <paramref name="sealPayload"/> is false. With an empty payload: 262,188 bytes.</summary>
    public static byte[] L3ClaimingHugeImage(int payloadLength = 0, bool sealPayload = true)
    {
        const int side = 16384, n = 64, patches = side / n * (side / n);
        int tableEnd = FileLayout.TableEnd(patches);
        var file = new byte[tableEnd + FileLayout.ChecksumSize + payloadLength];
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(FileLayout.MagicOffset), FileLayout.Magic);
        file[FileLayout.VersionOffset] = FileLayout.CurrentVersion;
        file[FileLayout.ChannelsOffset] = 4;
        file[FileLayout.PatchSizeOffset] = n;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(FileLayout.WidthOffset), side);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(FileLayout.HeightOffset), side);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(FileLayout.PayloadLengthOffset), (uint)payloadLength);
        // every patch starts at 0; the table's last entry is the payload's end
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(FileLayout.TableEntryOffset(patches)), (uint)payloadLength);
        var payload = file.AsSpan(tableEnd + FileLayout.ChecksumSize);
        payload.Fill(0x55);
        ulong payloadChecksum = XxHash64.HashToUInt64(payload);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(FileLayout.PayloadChecksumOffset), sealPayload ? payloadChecksum : payloadChecksum ^ 1);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(tableEnd), XxHash64.HashToUInt64(file.AsSpan(0, tableEnd)));
        return file;
    }

    /// <summary>A PNG of the given colour type and bit depth; <paramref name="samples"/> holds the rows
    /// unfiltered (big-endian for 16 bits). <paramref name="extraChunks"/> go before IDAT.</summary>
    public static byte[] Png(int width, int height, int colorType, int bitDepth, byte[] samples, params (string Type, byte[] Data)[] extraChunks)
    {
        int rowBytes = samples.Length / height;
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter: none
            raw.Write(samples, y * rowBytes, rowBytes);
        }
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zlib);
        var file = new MemoryStream();
        file.Write(PngSignature);
        WriteChunk(file, "IHDR", Ihdr(width, height, colorType, bitDepth));
        foreach (var (type, data) in extraChunks) WriteChunk(file, type, data);
        WriteChunk(file, "IDAT", compressed.ToArray());
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>A PNG cut short: its header declares <paramref name="width"/>×<paramref name="height"/>
    /// RGBA, then an IDAT chunk whose data stops after a few bytes; <paramref name="length"/> bytes in all.</summary>
    public static byte[] TruncatedPng(int width, int height, int length)
    {
        var file = new MemoryStream();
        file.Write(PngSignature);
        WriteChunk(file, "IHDR", Ihdr(width, height, colorType: 6, bitDepth: 8));
        var idat = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(idat, (uint)width * (uint)height); // a long chunk that is not there
        "IDAT"u8.CopyTo(idat.AsSpan(4));
        file.Write(idat);
        var deflate = new byte[length - (int)file.Length];
        deflate[0] = 0x78; deflate[1] = 0x9C; // a zlib header, then a stored-block start and zeros
        file.Write(deflate);
        return file.ToArray();
    }

    /// <summary>An eXIf chunk's (or an APP1 Exif segment's TIFF part) data: one IFD entry, Orientation.</summary>
    public static byte[] ExifOrientation(int orientation)
    {
        var tiff = new byte[26];
        "II*\0"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8);       // first IFD at 8
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1);       // one entry
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112); // Orientation
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3);      // SHORT
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1);      // count
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), (ushort)orientation);
        // next IFD offset (0) in the last 4 bytes
        return tiff;
    }

    /// <summary>A JPEG's bytes with an APP1 Exif segment carrying <paramref name="orientation"/> put after SOI.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        var tiff = ExifOrientation(orientation);
        var app1 = new byte[4 + 6 + tiff.Length];
        app1[0] = 0xFF; app1[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(app1.AsSpan(2), (ushort)(app1.Length - 2));
        "Exif\0\0"u8.CopyTo(app1.AsSpan(4));
        tiff.CopyTo(app1, 10);
        return [.. jpeg[..2], .. app1, .. jpeg[2..]];
    }

    /// <summary>A baseline JPEG of 8×8 pixels with four components (CMYK, Adobe transform 0), every
    /// sample 128: one DC code and one end-of-block per component, from one-code Huffman tables.</summary>
    public static byte[] CmykJpeg()
    {
        var f = new List<byte> { 0xFF, 0xD8 };
        f.AddRange([0xFF, 0xEE, 0, 14, .. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);          // APP14 Adobe, transform 0
        f.AddRange([0xFF, 0xDB, 0, 67, 0x00, .. Enumerable.Repeat((byte)1, 64)]);       // DQT 0: all ones
        f.AddRange([0xFF, 0xC0, 0, 20, 8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]); // SOF0 8x8, 4 components
        byte[] oneCode = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00];           // one code of length 1, value 0
        f.AddRange([0xFF, 0xC4, 0, 20, 0x00, .. oneCode]);                                // DC table 0: category 0
        f.AddRange([0xFF, 0xC4, 0, 20, 0x10, .. oneCode]);                                // AC table 0: end of block
        f.AddRange([0xFF, 0xDA, 0, 14, 4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]); // SOS
        f.Add(0x00);                                                                      // 4 × (DC '0', EOB '0'): 8 zero bits
        f.AddRange([0xFF, 0xD9]);
        return [.. f];
    }

    /// <summary>A GIF of <paramref name="frames"/> frames of 1×1 pixel on a 1×1 canvas, each frame
    /// colour index 0 = (10, 20, 30), index 1 = (200, 100, 50).</summary>
    public static byte[] Gif(int frames, int canvasWidth = 1, int canvasHeight = 1)
    {
        var f = new List<byte>();
        f.AddRange("GIF89a"u8);
        f.AddRange([(byte)canvasWidth, (byte)(canvasWidth >> 8), (byte)canvasHeight, (byte)(canvasHeight >> 8), 0x80, 0, 0]); // global table of 2
        f.AddRange([10, 20, 30, 200, 100, 50]);
        for (int i = 0; i < frames; i++)
        {
            f.AddRange([0x21, 0xF9, 4, 0x00, 10, 0, 0, 0]);           // graphic control: 0.1 s, no transparency
            f.AddRange([0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);           // image descriptor: 1x1 at 0,0
            f.AddRange([2, 2, 0x44, 0x01, 0]);                       // LZW min size 2: clear, index 0, end (3 bits each)
        }
        f.Add(0x3B);
        return [.. f];
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static byte[] Ihdr(int width, int height, int colorType, int bitDepth)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)colorType;
        return ihdr;
    }

    private static void WriteChunk(Stream file, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        file.Write(word);
        byte[] typeAndData = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        file.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.HashToUInt32(typeAndData));
        file.Write(word);
    }
}
