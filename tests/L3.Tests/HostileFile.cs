using System.Buffers.Binary;
using System.IO.Hashing;
using L3.Kernels;

namespace L3.Tests;

/// <summary>Edits a valid file's fields and re-seals both checksums, so that the structural checks
/// behind the checksums are what gets tested.</summary>
public static class HostileFile
{
    public static byte[] Reseal(byte[] file)
    {
        // The table length follows from the (possibly edited) shape; keep within the file's bounds.
        int n = file[FileLayout.PatchSizeOffset];
        int width = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(FileLayout.WidthOffset));
        int height = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(FileLayout.HeightOffset));
        long patches = n == 0 ? 1 : ((long)(width + n - 1) / n) * ((height + n - 1) / n);
        long tableEnd = FileLayout.FixedSize + FileLayout.TableEntrySize * (patches + 1);
        if (tableEnd + FileLayout.ChecksumSize > file.Length) return file;
        int payloadStart = (int)tableEnd + FileLayout.ChecksumSize;
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(FileLayout.PayloadChecksumOffset), XxHash64.HashToUInt64(file.AsSpan(payloadStart)));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)tableEnd), XxHash64.HashToUInt64(file.AsSpan(0, (int)tableEnd)));
        return file;
    }

    public static byte[] With(byte[] valid, Action<byte[]> edit)
    {
        var copy = (byte[])valid.Clone();
        edit(copy);
        return Reseal(copy);
    }
}
