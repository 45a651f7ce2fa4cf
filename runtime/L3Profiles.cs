namespace L3;

/// <summary>
/// Decodes a whole file whose header <see cref="L3Header.Read"/> accepted and whose payload
/// checksum and every patch (<see cref="PatchFormat.Validate"/>) the caller has already checked.
/// </summary>
public delegate void L3ValidatedDecoder(ReadOnlySpan<byte> file, L3Header header, Span<byte> pixels);

/// <summary>
/// A specialized decoder for one patch configuration, as the source generator emits for an
/// <c>[L3Profile]</c> class. <see cref="Height"/> and <see cref="Channels"/> are null when the
/// profile accepts any.
/// </summary>
public sealed record L3ProfileRegistration(string Name, int PatchSize, int Width, int? Height, int? Channels,
    L3ValidatedDecoder Decode)
{
    /// <summary>Whether a file with this header is one the profile decodes.</summary>
    public bool Matches(L3Header header) =>
        header.PatchSize == PatchSize && header.Width == Width
        && (Height is not { } h || header.Height == h)
        && (Channels is not { } c || header.Channels == c);

    /// <summary>
    /// Whether <see cref="Decode"/> is vectorized. The generator emits scalar decoders (constants
    /// folded in, loops unrolled): they beat the generic scalar path, but not the generic SIMD one,
    /// so <see cref="L3Codec"/> dispatches to a scalar profile only where no vector path runs.
    /// </summary>
    public bool IsVectorized { get; init; }

    /// <summary>More specific profiles (a fixed height or channel count) win over general ones.</summary>
    internal int Specificity => (Height.HasValue ? 2 : 0) + (Channels.HasValue ? 1 : 0);
}

/// <summary>
/// The profiles <see cref="L3Codec.Decode(ReadOnlySpan{byte}, Span{byte})"/> dispatches to:
/// generated profiles register themselves from a module initializer, so a file that matches one
/// is decoded by its specialized code, and every other file by the generic path.
/// </summary>
public static class L3Profiles
{
    private static readonly object Gate = new();
    private static L3ProfileRegistration[] _profiles = [];

    [ThreadStatic] private static int t_genericDepth;

    /// <summary>Every registered profile, in registration order.</summary>
    public static IReadOnlyList<L3ProfileRegistration> All => Volatile.Read(ref _profiles);

    /// <summary>Adds a profile (the generated module initializers call this). Registering the same
    /// name twice keeps the first.</summary>
    public static void Register(L3ProfileRegistration profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (!L3Header.IsValidPatchSize(profile.PatchSize))
            throw new ArgumentException($"patch size {profile.PatchSize} is not 8, 16, 32 or 64", nameof(profile));
        lock (Gate)
        {
            var current = _profiles;
            foreach (var p in current)
                if (p.Name == profile.Name) return;
            Volatile.Write(ref _profiles, [.. current, profile]);
        }
    }

    /// <summary>The profile that matches a file with this header (the most specific, then the first
    /// registered), or null. Always null inside <see cref="UseGenericPath"/>.</summary>
    public static L3ProfileRegistration? Find(L3Header header)
    {
        if (t_genericDepth > 0) return null;
        L3ProfileRegistration? best = null;
        foreach (var p in Volatile.Read(ref _profiles))
            if (p.Matches(header) && (best is null || p.Specificity > best.Specificity))
                best = p;
        return best;
    }

    /// <summary>Until the returned scope is disposed, decoding on this thread takes the generic path
    /// (to compare or benchmark the two).</summary>
    public static GenericPathScope UseGenericPath()
    {
        t_genericDepth++;
        return new GenericPathScope();
    }

    /// <summary>See <see cref="UseGenericPath"/>.</summary>
    public readonly struct GenericPathScope : IDisposable
    {
        public void Dispose() => t_genericDepth--;
    }
}
