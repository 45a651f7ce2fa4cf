using L3.Dense;
using L3.Kernels;

namespace L3.Gpu;

/// <summary>
/// A dense file's probability tables in the form <see cref="GpuDenseDecodeKernel"/> reads them: each
/// table's slot → rank map (<see cref="GpuDenseDecodeKernel.RankWordsPerTable"/>) and its used
/// tokens' entries by rank, then the kernel's identity table (<see cref="GpuDenseDecodeKernel.TablesOfFile"/>).
/// The one builder of that form, for the codec's launches and the loader's batches alike.
/// </summary>
public static class DenseKernelTables
{
    /// <summary>Bytes of rank maps for a file of <paramref name="channels"/> channels; a file's maps
    /// start 8-byte aligned on the device.</summary>
    public static int RankBytes(int channels) => GpuDenseDecodeKernel.RankBytesOfFile(channels);

    /// <summary>Words of token entries for a file of <paramref name="channels"/> channels; a file's
    /// entries start <see cref="EntryAlignment"/>-byte aligned on the device.</summary>
    public static int Entries(int channels) => GpuDenseDecodeKernel.EntryWordsOfFile(channels);

    /// <summary>Byte alignment of a file's entries and rank maps on the device: one vector load an entry or a map word.</summary>
    public const int EntryAlignment = sizeof(ulong);

    /// <summary>Writes <paramref name="tables"/> into <paramref name="ranks"/> (<see cref="RankBytes"/>
    /// long) and <paramref name="entries"/> (<see cref="Entries"/> long).</summary>
    public static void Write(DenseTables tables, Span<byte> ranks, Span<uint> entries)
    {
        int count = DenseLayout.TableCount(tables.Channels);
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(ranks[..RankBytes(tables.Channels)]);
        entries = entries[..Entries(tables.Channels)];
        entries.Clear();
        const int tableWords = GpuDenseDecodeKernel.TokensPerTable * GpuDenseDecodeKernel.EntryWords;
        Span<uint> starts = stackalloc uint[GpuDenseDecodeKernel.RankWordsPerTable];
        for (int table = 0; table <= count; table++)
        {
            // the slots where a used token's range starts; its entry at its rank. An unused table and
            // the identity table start one range at slot 0, of rank 0: frequency 0 / the identity
            starts.Clear();
            var tableEntries = entries.Slice(table * tableWords, tableWords);
            int rank = 0;
            if (table < count)
                for (int token = 0; token < DenseLayout.TokenCount; token++)
                {
                    uint fc = tables.FrequencyCumulative[table * DenseTables.TokenStride + token];
                    int frequency = (int)(fc & 0xFFFF), cumulative = (int)(fc >> 16);
                    if (frequency == 0) continue;
                    starts[cumulative >> 5] |= 1u << (cumulative & 31);
                    GpuDenseDecodeKernel.WriteEntry(tableEntries[(rank++ * GpuDenseDecodeKernel.EntryWords)..], token, frequency, cumulative);
                }
            if (rank == 0) starts[0] = 1;
            if (table == count) GpuDenseDecodeKernel.WriteIdentityEntry(tableEntries);
            for (int w = 0, before = 0; w < starts.Length; before += System.Numerics.BitOperations.PopCount(starts[w]), w++)
                words[table * GpuDenseDecodeKernel.RankWordsPerTable + w] = GpuDenseDecodeKernel.RankWord(starts[w], before);
        }
    }
}
