using L3.Cpu;

namespace L3;

/// <summary>Choices for decoding; the defaults decode on the calling thread with the widest SIMD
/// path the CPU has.</summary>
public sealed record L3DecodeOptions
{
    /// <summary>Threads to decode one image's patches on (1 = the calling thread only; the
    /// output is the same bytes whatever the value).</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    /// <summary>The CPU code path (tests force each one; Auto = widest supported).</summary>
    internal CpuPath Path { get; init; } = CpuPath.Auto;

    public static L3DecodeOptions Default { get; } = new();
}
