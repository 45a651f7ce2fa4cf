using System.Buffers.Binary;

namespace L3.Cli;

/// <summary>
/// Reads the CLI's inputs without trusting them: "-" is standard input; anything else must be a
/// regular file (a FIFO, device or directory is refused at once, never read or waited on); an L3
/// file is read header first, and only as much as its header proves.
/// </summary>
public static class InputFile
{
    /// <summary>An input the CLI refuses; its message names the user's path.</summary>
    public sealed class InputException(string message) : IOException(message);

    /// <summary>The largest image file read (a 2^28-pixel RGBA image in the largest uncompressed
    /// container the CLI reads, with room for its headers).</summary>
    public const long MaxImageFileBytes = (1L << 30) + (1 << 20);

    public static bool IsStandardStream(string path) => path == "-";

    /// <summary>Opens an input: standard input for "-", else a regular file.</summary>
    private static (Stream Stream, long Length) Open(string path)
    {
        if (IsStandardStream(path)) return (Console.OpenStandardInput(), -1);
        var (handle, kind, size) = UnixFiles.OpenForReading(path);
        if (kind != FileKind.Regular)
        {
            handle.Dispose();
            throw new InputException(kind == FileKind.Missing
                ? $"'{path}' does not exist"
                : $"'{path}' is {UnixFiles.Describe(kind)}, not a regular file");
        }
        return (new FileStream(handle, FileAccess.Read, bufferSize: 0), size);
    }

    /// <summary>An image file, whole, if it is not larger than <see cref="MaxImageFileBytes"/>.</summary>
    public static byte[] ReadImage(string path)
    {
        var (stream, length) = Open(path);
        using (stream)
        {
            if (length > MaxImageFileBytes)
                throw new InputException($"'{path}' is {length:N0} bytes; the largest image file l3 reads is {MaxImageFileBytes:N0}");
            return ReadUpTo(stream, length >= 0 ? length : MaxImageFileBytes, path, "image");
        }
    }

    /// <summary>A whole L3 file: the fixed header is read and checked first, then the header and
    /// table, and only then the payload the header declares; an input that is not L3 (zeros, a
    /// device) is refused after 32 bytes.</summary>
    public static byte[] ReadL3(string path) => ReadL3Core(path, headerOnly: false).File;

    /// <summary>An L3 file's header and table, reading no more of the file than those.</summary>
    public static L3Header ReadL3Header(string path) => ReadL3Core(path, headerOnly: true).Header!;

    private static (byte[] File, L3Header? Header) ReadL3Core(string path, bool headerOnly)
    {
        var (stream, length) = Open(path);
        using (stream)
        {
            var fixedHeader = ReadUpTo(stream, L3.Kernels.FileLayout.FixedSize, path, "L3 file", allowMore: true);
            // standard input has no length until it ends: check the fields against "long enough"
            // and let the full read below find the real length
            int headerLength = L3Header.HeaderLength(fixedHeader, length >= 0 ? length : fixedHeader.Length < L3.Kernels.FileLayout.FixedSize ? fixedHeader.Length : long.MaxValue);
            if (length >= 0)
            {
                // a regular file: its length is known, so the header can be checked before the payload is read
                var prefix = new byte[headerLength];
                fixedHeader.CopyTo(prefix, 0);
                ReadExactly(stream, prefix.AsSpan(fixedHeader.Length), path);
                var header = L3Header.Read(prefix, length);
                if (headerOnly) return ([], header);
                if (length > Array.MaxLength)
                    throw new InputException($"'{path}' is {length:N0} bytes; l3 reads L3 files of at most {Array.MaxLength:N0}");
                // the header proved the length: read exactly that (checked equal to the file's)
                var file = new byte[length];
                prefix.CopyTo(file, 0);
                ReadExactly(stream, file.AsSpan(prefix.Length), path);
                return (file, header);
            }
            // standard input: read no more than the header declares, plus one byte to notice a longer stream
            long declared = headerLength + (long)BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader.AsSpan(L3.Kernels.FileLayout.PayloadLengthOffset));
            if (declared >= Array.MaxLength)
                throw new InputException($"'{path}' declares {declared:N0} bytes; l3 reads L3 files of at most {Array.MaxLength:N0}");
            var rest = ReadUpTo(stream, declared + 1 - fixedHeader.Length, path, "L3 file", allowMore: true);
            byte[] whole = [.. fixedHeader, .. rest];
            return (whole, headerOnly ? L3Header.Read(whole) : null);
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path)
    {
        int got = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (got != buffer.Length) throw new InputException($"'{path}' became shorter while it was read");
    }

    /// <summary>Reads until the end of the stream or <paramref name="limit"/> bytes, growing the buffer
    /// as bytes arrive (never allocating for what has not come).</summary>
    private static byte[] ReadUpTo(Stream stream, long limit, string path, string what, bool allowMore = false)
    {
        var buffer = new byte[(int)Math.Min(limit, 1 << 16)];
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (filled >= limit)
                {
                    if (!allowMore && stream.ReadByte() >= 0)
                        throw new InputException($"'{path}' is larger than the largest {what} l3 reads ({limit:N0} bytes)");
                    return buffer;
                }
                Array.Resize(ref buffer, (int)Math.Min(limit, Math.Min((long)buffer.Length * 2, Array.MaxLength)));
            }
            int read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0) return buffer[..filled];
            filled += read;
        }
    }
}
