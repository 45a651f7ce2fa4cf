using System.Formats.Tar;

namespace L3.Datasets;

/// <summary>How a shard's tar members are written (docs/DATASET.md §2): POSIX ustar, fixed owner,
/// mode and time, so the same samples always give the same bytes. Every header and every member's
/// padded data take whole 512-byte blocks, so every member's data starts on a 512-byte boundary
/// (and so is 4-byte aligned) with no padding records of its own.</summary>
public static class TarLayout
{
    public const int BlockSize = 512;

    /// <summary>Longest member name a ustar header holds without a prefix field or a PAX record;
    /// every member name of a shard is shorter, so each member is exactly one header block.</summary>
    public const int MaxNameLength = 100;

    public const UnixFileMode MemberMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static long RoundUp(long length) => (length + BlockSize - 1) / BlockSize * BlockSize;

    /// <summary>The member entry every writer of a shard uses.</summary>
    public static UstarTarEntry Member(string name, byte[] data)
    {
        if (name.Length >= MaxNameLength) throw new ArgumentException($"tar member name '{name}' is too long", nameof(name));
        return new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            ModificationTime = DateTimeOffset.UnixEpoch,
            Mode = MemberMode,
            Uid = 0,
            Gid = 0,
            UserName = "",
            GroupName = "",
            DataStream = new MemoryStream(data, writable: false),
        };
    }
}
