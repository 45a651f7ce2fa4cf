using L3.Kernels;

namespace L3.Dense;

/// <summary>
/// The probability tables of a dense file (docs/FORMAT.md, 6.2), read and checked once per file,
/// expanded into the forms every decoder uses: per table, each token's frequency and cumulative
/// frequency, and each slot's token. The encoder builds them from token counts and writes them.
/// </summary>
public sealed class DenseTables
{
    public int Channels { get; }

    /// <summary>Bytes the tables take at the payload's start (T = offset[0]).</summary>
    public int ByteLength { get; }

    /// <summary>Per table (<see cref="DenseLayout.TableIndex"/>) and token: the frequency in the low
    /// 16 bits, the cumulative frequency in the high 16 bits; 0 for a token no symbol may have.</summary>
    public uint[] FrequencyCumulative { get; }

    /// <summary>Per table and slot (0..M−1): the token, or <see cref="NoToken"/> in an unused table.
    /// Made on first use (the scalar reference's form; the vector and GPU decoders make their own).</summary>
    public byte[] SlotTokens => _slotTokens ??= MakeSlotTokens();

    private byte[]? _slotTokens;

    /// <summary>Whether table <paramref name="table"/> is used (its frequencies add up to M; else all are 0).</summary>
    public bool IsUsed(int table) => (_usedTables >> table & 1) != 0;

    private readonly ulong _usedTables;

    /// <summary>The slot entry of an unused table: no symbol may be read from it.</summary>
    public const byte NoToken = 0xFF;

    private DenseTables(int channels, int byteLength, uint[] frequencyCumulative, ulong usedTables)
    {
        Channels = channels;
        ByteLength = byteLength;
        FrequencyCumulative = frequencyCumulative;
        _usedTables = usedTables;
    }

    private byte[] MakeSlotTokens()
    {
        var slotTokens = new byte[DenseLayout.TableCount(Channels) * DenseLayout.ProbabilityTotal];
        for (int table = 0; table < DenseLayout.TableCount(Channels); table++)
        {
            var slots = slotTokens.AsSpan(table * DenseLayout.ProbabilityTotal, DenseLayout.ProbabilityTotal);
            if (!IsUsed(table)) { slots.Fill(NoToken); continue; }
            for (int token = 0; token < DenseLayout.TokenCount; token++)
            {
                uint entry = FrequencyCumulative[table * TokenStride + token];
                slots.Slice((int)(entry >> 16), (int)(entry & 0xFFFF)).Fill((byte)token);
            }
        }
        return slotTokens;
    }

    /// <summary>Entries <see cref="WriteSlotEntries"/> writes for <paramref name="channels"/> channels.</summary>
    public static int SlotEntryCount(int channels) => DenseLayout.TableCount(channels) * DenseLayout.ProbabilityTotal;

    /// <summary>
    /// The vector decoder's form of the tables: per table and slot one entry that holds all a state
    /// needs from the slot, its token's frequency f (bits 0–10), the slot's offset in its token,
    /// slot − cum (bits 11–20), the token's raw bit count (bits 21–23) and its code with the raw
    /// bits zero (bits 24–31); 0 (f = 0) in an unused table. Made from the same frequencies as
    /// <see cref="SlotTokens"/>.
    /// </summary>
    public void WriteSlotEntries(Span<uint> entries)
    {
        for (int table = 0; table < DenseLayout.TableCount(Channels); table++)
        {
            var slots = entries.Slice(table * DenseLayout.ProbabilityTotal, DenseLayout.ProbabilityTotal);
            if (!IsUsed(table)) { slots.Clear(); continue; }
            for (int token = 0; token < DenseLayout.TokenCount; token++)
            {
                uint entry = FrequencyCumulative[table * TokenStride + token];
                int frequency = (int)(entry & 0xFFFF), cumulative = (int)(entry >> 16);
                uint first = (uint)frequency | (uint)DenseCoding.RawBitCount(token) << 21 | (uint)DenseCoding.CodeOf(token, 0) << 24;
                for (int k = 0; k < frequency; k++) slots[cumulative + k] = first + ((uint)k << 11);
            }
        }
    }

