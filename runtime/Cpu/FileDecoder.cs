using L3.Kernels;

namespace L3.Cpu;

/// <summary>
/// The whole-file CPU decoder (<see cref="CpuDecoder.DecodeAll{TShape}"/>) instantiated with one
/// shape: <see cref="Generic"/> for <see cref="AnyShape"/>, one per registered profile.
/// </summary>
internal abstract class FileDecoder
{
    /// <summary>The generic decoder: every fact of the file read at run time.</summary>
    public static FileDecoder Generic => For<AnyShape>();

    public static FileDecoder For<TShape>() where TShape : struct, IPatchShape => Of<TShape>.Instance;

    /// <summary>Decodes a file of this decoder's shape whose header, checksums and patches are validated.</summary>
    public abstract void Decode(ReadOnlySpan<byte> file, L3Header header, Span<byte> pixels, CpuPath path, int maxDegreeOfParallelism);

    private sealed class Of<TShape> : FileDecoder where TShape : struct, IPatchShape
    {
        public static readonly Of<TShape> Instance = new();

        public override void Decode(ReadOnlySpan<byte> file, L3Header header, Span<byte> pixels, CpuPath path, int maxDegreeOfParallelism) =>
            CpuDecoder.DecodeAll<TShape>(file, header, pixels, path, maxDegreeOfParallelism);
    }
}

/// <summary>
/// Which decoder serves a file, as <see cref="L3Codec"/> resolves it: a registered profile (or
/// none: the generic decoder) and the CPU code path. Decoding and describing go through the same
/// value, so what <see cref="L3Codec.DescribeDecoder(L3Header, L3DecodeOptions?)"/> says is what runs.
/// </summary>
internal readonly record struct DecoderChoice(L3ProfileRegistration? Profile, CpuPath Path)
{
    public static DecoderChoice Resolve(L3Header header, L3DecodeOptions options) =>
        new(options.UseProfiles ? L3Profiles.Find(header) : null, CpuPaths.Resolve(options.Path));

    public void Decode(ReadOnlySpan<byte> file, L3Header header, Span<byte> pixels, int maxDegreeOfParallelism) =>
        (Profile?.Decoder ?? FileDecoder.Generic).Decode(file, header, pixels, Path, maxDegreeOfParallelism);

    /// <summary>"profile NAME (PATH)" or "generic PATH", PATH the instruction set: Vector512 (AVX-512),
    /// Vector256 (AVX2), Vector128 (SSSE3 or AdvSimd) or Scalar.</summary>
    public override string ToString() =>
        Profile is null ? $"generic {CpuPaths.Describe(Path)}" : $"profile {Profile.Name} ({CpuPaths.Describe(Path)})";
}
