using L3.Cpu;
using L3.Kernels;

namespace L3;

/// <summary>
/// A registered profile: a name and a shape (<see cref="IPatchShape"/>) whose files the library's
/// own decoders, instantiated with that shape, decode. The source generator registers one per
/// <c>[L3Profile]</c> class. <see cref="Height"/> and <see cref="Channels"/> are null when the
/// profile accepts any.
/// </summary>
public sealed class L3ProfileRegistration
{
    private L3ProfileRegistration(string name, int patchSize, int width, int? height, int? channels, FileDecoder decoder)
    {
        Name = name;
        PatchSize = patchSize;
        Width = width;
        Height = height;
        Channels = channels;
        Decoder = decoder;
    }

    /// <summary>The profile's name (the generated class's full name).</summary>
    public string Name { get; }
    public int PatchSize { get; }
    public int Width { get; }
    public int? Height { get; }
    public int? Channels { get; }

    /// <summary>The CPU decoder instantiated with the profile's shape.</summary>
    internal FileDecoder Decoder { get; }

    internal static L3ProfileRegistration For<TShape>(string name) where TShape : struct, IPatchShape
    {
        var shape = default(TShape);
        return new L3ProfileRegistration(name, shape.N, shape.Width,
            shape.Height == 0 ? null : shape.Height, shape.Channels == 0 ? null : shape.Channels, FileDecoder.For<TShape>());
    }

    /// <summary>Whether a file with this header is one the profile decodes.</summary>
    public bool Matches(L3Header header) =>
        header.PatchSize == PatchSize && header.Width == Width
        && (Height is not { } h || header.Height == h)
        && (Channels is not { } c || header.Channels == c);

    /// <summary>More specific profiles (a fixed height or channel count) win over general ones.</summary>
    internal int Specificity => (Height.HasValue ? 2 : 0) + (Channels.HasValue ? 1 : 0);

    public override string ToString() => Name;
}

/// <summary>
/// The profiles <see cref="L3Codec.Decode(ReadOnlySpan{byte}, Span{byte})"/> dispatches to:
/// generated profiles register themselves from a module initializer, so a file that matches one
/// is decoded by the library's decoder instantiated with that profile's shape, and every other
/// file by the generic instantiation (<see cref="AnyShape"/>).
/// </summary>
public static class L3Profiles
{
    private static readonly object Gate = new();
    private static L3ProfileRegistration[] _profiles = [];

    /// <summary>Every registered profile, in registration order.</summary>
    public static IReadOnlyList<L3ProfileRegistration> All => Volatile.Read(ref _profiles);

    /// <summary>Registers the shape <typeparamref name="TShape"/> under <paramref name="name"/> (the
    /// generated module initializers call this). Registering the same name twice keeps the first.</summary>
    /// <exception cref="ArgumentException">the shape does not fix a valid patch size and width</exception>
    public static L3ProfileRegistration Register<TShape>(string name) where TShape : struct, IPatchShape
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var shape = default(TShape);
        if (!FileLayout.IsValidPatchSize(shape.N))
            throw new ArgumentException($"shape {typeof(TShape)} fixes patch size {shape.N}, not 8, 16, 32 or 64", nameof(TShape));
        if (shape.Width is < 1 or > FileLayout.MaxDimension || shape.Height is < 0 or > FileLayout.MaxDimension
            || shape.Channels != 0 && !FileLayout.IsValidChannelCount(shape.Channels))
            throw new ArgumentException($"shape {typeof(TShape)} does not fix a valid width (and height or channels, if any)", nameof(TShape));
        lock (Gate)
        {
            var current = _profiles;
            foreach (var p in current)
                if (p.Name == name) return p;
            var profile = L3ProfileRegistration.For<TShape>(name);
            Volatile.Write(ref _profiles, [.. current, profile]);
            return profile;
        }
    }

    /// <summary>The profile that matches a file with this header (the most specific, then the first
    /// registered), or null.</summary>
    public static L3ProfileRegistration? Find(L3Header header)
    {
        L3ProfileRegistration? best = null;
        foreach (var p in Volatile.Read(ref _profiles))
            if (p.Matches(header) && (best is null || p.Specificity > best.Specificity))
                best = p;
        return best;
    }
}
