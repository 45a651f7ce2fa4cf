using L3.Cpu;
using L3.Hostile;

namespace L3.Gpu.Tests;

/// <summary>
/// The dense hostile set (valid extremes, crafted tables and streams, resealed mutants) through every
/// CPU path: each decodes what the scalar reference decodes, to the same pixels, and refuses what it
/// refuses with the same message. The vector decoders find a fault after a few steps in lockstep (a
/// group of patches at once), so it is the reference that states it; found by the l3-decode fuzz
/// target, where a Vector256 decode said "the word stream ends early" for a file whose first fault is
/// a symbol of an unused table.
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
        }
        Assert.True(refused > cases.Count / 4, $"only {refused} of {cases.Count} refused");
    }

    private static (byte[]? Pixels, string? Error) Outcome(byte[] file, CpuPath path)
    {
        try { return (L3Codec.Decode(file, new L3DecodeOptions { Path = path }).Pixels, null); }
        catch (L3FormatException e) { return (null, e.Message); }
    }
}
