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