    /// <summary>Entries of <see cref="FrequencyCumulative"/> per table (tokens, padded to 32).</summary>
    public const int TokenStride = 32;

    /// <summary>
    /// Reads and checks the tables of a dense file: every length at most 11, every used table's
    /// frequencies adding up to M, zero padding, and exactly <paramref name="section"/>.Length bytes.
    /// </summary>
    /// <param name="fileOffset">where the section lies in the file, for error messages</param>
    /// <exception cref="L3FormatException">the tables are malformed</exception>
    public static DenseTables Read(ReadOnlySpan<byte> section, int channels, long fileOffset)
    {
        int tables = DenseLayout.TableCount(channels);
        var frequencyCumulative = new uint[tables * TokenStride];
        ulong usedTables = 0;
        var reader = new BitReader(section, fileOffset);
        for (int table = 0; table < tables; table++)
        {
            long tableAt = fileOffset + (reader.Bit >> 3);
            int used = reader.Read(DenseLayout.UsedCountBits);
            if (used > DenseLayout.TokenCount)
                throw new L3FormatException($"probability table {table} claims {used} tokens (at most {DenseLayout.TokenCount})", tableAt);
            if (used == 0) continue;
            usedTables |= 1UL << table;
            int cumulative = 0;
            for (int t = 0; t < used; t++)
            {
                int length = reader.Read(DenseLayout.LengthBits);
                if (length > DenseLayout.MaxLength)
                    throw new L3FormatException($"probability table {table}: a frequency of {length} bits (at most {DenseLayout.MaxLength})", fileOffset + ((reader.Bit - 1) >> 3));
                int frequency = length == 0 ? 0 : (1 << (length - 1)) | reader.Read(length - 1);
                if (cumulative + frequency > DenseLayout.ProbabilityTotal)
                    throw new L3FormatException($"probability table {table}: frequencies exceed {DenseLayout.ProbabilityTotal}", fileOffset + ((reader.Bit - 1) >> 3));
                frequencyCumulative[table * TokenStride + t] = (uint)frequency | (uint)cumulative << 16;
                cumulative += frequency;
            }
            if (cumulative != DenseLayout.ProbabilityTotal)
                throw new L3FormatException($"probability table {table}: frequencies add up to {cumulative}, not {DenseLayout.ProbabilityTotal}", tableAt);
        }
        long bit = reader.Bit;
        if ((bit + 7) >> 3 != section.Length)
            throw new L3FormatException($"the probability tables take {(bit + 7) >> 3} bytes but the first patch starts at {section.Length}", fileOffset + ((bit + 7) >> 3));
        if ((bit & 7) != 0 && (section[^1] >> (int)(bit & 7)) != 0)
            throw new L3FormatException("padding bits after the probability tables are not zero", fileOffset + section.Length - 1);
        return new DenseTables(channels, section.Length, frequencyCumulative, usedTables);
    }

    /// <summary>
    /// The encoder's tables from the image's token counts (<paramref name="counts"/>[table × 24 +
    /// token]), written as the format stores them; every counted token gets a frequency of at least 1.
    /// </summary>
    public static byte[] Write(ReadOnlySpan<long> counts, int channels)
    {
        int tables = DenseLayout.TableCount(channels);
        var writer = new BitWriter();
        Span<int> frequencies = stackalloc int[DenseLayout.TokenCount];
        for (int table = 0; table < tables; table++)
        {
            var tableCounts = counts.Slice(table * DenseLayout.TokenCount, DenseLayout.TokenCount);
            int used = Normalize(tableCounts, frequencies);
            writer.Write(used, DenseLayout.UsedCountBits);
            for (int t = 0; t < used; t++)
            {
                int f = frequencies[t];
                int length = RowCoding.WidthOf(f); // bit length, 1..11
                writer.Write(length, DenseLayout.LengthBits);
                if (length > 1) writer.Write(f & ((1 << (length - 1)) - 1), length - 1);
            }
        }
        return writer.ToArray();
    }

