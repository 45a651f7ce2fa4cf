namespace L3.Kernels;

/// <summary>
/// Where the fields of an L3 file lie (docs/FORMAT.md, section 1): the fixed header, the patch
/// table, the header checksum and the payload, and the limits on the image's shape. The one home
/// of these facts: the header reader and writer, the GPU kernels and the profiles' code use them.
/// </summary>
public static class FileLayout
{
    /// <summary>The magic bytes "L3IF", read as a little-endian u32.</summary>
    public const uint Magic = 0x4649334C;
    public const byte CurrentVersion = 1;

    // the fixed header: offsets of its fields, u8 unless noted
    public const int MagicOffset = 0;              // u32
    public const int VersionOffset = 4;
    public const int ModeOffset = 5;
    public const int ChannelsOffset = 6;
    public const int PatchSizeOffset = 7;
    public const int WidthOffset = 8;              // u32
    public const int HeightOffset = 12;            // u32
    public const int FlagsOffset = 16;             // u32, reserved: 0
    public const int PayloadLengthOffset = 20;     // u32
    public const int PayloadChecksumOffset = 24;   // u64, XXH64 of the payload

    /// <summary>Bytes of the fixed header: the patch table starts here.</summary>
    public const int FixedSize = 32;

    /// <summary>Bytes of a patch table entry (a u32 offset into the payload).</summary>
    public const int TableEntrySize = 4;

    /// <summary>Bytes of a checksum (XXH64, little-endian u64).</summary>
    public const int ChecksumSize = 8;

    /// <summary>Largest width or height (2^20).</summary>
    public const int MaxDimension = 1 << 20;

    /// <summary>Largest pixel count (2^28): at most 1 GiB of decoded RGBA, so a file can never
    /// ask for more memory than that, and every offset fits 32 bits.</summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>Where table entry <paramref name="index"/> (0..P) lies.</summary>
    public static int TableEntryOffset(int index) => FixedSize + TableEntrySize * index;

    /// <summary>Where the patch table of <paramref name="patchCount"/> patches (P + 1 entries) ends:
    /// the header checksum covers the bytes before it and is stored here.</summary>
    public static int TableEnd(int patchCount) => TableEntryOffset(patchCount + 1);

    /// <summary>Where the payload starts: after the table and the header checksum.</summary>
    public static int PayloadStart(int patchCount) => TableEnd(patchCount) + ChecksumSize;

    /// <summary>Patches across a side of <paramref name="pixels"/> pixels: ⌈pixels / N⌉.</summary>
    public static int PatchesAlong(int pixels, int patchSize) => (pixels + patchSize - 1) / patchSize;

    public static bool IsValidPatchSize(int n) => n is 8 or 16 or 32 or 64;
    public static bool IsValidChannelCount(int c) => c is 1 or 3 or 4;
}
