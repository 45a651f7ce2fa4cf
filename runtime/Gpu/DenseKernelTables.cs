using L3.Dense;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>
/// A dense file's probability tables in the form <see cref="GpuDenseDecodeKernel"/> reads them: each
/// slot's token (an unused table's slots point to <see cref="GpuDenseDecodeKernel.NoTokenEntry"/>)
/// and each token's packed entry. The one builder of that form, for the codec's launches and the
/// loader's batches alike.
/// </summary>
public static class DenseKernelTables
{
    /// <summary>Bytes of slot tokens for a file of <paramref name="channels"/> channels.</summary>
    public static int SlotBytes(int channels) => DenseLayout.TableCount(channels) * DenseLayout.ProbabilityTotal;

    /// <summary>Packed token entries for a file of <paramref name="channels"/> channels.</summary>
    public static int Entries(int channels) => DenseLayout.TableCount(channels) * GpuDenseDecodeKernel.EntriesPerTable;

    /// <summary>Writes <paramref name="tables"/> into <paramref name="slotTokens"/> (<see cref="SlotBytes"/>
    /// long) and <paramref name="entries"/> (<see cref="Entries"/> long).</summary>
    public static void Write(DenseTables tables, Span<byte> slotTokens, Span<uint> entries)
    {
        int count = DenseLayout.TableCount(tables.Channels);
        slotTokens = slotTokens[..SlotBytes(tables.Channels)];
        entries = entries[..Entries(tables.Channels)];
        for (int i = 0; i < slotTokens.Length; i++)
            slotTokens[i] = tables.SlotTokens[i] == DenseTables.NoToken ? (byte)GpuDenseDecodeKernel.NoTokenEntry : tables.SlotTokens[i];
        for (int table = 0; table < count; table++)
            for (int token = 0; token < DenseLayout.TokenCount; token++)
            {
                uint fc = tables.FrequencyCumulative[table * DenseTables.TokenStride + token];
                entries[table * GpuDenseDecodeKernel.EntriesPerTable + token] =
                    GpuDenseDecodeKernel.PackEntry(token, (int)(fc & 0xFFFF), (int)(fc >> 16));
            }
    }
}
