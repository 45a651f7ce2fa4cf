using System.Buffers.Binary;
using L3.Dense;
using L3.Gpu;
using L3.Kernels;

namespace L3.Hostile;

/// <summary>
/// Dense files (coding mode 1) that try to make the dense decoders read or write out of bounds:
/// valid files at the format's extremes, crafted bad tables and streams (both checksums valid, so
/// the structure and the stream checks are what must refuse them), and resealed random mutants.
/// Deterministic: the same set every run.
/// </summary>
public static class DenseHostileSet
{
    public static IReadOnlyList<HostileCase> All(int mutants = 300)
    {
        var valid = ValidAdversarial().ToList();
        return HostileSet.WithMutants(valid, Crafted(valid), mutants, seed: 1616, prefix: "dense-");
    }

    /// <summary>Valid dense files at the format's extremes (<see cref="HostileSet"/>'s shapes in mode 1):
    /// noise (every token, raw bits), all zeros (no stream at all), 1×1, 3-pixel-wide stripes (edge lanes).</summary>
    public static IEnumerable<HostileCase> ValidAdversarial() => HostileSet.Extremes(L3CodingMode.Dense, seed: 17, prefix: "dense-valid");

    /// <summary>Bad dense files with both checksums valid: tables that break 6.2 or that the stream
    /// cannot use, coder states below L or at the top, streams cut short, left over, zeroed.</summary>
    public static IEnumerable<HostileCase> Crafted(IReadOnlyList<HostileCase> valid)
    {
        foreach (var source in valid.Where(v => v.Name.Contains("-noise-") && (v.Name.Contains("-n8-") || v.Name.Contains("-n64-"))))
        {
            var file = source.File;
            var header = L3Codec.ReadHeader(file);
            string name = source.Name.Replace("dense-valid-", "dense-");
            int tables = DenseLayout.TableCount(header.Channels);
            var (start, length) = header.PatchRange(0);
            int patch = header.PayloadStart + start;
            int states = patch + DenseLayout.PatchHeaderBytes(header.PatchRect(0).Height, header.Channels);

            // tables: the first claims 25 tokens; every table unused (each coded step then reads an
            // unused table); every table a single token of frequency M (a valid table the stream was
            // not coded with); the first table's frequencies one short of M
            yield return new($"{name}-table-claims-25-tokens", With(file, f => f[header.PayloadStart] = (byte)((f[header.PayloadStart] & 0xE0) | 25)));
            yield return new($"{name}-tables-all-unused", WithTables(file, DenseTables.Write(new long[tables * DenseLayout.TokenCount], header.Channels)));
            var single = new long[tables * DenseLayout.TokenCount];
            for (int t = 0; t < tables; t++) single[t * DenseLayout.TokenCount] = 1;
            yield return new($"{name}-tables-one-token", WithTables(file, DenseTables.Write(single, header.Channels)));
            var counts = new long[tables * DenseLayout.TokenCount];
            for (int i = 0; i < counts.Length; i++) counts[i] = 1 + i % 7;
            yield return new($"{name}-tables-other-valid", WithTables(file, DenseTables.Write(counts, header.Channels)));

            // patch 0's coder states and stream
            yield return new($"{name}-state0-below-L", With(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(states), 1)));
            yield return new($"{name}-state0-zero", With(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(states), 0)));
            yield return new($"{name}-state0-max", With(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(states), uint.MaxValue)));
            yield return new($"{name}-states-all-L-1", With(file, f =>
            {
                for (int l = 0; l < DenseLayout.Lanes(header.PatchRect(0).Width); l++)
                    BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(states + 4 * l), DenseLayout.StateLow - 1);
            }));
            int words = states + 4 * DenseLayout.Lanes(header.PatchRect(0).Width);
            yield return new($"{name}-stream-zeroed", With(file, f => f.AsSpan(words, patch + length - words).Clear()));
            yield return new($"{name}-stream-ones", With(file, f => f.AsSpan(words, patch + length - words).Fill(0xFF)));
            yield return new($"{name}-stream-one-word-short", HostileSet.Resized(file, 0, -2));
            yield return new($"{name}-stream-one-word-left-over", HostileSet.Resized(file, 0, +2));
            yield return new($"{name}-last-stream-one-word-short", HostileSet.Resized(file, header.PatchCount - 1, -2));
            yield return new($"{name}-stream-all-words-cut", HostileSet.Resized(file, 0, -(patch + length - words)));
        }
    }

    /// <summary>The file with its probability tables replaced by <paramref name="tables"/>: the patch
    /// offsets and the payload length follow, both checksums resealed.</summary>
    public static byte[] WithTables(byte[] file, byte[] tables)
    {
        var header = L3Codec.ReadHeader(file);
        int delta = tables.Length - header.TablesLength;
        byte[] edited = [.. file[..header.PayloadStart], .. tables, .. file[(header.PayloadStart + header.TablesLength)..]];
        for (int i = 0; i <= header.PatchCount; i++)
        {
            var at = edited.AsSpan(FileLayout.FixedSize + FileLayout.TableEntrySize * i);
            BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)(BinaryPrimitives.ReadUInt32LittleEndian(at) + delta));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(edited.AsSpan(FileLayout.PayloadLengthOffset), (uint)(header.PayloadLength + delta));
        return HostileSet.Reseal(edited);
    }


    private static byte[] With(byte[] file, Action<byte[]> edit) => HostileSet.With(file, edit);
}

