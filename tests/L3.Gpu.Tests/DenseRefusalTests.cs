using L3.Cpu;
using L3.Hostile;
using L3.Kernels;

namespace L3.Gpu.Tests;

/// <summary>
/// The dense hostile set (valid extremes, crafted tables and streams, resealed mutants) through every
/// CPU path, on two threads and through Verify: each decodes what the scalar reference decodes, to the
/// same pixels, and refuses what it refuses with the same message. The vector decoders find faults in
/// lockstep (a group of patches at once) and the paths and threads visit patches in different orders,
/// so the reference states the first bad patch's fault in index order. Found by the l3-decode fuzz
/// target: a Vector256 decode said "the word stream ends early" where the reference found a symbol of
/// an unused table, and two threads named another patch than one.
/// </summary>
public sealed class DenseRefusalTests
{
    [Fact]
    public void Every_cpu_path_refuses_a_bad_dense_file_with_the_references_message()
    {
        var cases = DenseHostileSet.All(mutants: 60);
        int refused = 0;
        foreach (var hostile in cases)
        {
            var reference = Outcome(hostile.File, CpuPath.Scalar);
            if (reference.Error is not null) refused++;
            foreach (var path in CpuPaths.Supported.Skip(1))
            {
                var outcome = Outcome(hostile.File, path);
                Assert.True(reference.Error == outcome.Error, $"{hostile.Name} on {path}: \"{outcome.Error}\", the reference \"{reference.Error}\"");
                if (reference.Pixels is not null) Assert.Equal(reference.Pixels, outcome.Pixels);
            }
            // patch rows on two threads, and the patch-by-patch check, name the same fault
            var parallel = Outcome(hostile.File, CpuPath.Auto, threads: 2);
            Assert.True(reference.Error == parallel.Error, $"{hostile.Name} on two threads: \"{parallel.Error}\", the reference \"{reference.Error}\"");
            string? verify = null;
            try { L3Codec.Verify(hostile.File); }
            catch (L3FormatException e) { verify = e.Message; }
            Assert.True(reference.Error == verify, $"{hostile.Name}: Verify \"{verify}\", the reference's decode \"{reference.Error}\"");
        }
        Assert.True(refused > cases.Count / 4, $"only {refused} of {cases.Count} refused");
    }

    [Fact]
    public void Of_two_bad_patches_every_path_and_thread_count_names_the_first_in_index_order()
    {
        // 3 × 2 patches of N = 8: patch 2 ends row 0, patch 3 starts row 1. The vector paths take a
        // row's last patch after the other rows' inner ones, and two threads take a row each.
        var pixels = new byte[24 * 16 * 3];
        new Random(3).NextBytes(pixels);
        var file = L3Codec.Encode(pixels, 24, 16, 3, new L3EncodeOptions { PatchSize = 8, Mode = L3CodingMode.Dense });
        var header = L3Header.Read(file);
        foreach (int p in new[] { 2, 3 })
        {
            var (start, length) = header.PatchRange(p);
            int at = header.PayloadStart + start;
            int states = DenseLayout.PatchHeaderBytes(8, 3), stream = states + DenseLayout.Lanes(8) * DenseLayout.StateBytes;
            file[at + states + 3] ^= 0x40;
            file[at + (stream + length) / 2] ^= 0x5A;
        }
        file = HostileSet.Reseal(file);
        var reference = Outcome(file, CpuPath.Scalar);
        Assert.NotNull(reference.Error);
        // each bad patch alone, as a region decode finds it: the file's fault is patch 2's
        string RegionFault(int p) =>
            Assert.Throws<L3FormatException>(() => L3Codec.DecodeRegion(file, header.PatchRect(p).X, header.PatchRect(p).Y, 1, 1)).Message;
        Assert.NotEqual(RegionFault(2), RegionFault(3));
        Assert.Equal(RegionFault(2), reference.Error);
        foreach (var path in CpuPaths.Supported)
            foreach (int threads in new[] { 1, 2 })
                Assert.Equal(reference.Error, Outcome(file, path, threads).Error);
    }

    private static (byte[]? Pixels, string? Error) Outcome(byte[] file, CpuPath path, int threads = 1)
    {
        try { return (L3Codec.Decode(file, new L3DecodeOptions { Path = path, MaxDegreeOfParallelism = threads }).Pixels, null); }
        catch (L3FormatException e) { return (null, e.Message); }
    }
}
