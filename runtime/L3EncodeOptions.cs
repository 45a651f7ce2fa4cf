using L3.Cpu;

namespace L3;

/// <summary>Choices the encoder may make; the defaults are what `l3 encode` uses.</summary>
public sealed record L3EncodeOptions
{
    /// <summary>Patch size N: 8, 16, 32 or 64. Larger patches compress better; each patch is
    /// the unit of random access and of GPU work.</summary>
    public int PatchSize { get; init; } = 64;

    /// <summary>Threads to encode patch rows on (1 = the calling thread only).</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    /// <summary>How the patches are coded: <see cref="L3CodingMode.Rows"/> (mode 0, the fastest to
    /// decode) or <see cref="L3CodingMode.Dense"/> (mode 1, entropy-coded, smaller).</summary>
    public L3CodingMode Mode { get; init; } = L3CodingMode.Rows;

    /// <summary>The CPU code path (tests force each one; Auto = widest supported). Every path
    /// writes the same bytes.</summary>
    internal CpuPath Path { get; init; } = CpuPath.Auto;

    public static L3EncodeOptions Default { get; } = new();
}
