using Xunit;

namespace L3.Generator.Tests;

/// <summary>The generated source of several profiles, against committed snapshots.</summary>
public sealed class SnapshotTests
{
    [Theory]
    [InlineData("N16_W2048", "[L3Profile(N = 16, Width = 2048)] public static partial class L3Profile_N16 { }", "Samples.L3Profile_N16.g.cs")]
    [InlineData("N8_W37", "[L3Profile(N = 8, Width = 37)] internal static partial class L3Profile_N8 { }", "Samples.L3Profile_N8.g.cs")]
    [InlineData("N64_W1080_H1920_C3", "[L3Profile(N = 64, Width = 1080, Height = 1920, Channels = 3)] public static partial class Portrait { }", "Samples.Portrait.g.cs")]
    [InlineData("N32_W1000_NoIlgpu", "[L3Profile(N = 32, Width = 1000)] public static partial class L3Profile_N32 { }", "Samples.L3Profile_N32.g.cs")]
    public void Generated_source_matches_snapshot(string name, string declaration, string hintName)
    {
        var result = GeneratorHarness.Run($"using L3;\nnamespace Samples;\n{declaration}\n", withIlgpu: !name.EndsWith("NoIlgpu"));
        Assert.Empty(result.GeneratorDiagnostics);
        Snapshot.Match(name, result.Source(hintName));
    }

    [Theory]
    [InlineData("N16_W256_Out224_F16", "[L3Profile(N = 16, Width = 256, OutputWidth = 224, OutputHeight = 224)] public static partial class Train224 { }", "Samples.Train224.g.cs")]
    [InlineData("N64_W2048_H1024_C3_Full_UInt8_NHWC",
        "[L3Profile(N = 64, Width = 2048, Height = 1024, Channels = 3, Crop = L3CropMode.Full, OutputType = L3OutputType.UInt8, Layout = L3TensorLayout.ChannelsLast)] public static partial class FullFrames { }",
        "Samples.FullFrames.g.cs")]
    [InlineData("N32_W640_C1_Out96x64x1_F32_Custom",
        "[L3Profile(N = 32, Width = 640, Channels = 1, OutputWidth = 96, OutputHeight = 64, OutputChannels = 1, OutputType = L3OutputType.Float32, Mean = new[] { 0.5f }, Std = new[] { 0.25f }, Crop = L3CropMode.Center)] public static partial class Gray96 { }",
        "Samples.Gray96.g.cs")]
    public void Generated_output_stage_matches_snapshot(string name, string declaration, string hintName)
    {
        var result = GeneratorHarness.Run($"using L3;\nnamespace Samples;\n{declaration}\n", withLoader: true);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.ErrorsAndWarnings.Select(d => d.ToString()));
        Snapshot.Match(name, result.Source(hintName));
    }

    [Fact]
    public void Attribute_source_matches_snapshot()
    {
        var result = GeneratorHarness.Run("namespace Samples;\n");
        Snapshot.Match("L3ProfileAttribute", result.Source("L3ProfileAttribute.g.cs"));
    }

    [Fact]
    public void Snapshot_diff_names_the_changed_line()
    {
        string diff = Snapshot.Diff("a\nb\nc\n", "a\nB\nc\n");
        Assert.Contains("- ", diff);
        Assert.Contains("+ 2\tB", diff);
    }
}
