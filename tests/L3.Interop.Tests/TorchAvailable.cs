using TorchSharp;

namespace L3.Interop.Tests;

/// <summary>
/// Whether libtorch (TorchSharp-cpu's native libraries) loads on this machine. LibTorchSharp 0.107.0
/// needs libstdc++ with GLIBCXX_3.4.32 (GCC 13); Debian 12's has 3.4.30, so there the TorchSharp
/// tests are skipped with that reason rather than failing on a missing system library, unless
/// <c>L3_REQUIRE_TORCHSHARP=1</c> (CI, which runs them with interop/L3.TorchSharp/install-libstdcxx.sh's
/// libstdc++): then they run and fail with that reason.
/// </summary>
internal static class TorchAvailable
{
    public static readonly string? Reason = Probe();

    /// <summary>Set: a libtorch that does not load fails the tests instead of skipping them.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("L3_REQUIRE_TORCHSHARP") == "1";

    /// <summary>The skip reason, or null where the tests run (libtorch loads, or it is required).</summary>
    public static string? SkipReason => Required ? null : Reason;

    /// <summary>Fails the calling test with the reason libtorch does not load.</summary>
    public static void EnsureLoaded()
    {
        if (Reason is not null) throw new InvalidOperationException($"{Reason} (L3_REQUIRE_TORCHSHARP=1: run the tests with LD_LIBRARY_PATH=$(interop/L3.TorchSharp/install-libstdcxx.sh))");
    }

    private static string? LoaderError()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists(path)) System.Runtime.InteropServices.NativeLibrary.Free(System.Runtime.InteropServices.NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException e)
        {
            return e.Message.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("GLIBCXX")) ?? e.Message.Split('\n')[0];
        }
    }

    private static string? Probe()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            using var probe = torch.zeros(1);
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException or InvalidOperationException)
        {
            // TorchSharp's own message blames a missing package reference; the dynamic loader's
            // (a missing GLIBCXX version) comes from loading LibTorchSharp by its path
            string detail = LoaderError() ?? (e.InnerException ?? e).Message.Split('\n')[0];
            return $"libtorch does not load here: {detail.Trim()}";
        }
    }
}

/// <summary>A fact that needs libtorch (skipped, saying why, where it cannot load and is not required).</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute() => Skip = TorchAvailable.SkipReason;
}

/// <summary>A theory that needs libtorch (skipped, saying why, where it cannot load and is not required).</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    public TorchTheoryAttribute() => Skip = TorchAvailable.SkipReason;
}