    /// <summary>
    /// Frequencies adding up to M in proportion to <paramref name="counts"/>, at least 1 for every
    /// counted token, the rounding settled where it costs the fewest bits; returns the used count
    /// (one past the last counted token; 0 when nothing was counted).
    /// </summary>
    internal static int Normalize(ReadOnlySpan<long> counts, Span<int> frequencies)
    {
        frequencies.Clear();
        long sum = 0;
        int used = 0;
        for (int t = 0; t < counts.Length; t++)
            if (counts[t] > 0) { sum += counts[t]; used = t + 1; }
        if (sum == 0) return 0;
        int total = DenseLayout.ProbabilityTotal, assigned = 0;
        for (int t = 0; t < used; t++)
        {
            if (counts[t] == 0) continue;
            frequencies[t] = (int)Math.Max(1, counts[t] * total / sum);
            assigned += frequencies[t];
        }
        // each step moves the sum one toward M, so the direction holds to the end; a token's gain
        // changes only when its frequency does
        bool up = assigned < total;
        Span<double> gains = stackalloc double[used];
        for (int t = 0; t < used; t++) gains[t] = Gain(counts[t], frequencies[t], up);
        while (assigned != total)
        {
            int best = -1;
            double bestGain = double.NegativeInfinity;
            for (int t = 0; t < used; t++)
            {
                if (counts[t] == 0 || (!up && frequencies[t] == 1)) continue;
                if (gains[t] > bestGain) { bestGain = gains[t]; best = t; }
            }
            int step = up ? 1 : -1;
            frequencies[best] += step;
            assigned += step;
            gains[best] = Gain(counts[best], frequencies[best], up);
        }
        return used;
    }

    /// <summary>What one more (<paramref name="up"/>) or one less unit of frequency saves in bits for a
    /// token counted <paramref name="count"/> times.</summary>
    private static double Gain(long count, int frequency, bool up) => up
        ? count * Math.Log2((frequency + 1.0) / frequency)
        : -count * Math.Log2(frequency / (frequency - 1.0));

    /// <summary>Bits read from bit 0 of byte 0 upward, never past the section's end.</summary>
    private ref struct BitReader(ReadOnlySpan<byte> bytes, long fileOffset)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        public long Bit { get; private set; }

        /// <summary>The next <paramref name="count"/> bits (at most 11, the longest field: they lie
        /// in the 3 bytes from the current one).</summary>
        public int Read(int count)
        {
            if (Bit + count > 8L * _bytes.Length)
                throw new L3FormatException("the probability tables end early", fileOffset + _bytes.Length);
            if (count == 0) return 0; // at the section's end, no byte is left to read
            int at = (int)(Bit >> 3);
            uint window = _bytes[at];
            if (at + 1 < _bytes.Length) window |= (uint)_bytes[at + 1] << 8;
            if (at + 2 < _bytes.Length) window |= (uint)_bytes[at + 2] << 16;
            int value = (int)(window >> (int)(Bit & 7) & ((1u << count) - 1));
            Bit += count;
            return value;
        }
    }

    /// <summary>Bits written from bit 0 of byte 0 upward.</summary>
    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = [];
        private int _bit;

        public void Write(int value, int count)
        {
            for (int i = 0; i < count; i++, _bit++)
            {
                if ((_bit & 7) == 0) _bytes.Add(0);
                _bytes[^1] |= (byte)(((value >> i) & 1) << (_bit & 7));
            }
        }

        public byte[] ToArray() => [.. _bytes];
    }
}
