using TorchSharp;

namespace L3.Interop.Tests;

/// <summary>
/// Whether libtorch (TorchSharp-cpu's native libraries) loads on this machine. libtorch 2.10 needs
/// libstdc++ with GLIBCXX_3.4.32 (GCC 13); Debian 12's has 3.4.30, so there the TorchSharp tests
/// are skipped with that reason rather than failing on a missing system library.
/// </summary>
internal static class TorchAvailable
{
    public static readonly string? Reason = Probe();

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
            string detail = (e.InnerException ?? e).Message.Split('\n').FirstOrDefault(l => l.Contains("GLIBCXX")) ?? (e.InnerException ?? e).Message.Split('\n')[0];
            return $"libtorch does not load here: {detail.Trim()}";
        }
    }
}

/// <summary>A fact that needs libtorch (skipped, saying why, where it cannot load).</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute() => Skip = TorchAvailable.Reason;
}

/// <summary>A theory that needs libtorch (skipped, saying why, where it cannot load).</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    public TorchTheoryAttribute() => Skip = TorchAvailable.Reason;
}
