using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace L3.Imaging;

/// <summary>Reads an input file from a path without blocking and without unbounded reads: only a
/// regular file is opened (a FIFO would block in open, a device such as /dev/zero never ends, a
/// directory is no image), its length is checked against the limit first, and no more than that
/// length is read.</summary>
internal static class InputFile
{
    /// <summary>The file's length, after checking that <paramref name="path"/> is a regular file.</summary>
    public static long CheckRegular(string path)
    {
        var (kind, length) = Stat(path);
        if (kind is not null) throw new ImageFileException($"{path} is {kind}, not a regular file");
        return length;
    }

    /// <summary>Opens a regular file for reading.</summary>
    public static FileStream Open(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);

    /// <summary>Reads into <paramref name="buffer"/> until it is full or the file ends; returns the count.</summary>
    public static int ReadUpTo(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    // S_IFMT and the file types of st_mode / stx_mode (the same values on every Linux architecture)
    private const int TypeMask = 0xF000, Fifo = 0x1000, CharDevice = 0x2000, Directory = 0x4000, BlockDevice = 0x6000,
        Regular = 0x8000, Socket = 0xC000;

    /// <summary>What the path is when not a regular file (null when it is one), and its length. On
    /// Linux through statx, whose buffer has one layout on every architecture; elsewhere only a
    /// directory is recognised.</summary>
    private static (string? Kind, long Length) Stat(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                return StatLinux(path);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // a C library without statx (glibc before 2.28): fall through to what .NET tells
            }
        }
        if (System.IO.Directory.Exists(path)) return ("a directory", 0);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"Could not find file '{Path.GetFullPath(path)}'.", path);
        return (null, info.Length);
    }

    private static unsafe (string? Kind, long Length) StatLinux(string path)
    {
        const int AtCurrentDirectory = -100;
        const uint WantTypeAndSize = 0x1 | 0x200; // STATX_TYPE | STATX_SIZE
        byte* buffer = stackalloc byte[256];      // struct statx
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = name)
        {
            if (Statx(AtCurrentDirectory, p, 0, WantTypeAndSize, buffer) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                const int NoEntry = 2, NotDirectory = 20, Access = 13;
                throw errno switch
                {
                    NoEntry or NotDirectory => new FileNotFoundException($"Could not find file '{Path.GetFullPath(path)}'.", path),
                    Access => new UnauthorizedAccessException($"Access to the path '{Path.GetFullPath(path)}' is denied."),
                    _ => new IOException($"{path}: cannot be examined ({Marshal.GetPInvokeErrorMessage(errno)})"),
                };
            }
        }
        var stat = new ReadOnlySpan<byte>(buffer, 256);
        int mode = BinaryPrimitives.ReadUInt16LittleEndian(stat[28..]); // stx_mode
        long size = BinaryPrimitives.ReadInt64LittleEndian(stat[40..]); // stx_size
        if (!BitConverter.IsLittleEndian)
        {
            mode = BinaryPrimitives.ReverseEndianness((ushort)mode);
            size = BinaryPrimitives.ReverseEndianness(size);
        }
        string? kind = (mode & TypeMask) switch
        {
            Regular => null,
            Fifo => "a FIFO",
            CharDevice => "a character device",
            BlockDevice => "a block device",
            Directory => "a directory",
            Socket => "a socket",
            _ => "not a file",
        };
        return (kind, size);
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern unsafe int Statx(int directory, byte* path, int flags, uint mask, byte* buffer);
}
