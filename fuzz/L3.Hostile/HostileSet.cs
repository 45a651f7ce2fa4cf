using L3.TestSupport;
using System.Buffers.Binary;
using System.IO.Hashing;
using L3.Kernels;

namespace L3.Hostile;

/// <summary>One file of the set, named for what it tries.</summary>
public sealed record HostileCase(string Name, byte[] File);

/// <summary>
/// Files that try to make a decoder read or write out of bounds: crafted bad files (each header
/// field, table entry and patch structure rule broken with both checksums valid), valid files that
/// sit at the format's extremes (1×1, edge patches one pixel wide, every group 8 bits wide, every
/// row a zero row, a file ending exactly at the batch's padding), and resealed random mutants of
/// those, some valid with arbitrary bits, most not. Deterministic: the same set every run.
/// </summary>
public static class HostileSet
{
    public static IReadOnlyList<HostileCase> All(int mutants = 300)
    {
        var valid = ValidAdversarial().ToList();
        return WithMutants(valid, Crafted(valid), mutants, seed: 1212, prefix: "");
    }

    /// <summary>The valid files, the crafted ones, then <paramref name="mutants"/> resealed mutants of
    /// the valid ones (drawn with <paramref name="seed"/>, named after <paramref name="prefix"/>): a whole set.</summary>
    internal static List<HostileCase> WithMutants(IReadOnlyList<HostileCase> valid, IEnumerable<HostileCase> crafted, int mutants, int seed, string prefix)
    {
        var set = new List<HostileCase>(valid);
        set.AddRange(crafted);
        var random = new Random(seed);
        for (int i = 0; i < mutants; i++)
        {
            var source = valid[random.Next(valid.Count)];
            set.Add(new HostileCase($"{prefix}mutant-{i:D3}-of-{source.Name}", Mutate(source.File, random)));
        }
        return set;
    }

    /// <summary>Valid files at the format's extremes.</summary>
    public static IEnumerable<HostileCase> ValidAdversarial() => Extremes(L3CodingMode.Rows, seed: 7, prefix: "valid");

