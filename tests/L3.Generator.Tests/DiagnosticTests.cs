using Microsoft.CodeAnalysis;
using Xunit;

namespace L3.Generator.Tests;

/// <summary>Each L3G diagnostic: reported as an error where it applies, with the class and the
/// offending value in its message, and no profile generated for the class.</summary>
public sealed class DiagnosticTests
{
    [Theory]
    [InlineData("L3G001", "[L3Profile(N = 12, Width = 10)] public static partial class P { }", "N = 12")]
    [InlineData("L3G001", "[L3Profile(Width = 10)] public static partial class P { }", "N = (not given)")]
    [InlineData("L3G002", "[L3Profile(N = 8, Width = 0)] public static partial class P { }", "Width = 0")]
    [InlineData("L3G002", "[L3Profile(N = 8, Width = 1048577)] public static partial class P { }", "Width = 1048577")]
    [InlineData("L3G003", "[L3Profile(N = 8, Width = 10, Height = -3)] public static partial class P { }", "Height = -3")]
    [InlineData("L3G003", "[L3Profile(N = 8, Width = 10, Height = 2000000)] public static partial class P { }", "Height = 2000000")]
    [InlineData("L3G004", "[L3Profile(N = 8, Width = 10, Channels = 2)] public static partial class P { }", "Channels = 2")]
    [InlineData("L3G005", "[L3Profile(N = 8, Width = 1048576, Height = 1048576)] public static partial class P { }", "1099511627776 pixels")]
    [InlineData("L3G006", "[L3Profile(N = 8, Width = 10)] public static class P { }", "'P' must be declared partial")]
    [InlineData("L3G007", "[L3Profile(N = 8, Width = 10)] public partial class P { }", "'P' must be declared static")]
    [InlineData("L3G008", "public static partial class Outer { [L3Profile(N = 8, Width = 10)] public static partial class P { } }", "'P' must be a top-level")]
    [InlineData("L3G008", "[L3Profile(N = 8, Width = 10)] public static partial class P<T> { }", "'P' must be a top-level")]
    [InlineData("L3G011", "[L3Profile(N = 8, Width = 10, OutputType = L3OutputType.Float32)] public static partial class P { }", "needs OutputWidth and OutputHeight")]
    [InlineData("L3G011", "[L3Profile(N = 8, Width = 10, OutputWidth = 32)] public static partial class P { }", "needs OutputWidth and OutputHeight")]
    [InlineData("L3G012", "[L3Profile(N = 8, Width = 10, OutputWidth = 0, OutputHeight = 32)] public static partial class P { }", "OutputWidth = 0 is outside 1..16384")]
    [InlineData("L3G012", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 20000)] public static partial class P { }", "OutputHeight = 20000")]
    [InlineData("L3G013", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, OutputChannels = 2)] public static partial class P { }", "OutputChannels = 2 cannot be produced: it is not 1, 3 or 4")]
    [InlineData("L3G013", "[L3Profile(N = 8, Width = 10, Channels = 3, OutputWidth = 32, OutputHeight = 32, OutputChannels = 4)] public static partial class P { }", "images of 3 channel(s) give 3")]
    [InlineData("L3G013", "[L3Profile(N = 8, Width = 10, Channels = 4, OutputWidth = 32, OutputHeight = 32, OutputChannels = 1)] public static partial class P { }", "images of 4 channel(s) give 3 or 4")]
    [InlineData("L3G014", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, Mean = new[] { 0.5f, 0.5f, 0.5f })] public static partial class P { }", "Mean and Std go together")]
    [InlineData("L3G014", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, Mean = new[] { 0.5f, 0.5f }, Std = new[] { 0.2f, 0.2f })] public static partial class P { }", "Mean has 2 value(s) and Std 2; give one per output channel (3)")]
    [InlineData("L3G014", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, Mean = new[] { 0.5f, 0.5f, 0.5f }, Std = new[] { 0.2f, 0f, 0.2f })] public static partial class P { }", "std finite and positive")]
    [InlineData("L3G015", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, OutputType = L3OutputType.UInt8, Normalization = L3Normalization.ImageNet)] public static partial class P { }", "UInt8 writes rounded pixel values")]
    [InlineData("L3G015", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, OutputType = L3OutputType.UInt8, Mean = new[] { 0.5f, 0.5f, 0.5f }, Std = new[] { 0.2f, 0.2f, 0.2f })] public static partial class P { }", "float outputs only")]
    [InlineData("L3G015", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, Normalization = L3Normalization.None, Mean = new[] { 0.5f, 0.5f, 0.5f }, Std = new[] { 0.2f, 0.2f, 0.2f })] public static partial class P { }", "either Normalization or Mean and Std")]
    [InlineData("L3G016", "[L3Profile(N = 8, Width = 10, Crop = L3CropMode.Full)] public static partial class P { }", "a constant only when the profile gives Height")]
    [InlineData("L3G016", "[L3Profile(N = 8, Width = 10, Height = 10, Crop = L3CropMode.Full, OutputWidth = 10)] public static partial class P { }", "leave OutputWidth and OutputHeight out")]
    [InlineData("L3G017", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, OutputType = (L3OutputType)7)] public static partial class P { }", "OutputType = 7 is not a defined value")]
    [InlineData("L3G017", "[L3Profile(N = 8, Width = 10, OutputWidth = 32, OutputHeight = 32, Crop = (L3CropMode)5)] public static partial class P { }", "Crop = 5 is not a defined value")]
    public void Invalid_profile_is_an_error(string id, string declaration, string messagePart)
    {
        var result = GeneratorHarness.Run($"using L3;\nnamespace Ns;\n{declaration}\n");
        var diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains(messagePart, diagnostic.GetMessage());
        Assert.Equal("Profiles.cs", diagnostic.Location.GetLineSpan().Path); // points into the source
        Assert.DoesNotContain(result.Run.GeneratedSources, s => s.HintName == "Ns.P.g.cs"); // no profile code
    }

