using L3.Cpu;

namespace L3;

/// <summary>Choices for decoding; the defaults decode on the calling thread with the widest SIMD
/// path the CPU has.</summary>
public sealed record L3DecodeOptions
{
    /// <summary>Threads to decode one image's patches on (1 = the calling thread only; the
    /// output is the same bytes whatever the value).</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    /// <summary>Whether a file that matches a registered <c>[L3Profile]</c> is decoded by the profile's
    /// specialization (the default); false takes the generic decoder, e.g. to compare the two. The
    /// output is the same bytes either way.</summary>
    public bool UseProfiles { get; init; } = true;

    /// <summary>The CPU code path (tests force each one; Auto = widest supported).</summary>
    internal CpuPath Path { get; init; } = CpuPath.Auto;

    public static L3DecodeOptions Default { get; } = new();
}
