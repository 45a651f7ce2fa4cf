using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace L3.Cpu;

/// <summary>
/// The CPU code paths of the decoder and encoder. <see cref="Auto"/> picks the widest one this
/// machine runs; tests force each one in-process to compare it with <see cref="Scalar"/> (the
/// reference, <see cref="PatchDecoder"/> / <see cref="PatchEncoder"/>).
/// </summary>
internal enum CpuPath
{
    Auto = 0,
    /// <summary>The reference: plain C#, the rules of RowCoding pixel by pixel.</summary>
    Scalar,
    /// <summary>16-byte vectors: SSSE3 (x86) or AdvSimd (Arm64); BMI2 pdep/pext where present.</summary>
    Vector128,
    /// <summary>AVX2 (+ BMI2 pdep/pext where present).</summary>
    Vector256,
    /// <summary>AVX-512 F/BW/CD/VBMI: one 512-bit register per row of 64 pixels.</summary>
    Vector512,
}

internal static class CpuPaths
{
    public static bool IsSupported(CpuPath path) => path switch
    {
        CpuPath.Auto or CpuPath.Scalar => true,
        CpuPath.Vector128 => Vector128.IsHardwareAccelerated && (Ssse3.IsSupported || AdvSimd.Arm64.IsSupported),
        CpuPath.Vector256 => Vector256.IsHardwareAccelerated && Avx2.IsSupported,
        CpuPath.Vector512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported && Avx512CD.IsSupported && Avx512Vbmi.IsSupported,
        _ => false,
    };

    /// <summary>The widest path this process runs (honours DOTNET_EnableAVX512F=0 etc.).</summary>
    public static CpuPath Best { get; } =
        IsSupported(CpuPath.Vector512) ? CpuPath.Vector512 :
        IsSupported(CpuPath.Vector256) ? CpuPath.Vector256 :
        IsSupported(CpuPath.Vector128) ? CpuPath.Vector128 : CpuPath.Scalar;

    /// <summary>Every path this process can run, Scalar first.</summary>
    public static IReadOnlyList<CpuPath> Supported { get; } =
        new[] { CpuPath.Scalar, CpuPath.Vector128, CpuPath.Vector256, CpuPath.Vector512 }.Where(IsSupported).ToArray();

    /// <summary>The path and the instruction set it runs on, e.g. "Vector512 (AVX-512)".</summary>
    public static string Describe(CpuPath path) => path switch
    {
        CpuPath.Scalar => "Scalar",
        CpuPath.Vector128 => Ssse3.IsSupported ? "Vector128 (SSSE3)" : "Vector128 (AdvSimd)",
        CpuPath.Vector256 => "Vector256 (AVX2)",
        CpuPath.Vector512 => "Vector512 (AVX-512)",
        _ => Describe(Resolve(path)),
    };

    public static CpuPath Resolve(CpuPath path) =>
        path == CpuPath.Auto ? Best
        : IsSupported(path) ? path
        : throw new PlatformNotSupportedException($"the {path} code path is not supported on this CPU / runtime configuration");
}