    [Fact]
    public void Diagnostic_points_at_the_offending_argument()
    {
        const string source = "using L3;\n[L3Profile(N = 12, Width = 10)] public static partial class P { }\n";
        var diagnostic = Assert.Single(GeneratorHarness.Run(source).GeneratorDiagnostics);
        Assert.Equal("N = 12", source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
    }

    [Fact]
    public void Same_name_in_two_namespaces_is_an_error()
    {
        var result = GeneratorHarness.Run("""
            namespace A { [L3.L3Profile(N = 8, Width = 10)] public static partial class P { } }
            namespace B { [L3.L3Profile(N = 16, Width = 10)] public static partial class P { } }
            """);
        var diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("L3G009", diagnostic.Id);
        Assert.Contains("'B.P' has the same name as the profile 'A.P'", diagnostic.GetMessage());
    }

    [Fact]
    public void Same_shape_with_different_outputs_is_not_a_clash()
    {
        var result = GeneratorHarness.Run("""
            [L3.L3Profile(N = 16, Width = 640, OutputWidth = 224, OutputHeight = 224)] public static partial class Train { }
            [L3.L3Profile(N = 16, Width = 640, OutputWidth = 224, OutputHeight = 224, Crop = L3.L3CropMode.Center)] public static partial class Val { }
            [L3.L3Profile(N = 16, Width = 640, OutputWidth = 224, OutputHeight = 224)] public static partial class Again { }
            """);
        var diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("L3G010", diagnostic.Id);
        Assert.Contains("'Again' has the same configuration", diagnostic.GetMessage());
    }

    [Fact]
    public void Same_configuration_twice_is_an_error()
    {
        var result = GeneratorHarness.Run("""
            [L3.L3Profile(N = 16, Width = 640, Channels = 3)] public static partial class First { }
            [L3.L3Profile(N = 16, Width = 640, Channels = 3)] public static partial class Second { }
            [L3.L3Profile(N = 16, Width = 640, Channels = 4)] public static partial class Third { }
            """);
        var diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("L3G010", diagnostic.Id);
        Assert.Contains("'Second' has the same configuration (N = 16, Width = 640, Channels = 3) as the profile 'First'", diagnostic.GetMessage());
    }

    [Fact]
    public void Valid_profiles_report_nothing()
    {
        var result = GeneratorHarness.Run("""
            [L3.L3Profile(N = 8, Width = 1)] public static partial class A { }
            [L3.L3Profile(N = 64, Width = 1048576, Height = 256, Channels = 4)] public static partial class B { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Contains(result.Run.GeneratedSources, s => s.HintName == "A.g.cs");
        Assert.Contains(result.Run.GeneratedSources, s => s.HintName == "B.g.cs");
    }
}