    /// <summary>Valid files of coding <paramref name="mode"/> at the format's extremes: every patch size and
    /// channel count; noise (every group 8 bits wide; in mode 1 every token and raw bits), all zeros (every
    /// row a zero row), 1×1, 3-pixel-wide stripes (edge patches and lanes). Named "<paramref name="prefix"/>-n…".</summary>
    internal static IEnumerable<HostileCase> Extremes(L3CodingMode mode, int seed, string prefix)
    {
        var random = new Random(seed);
        foreach (int n in new[] { 8, 16, 32, 64 })
            foreach (int channels in new[] { 1, 3, 4 })
                foreach (var (kind, width, height) in new[] { ("noise", n + 1, n + 1), ("zeros", 2 * n, n), ("dot", 1, 1), ("stripes", 3, 2 * n + 5) })
                {
                    var pixels = new byte[width * height * channels];
                    if (kind == "noise") random.NextBytes(pixels);
                    if (kind == "stripes")
                        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i / channels) % width * 255);
                    if (kind == "dot") pixels.AsSpan().Fill(0xFF);
                    yield return new HostileCase($"{prefix}-n{n}-c{channels}-{kind}-{width}x{height}",
                        L3Codec.Encode(pixels, width, height, channels, new L3EncodeOptions { PatchSize = n, Mode = mode }));
                }
    }

    /// <summary>Bad files with both checksums valid, so the checks behind the checksums are what refuses them.</summary>
    public static IEnumerable<HostileCase> Crafted(IReadOnlyList<HostileCase> valid)
    {
        // from the fuzzing campaign of issue 12: 9×1 gray, N = 8, its second patch's flags 0x02
        yield return new("issue12-58-bytes", Convert.FromHexString(
            "4c33494601000108090000000100000000000000060000000d0c1b6e795507c40000000003000000060000000eb2240dceef8b46000100020100"));
        yield return new("claims-1GiB-empty-patches", CraftedFiles.L3ClaimingHugeImage(0, sealPayload: true));
        yield return new("claims-1GiB-bad-payload-checksum", CraftedFiles.L3ClaimingHugeImage(1000, sealPayload: false));

        var file = valid.First(v => v.Name.StartsWith("valid-n8-c3-noise")).File;
        var header = L3Codec.ReadHeader(file);
        int patch0 = header.PayloadStart;
        yield return new("truncated-by-1", file[..^1]);
        yield return new("truncated-in-table", file[..40]);
        yield return new("one-byte-appended", [.. file, 0]);
        foreach (var (what, offset, value) in new (string, int, uint)[]
                 {
                     ("version-2", 4, 2), ("mode-1", 5, 1), ("channels-2", 6, 2), ("channels-5", 6, 5), ("n-12", 7, 12),
                     ("n-128", 7, 128), ("flags", 16, 1), ("width-0", 8, 0), ("width-2^20+1", 8, (1 << 20) + 1),
                     ("height-2^20", 12, 1 << 20), ("payload-length+1", 20, (uint)header.PayloadLength + 1),
                     ("first-offset-1", 32, 1), ("second-offset-past-payload", 36, (uint)header.PayloadLength + 5),
                     ("table-end-short", 32 + 4 * header.PatchCount, (uint)header.PayloadLength - 1),
                 })
            yield return new($"header-{what}", With(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(offset), value)));
        yield return new("table-decreasing", With(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(40),
            BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(36)) - 1)));
        yield return new("patch-flags-2", With(file, f => f[patch0] = 2));
        yield return new("patch-flags-transform-gray",
            With(valid.First(v => v.Name.StartsWith("valid-n8-c1-noise")).File, f => f[L3Codec.ReadHeader(f).PayloadStart] = 1));
        // channel 0's block of patch 0 (8×8): mask 1 byte, predictors 2 bytes, then 8 width bytes
        yield return new("width-nibble-9", With(file, f => f[patch0 + 4] = 0x98));
        yield return new("width-nibble-15", With(file, f => f[patch0 + 4] = 0xF8));
        var edge = valid.First(v => v.Name.StartsWith("valid-n8-c1-stripes")).File; // 3 wide, 21 high: edge rows 5
        var edgeHeader = L3Codec.ReadHeader(edge);
        int lastPatch = edgeHeader.PayloadStart + edgeHeader.PatchRange(edgeHeader.PatchCount - 1).Start;
        yield return new("mask-padding-bit", With(edge, f => f[lastPatch + 1] |= 0x80));
        yield return new("predictor-padding-bits", With(edge, f => f[lastPatch + 3] |= 0xC0));
        yield return new("patch-one-byte-longer", Resized(file, 0, +1));
        yield return new("patch-one-byte-shorter", Resized(file, 0, -1));
        yield return new("last-patch-one-byte-shorter", Resized(file, header.PatchCount - 1, -1));
    }

    /// <summary>Patch <paramref name="patch"/> made <paramref name="delta"/> bytes longer or shorter
    /// at its end, the table and payload length following (so only the patch's structure is wrong).</summary>
    internal static byte[] Resized(byte[] file, int patch, int delta)
    {
        var header = L3Codec.ReadHeader(file);
        var (start, length) = header.PatchRange(patch);
        int cut = header.PayloadStart + start + length;
        byte[] resized = delta > 0 ? [.. file[..cut], .. new byte[delta], .. file[cut..]] : [.. file[..(cut + delta)], .. file[cut..]];
        for (int i = patch + 1; i <= header.PatchCount; i++)
        {
            var at = resized.AsSpan(FileLayout.FixedSize + FileLayout.TableEntrySize * i);
            BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)(BinaryPrimitives.ReadUInt32LittleEndian(at) + delta));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(resized.AsSpan(FileLayout.PayloadLengthOffset), (uint)(header.PayloadLength + delta));
        return Reseal(resized);
    }

    /// <summary>A random edit (a byte, a bit, a width nibble, mostly in the payload), then both
    /// checksums resealed, nine times in ten.</summary>
    public static byte[] Mutate(byte[] file, Random random)
    {
        var copy = (byte[])file.Clone();
        var header = L3Codec.ReadHeader(file);
        int edits = 1 + random.Next(3);
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(10) < 8 && header.PayloadLength > 0
                ? header.PayloadStart + random.Next(header.PayloadLength)
                : random.Next(copy.Length);
            switch (random.Next(4))
            {
                case 0: copy[at] = (byte)random.Next(256); break;
                case 1: copy[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: copy[at] = (byte)((copy[at] & 0xF0) | random.Next(9)); break;
                default: copy[at] = (byte)((copy[at] & 0x0F) | random.Next(9) << 4); break;
            }
        }
        return random.Next(10) < 9 ? Reseal(copy) : copy;
    }

    /// <summary>Copies <paramref name="file"/>, edits it, reseals both checksums.</summary>
    public static byte[] With(byte[] file, Action<byte[]> edit)
    {
        var copy = (byte[])file.Clone();
        edit(copy);
        return Reseal(copy);
    }

    /// <summary>Writes both checksums for the table the (possibly edited) header implies, where it fits.</summary>
    public static byte[] Reseal(byte[] file)
    {
        if (file.Length < 32) return file;
        int n = file[7];
        long width = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)), height = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        if (n == 0 || width == 0 || height == 0) return file;
        long tableEnd = 32 + 4 * ((width + n - 1) / n * ((height + n - 1) / n) + 1);
        if (tableEnd + 8 > file.Length) return file;
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), XxHash64.HashToUInt64(file.AsSpan((int)tableEnd + 8)));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)tableEnd), XxHash64.HashToUInt64(file.AsSpan(0, (int)tableEnd)));
        return file;
    }
}
