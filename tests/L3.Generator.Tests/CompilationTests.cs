using Microsoft.CodeAnalysis;
using Xunit;

namespace L3.Generator.Tests;

/// <summary>The generated code compiles with no warning (nullable on, every warning wave), with
/// and without ILGPU referenced, in a namespace and in the global one.</summary>
public sealed class CompilationTests
{
    public static TheoryData<string, bool> Profiles => new()
    {
        { "namespace A.B; [L3.L3Profile(N = 8, Width = 1)] public static partial class P { }", true },
        { "namespace A.B; [L3.L3Profile(N = 16, Width = 2048)] public static partial class P { }", true },
        { "[L3.L3Profile(N = 32, Width = 1000)] static partial class P { }", true },
        { "namespace A; [L3.L3Profile(N = 64, Width = 1048576, Height = 256, Channels = 1)] internal static partial class P { }", true },
        { "namespace A; [L3.L3Profile(N = 64, Width = 130, Channels = 4)] public static partial class P { }", false },
        { "namespace A; [L3.L3Profile(N = 8, Width = 17)] public static partial class P { } [L3.L3Profile(N = 8, Width = 18)] public static partial class Q { }", true },
    };

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Generated_code_compiles_without_warnings(string source, bool withIlgpu)
    {
        var result = GeneratorHarness.Run(source, withIlgpu);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.True(result.Run.GeneratedSources.Length >= 2, "the attribute and at least one profile");
        Assert.Empty(result.ErrorsAndWarnings.Select(d => d.ToString()));
        using var stream = new MemoryStream();
        var emit = result.Output.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
    }

    public static TheoryData<string, bool, bool> OutputProfiles => new()
    {
        { "namespace A; [L3.L3Profile(N = 16, Width = 256, OutputWidth = 224, OutputHeight = 224)] public static partial class P { }", true, true },
        { "namespace A; [L3.L3Profile(N = 16, Width = 256, OutputWidth = 224, OutputHeight = 224)] public static partial class P { }", true, false },
        { "namespace A; [L3.L3Profile(N = 16, Width = 256, OutputWidth = 224, OutputHeight = 224)] public static partial class P { }", false, false },
        { "[L3.L3Profile(N = 8, Width = 64, Height = 48, Channels = 4, OutputChannels = 4, Crop = L3.L3CropMode.Full, OutputType = L3.L3OutputType.BFloat16, Normalization = L3.L3Normalization.None)] static partial class P { }", true, true },
        { "namespace A; [L3.L3Profile(N = 64, Width = 2048, OutputWidth = 1, OutputHeight = 16384, OutputType = L3.L3OutputType.UInt8, Layout = L3.L3TensorLayout.ChannelsLast)] internal static partial class P { }", true, true },
    };

    [Theory]
    [MemberData(nameof(OutputProfiles))]
    public void Output_profiles_compile_without_warnings(string source, bool withIlgpu, bool withLoader)
    {
        var result = GeneratorHarness.Run(source, withIlgpu, withLoader: withLoader);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.ErrorsAndWarnings.Select(d => d.ToString()));
        string generated = result.Source(source.StartsWith("namespace A;") ? "A.P.g.cs" : "P.g.cs");
        Assert.Equal(withIlgpu, generated.Contains("FusedAugment"));
        Assert.Equal(withIlgpu && withLoader, generated.Contains("LoaderProfiles.Register<Shape, Output>"));
    }

    [Fact]
    public void Kernels_are_emitted_only_when_ilgpu_is_referenced()
    {
        const string source = "[L3.L3Profile(N = 16, Width = 64)] public static partial class P { }";
        Assert.Contains("DecodeOnAccelerator", GeneratorHarness.Run(source, withIlgpu: true).Source("P.g.cs"));
        Assert.DoesNotContain("ILGPU", GeneratorHarness.Run(source, withIlgpu: false).Source("P.g.cs"));
    }

    [Fact]
    public void Two_assemblies_with_the_attribute_do_not_clash()
    {
        // the attribute is internal and [Embedded], so a consumer of a consumer sees no duplicate
        var first = GeneratorHarness.Run("[assembly: System.Runtime.CompilerServices.InternalsVisibleTo(\"Consumer\")]\n[L3.L3Profile(N = 8, Width = 8)] public static partial class P1 { }");
        using var stream = new MemoryStream();
        Assert.True(first.Output.Emit(stream).Success);
        var reference = MetadataReference.CreateFromImage(stream.ToArray());
        var second = GeneratorHarness.Compilation("[L3.L3Profile(N = 8, Width = 9)] public static partial class P2 { }")
            .AddReferences(reference);
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(second, out var output, out _);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()));
    }
}
