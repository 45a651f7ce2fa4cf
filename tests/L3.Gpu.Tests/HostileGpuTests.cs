using L3.Hostile;

namespace L3.Gpu.Tests;

/// <summary>
/// The hostile-file set (fuzz/L3.Hostile) through the GPU codec on ILGPU's CPU accelerator: every
/// file the CPU refuses is refused on the host before any launch, and every file whose structure
/// passes, even with random bits behind a wrong checksum, decodes to the CPU's bytes, alone and
/// in one batch. On a CUDA GPU, bench/gpu/sanitize.sh runs the same set under compute-sanitizer.
/// </summary>
[Collection("gpu")]
public sealed class HostileGpuTests(CodecFixture fixture)
{
    [Fact]
    public void The_GPU_codec_agrees_with_the_CPU_on_every_hostile_file()
    {
        var cases = HostileSet.All(mutants: 100);
        var (disagreements, launched) = GpuAgreement.Check(fixture.Codec, cases, eachAlone: false);
        Assert.Empty(disagreements);
        // the set must reach the kernel with valid-but-adversarial files (the last of the batch lies
        // against the padding), and be refused otherwise
        Assert.InRange(launched, 40, cases.Count - 30);
    }

    [Fact]
    public void Each_crafted_file_is_refused_before_any_launch()
    {
        var valid = HostileSet.ValidAdversarial().ToList();
        foreach (var c in HostileSet.Crafted(valid))
        {
            var e = Assert.Throws<L3FormatException>(() => fixture.Codec.Prepare([c.File]));
            Assert.StartsWith("file 0: ", e.Message);
        }
    }
}