/// <summary>
/// The GPU's dense decoder against the CPU's on dense files: each file refused (L3FormatException)
/// by both or decoded by both to the same bytes, with the payload checksum and without it (then
/// random bits behind a wrong checksum reach the kernel too); the files both decode, again in one batch.
/// </summary>
public static class DenseGpuAgreement
{
    /// <summary>Returns the disagreements (empty when none) and how many files the kernel decoded.</summary>
    public static (List<string> Disagreements, int Decoded) Check(L3GpuCodec codec, IReadOnlyList<HostileCase> cases, bool batch = true)
    {
        var disagreements = new List<string>();
        var accepted = new List<(HostileCase Case, byte[] Expected)>();
        foreach (var c in cases)
        {
            foreach (bool verify in new[] { true, false })
            {
                byte[]? cpuPixels = null, gpuPixels = null;
                string? cpu = Error(() =>
                {
                    var h = L3Codec.ReadHeader(c.File);
                    cpuPixels = L3Codec.DecodeRegion(c.File, 0, 0, h.Width, h.Height, verifyChecksum: verify).Pixels;
                });
                string? gpu = Error(() => gpuPixels = codec.Decode([c.File], verify)[0].Pixels);
                string how = verify ? "" : " (no checksum)";
                if ((cpu is null) != (gpu is null))
                    disagreements.Add($"{c.Name}{how}: the CPU says \"{cpu ?? "valid"}\", the GPU \"{gpu ?? "valid"}\"");
                else if (cpuPixels is not null && !cpuPixels.AsSpan().SequenceEqual(gpuPixels))
                    disagreements.Add($"{c.Name}{how}: the GPU's pixels differ from the CPU's");
                else if (!verify && cpuPixels is not null)
                    accepted.Add((c, cpuPixels));
            }
        }
        if (batch && accepted.Count > 0)
        {
            var decoded = codec.Decode(accepted.Select(a => (ReadOnlyMemory<byte>)a.Case.File).ToList(), verifyChecksum: false);
            for (int i = 0; i < accepted.Count; i++)
                if (!decoded[i].Pixels.AsSpan().SequenceEqual(accepted[i].Expected))
                    disagreements.Add($"{accepted[i].Case.Name} (in the batch): the GPU's pixels differ from the CPU's");
        }
        return (disagreements, accepted.Count);
    }

    private static string? Error(Action action)
    {
        try { action(); return null; }
        catch (L3FormatException e) { return e.Message; }
    }
}
