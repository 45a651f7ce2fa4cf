namespace L3.Loading;

/// <summary>
/// The loader's one source of randomness: SplitMix64 (Steele, Lea and Flood, 2014), written out
/// here so that a sequence depends on nothing but its key — not on the .NET version, the machine or
/// the thread. Streams are keyed by (seed, epoch) for the shuffle and (seed, epoch, sample) for a
/// sample's augmentation, so any batch's content can be recomputed alone (resume, checks).
/// </summary>
public struct SampleRandom
{
    private ulong _state;

    public SampleRandom(ulong state) => _state = state;

    /// <summary>The stream of the epoch's shuffle.</summary>
    public static SampleRandom ForEpoch(ulong seed, long epoch) =>
        new(Mix(Mix(seed ^ 0x53485546464C4531UL) + (ulong)epoch));

    /// <summary>The stream of one sample's augmentation in one epoch.</summary>
    public static SampleRandom ForSample(ulong seed, long epoch, long sample) =>
        new(Mix(Mix(Mix(seed ^ 0x4155474D454E5431UL) + (ulong)epoch) + (ulong)sample));

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>), unbiased (Lemire's multiply, with rejection).</summary>
    public ulong NextBelow(ulong bound)
    {
        if (bound == 0) throw new ArgumentOutOfRangeException(nameof(bound));
        ulong threshold = (0 - bound) % bound;
        while (true)
        {
            ulong high = Math.BigMul(NextUInt64(), bound, out ulong low);
            if (low >= threshold) return high;
        }
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>), as Python's random.uniform draws.</summary>
    public double NextUniform(double low, double high) => low + (high - low) * NextDouble();

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
