using System.Buffers.Binary;
using System.IO.Hashing;

namespace L3.Tests;

/// <summary>Edits a valid file's fields and re-seals both checksums, so that the structural checks
/// behind the checksums are what gets tested.</summary>
public static class HostileFile
{
    public static byte[] Reseal(byte[] file)
    {
        // The table length follows from the (possibly edited) shape; keep within the file's bounds.
        int n = file[7], width = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        int height = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        long patches = n == 0 ? 1 : ((long)(width + n - 1) / n) * ((height + n - 1) / n);
        long tableEnd = 32 + 4 * (patches + 1);
        if (tableEnd + 8 > file.Length) return file;
        int payloadStart = (int)tableEnd + 8;
        if (payloadStart <= file.Length)
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), XxHash64.HashToUInt64(file.AsSpan(payloadStart)));
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
