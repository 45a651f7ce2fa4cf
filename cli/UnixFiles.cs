using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace L3.Cli;

/// <summary>What a path names: a regular file, or something the CLI must not read whole or replace.</summary>
public enum FileKind { Missing, Regular, Directory, SymbolicLink, Fifo, CharacterDevice, BlockDevice, Socket, Other }

/// <summary>A file's identity (device and inode): two paths name the same file when these are equal.</summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>
/// The few system calls the CLI needs to treat files safely on Linux (statx for the kind and
/// identity of a path, open with O_NONBLOCK so that a FIFO never blocks, renameat2 with
/// RENAME_NOREPLACE and link for atomic no-replace). statx's structure is the same on every Linux
/// architecture, unlike stat's. Elsewhere the managed approximations are used.
/// </summary>
internal static partial class UnixFiles
{
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;
    private const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000;
    private const uint RenameNoReplace = 1;
    public const int EExist = 17;

    public static bool Available { get; } = OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDir, string oldPath, int newDir, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);

    /// <summary>The kind and identity of <paramref name="path"/> (of the link itself unless
    /// <paramref name="followLinks"/>), or FileKind.Missing.</summary>
    public static (FileKind Kind, FileIdentity Identity, long Size) Stat(string path, bool followLinks)
    {
        if (!Available) return ManagedStat(path, followLinks);
        unsafe
        {
            byte* buffer = stackalloc byte[256];
            if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
                return (FileKind.Missing, default, 0);
            return Decode(buffer);
        }
    }

    private static unsafe (FileKind, FileIdentity, long) Decode(byte* statx)
    {
        ushort mode = *(ushort*)(statx + 28);
        ulong inode = *(ulong*)(statx + 32);
        long size = *(long*)(statx + 40);
        ulong device = ((ulong)*(uint*)(statx + 136) << 32) | *(uint*)(statx + 140);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
        return (kind, new FileIdentity(device, inode), size);
    }

    private static (FileKind, FileIdentity, long) ManagedStat(string path, bool followLinks)
    {
        var info = new FileInfo(path);
        if (!followLinks && info.LinkTarget is not null) return (FileKind.SymbolicLink, default, 0);
        if (Directory.Exists(path)) return (FileKind.Directory, default, 0);
        if (!File.Exists(path)) return (FileKind.Missing, default, 0);
        // no inode here: the full path stands in for the identity
        return (FileKind.Regular, new FileIdentity(0, (ulong)Path.GetFullPath(path).GetHashCode()), info.Length);
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading without ever blocking (O_NONBLOCK: a FIFO with no
    /// writer does not hang the open) and returns the handle with what it is, checked on the open
    /// file itself (fstat), so the answer cannot change between the check and the read.
    /// </summary>
    public static (SafeFileHandle Handle, FileKind Kind, long Size) OpenForReading(string path)
    {
        if (!Available)
        {
            var (kind, _, size) = ManagedStat(path, followLinks: true);
            if (kind != FileKind.Regular) return (new SafeFileHandle(), kind, 0);
            return (File.OpenHandle(path, FileMode.Open, FileAccess.Read), kind, size);
        }
        int fd = Open(path, ORdOnly | ONonBlock | OCloExec, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno switch
            {
                2 => $"'{path}' does not exist",
                13 => $"'{path}' cannot be read: permission denied",
                _ => $"'{path}' cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }
        unsafe
        {
            byte* buffer = stackalloc byte[256];
            if (Statx(fd, "", AtEmptyPath, StatxBasicStats, buffer) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                Close(fd);
                throw new IOException($"'{path}' cannot be examined: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
            var (kind, _, size) = Decode(buffer);
            return (new SafeFileHandle(fd, ownsHandle: true), kind, size);
        }
    }

    /// <summary>Moves <paramref name="from"/> to <paramref name="to"/> unless <paramref name="to"/>
    /// exists, in one atomic step: renameat2(RENAME_NOREPLACE), or where the file system lacks it,
    /// link then unlink. Returns false when <paramref name="to"/> exists.</summary>
    public static bool MoveNoReplace(string from, string to)
    {
        if (!Available)
        {
            // no atomic no-replace here: the check and the move are two steps
            if (File.Exists(to) || Directory.Exists(to)) return false;
            File.Move(from, to, overwrite: false);
            return true;
        }
        if (RenameAt2(AtFdCwd, from, AtFdCwd, to, RenameNoReplace) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EExist) return false;
        if (errno is not (22 or 38 or 95)) // EINVAL, ENOSYS, EOPNOTSUPP: the file system has no RENAME_NOREPLACE
            throw new IOException(Marshal.GetPInvokeErrorMessage(errno));
        if (Link(from, to) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            if (errno == EExist) return false;
            throw new IOException(Marshal.GetPInvokeErrorMessage(errno));
        }
        File.Delete(from);
        return true;
    }

    /// <summary>What a kind of file is called in a message.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.Missing => "missing",
        _ => "not a regular file",
    };
}
