using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace L3.Generator.Tests;

/// <summary>An edit that does not touch a profile must leave the generator's tracked steps cached
/// or unchanged, so that the IDE does not regenerate on every keystroke.</summary>
public sealed class IncrementalityTests
{
    private const string Profiles = """
        namespace App;
        [L3.L3Profile(N = 16, Width = 2048)] public static partial class L3Profile_N16 { }
        [L3.L3Profile(N = 64, Width = 1000, Channels = 3)] public static partial class L3Profile_N64 { }
        """;

    private static IEnumerable<IncrementalStepRunReason> Reasons(GeneratorRunResult run, string step) =>
        run.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason);

    private static (GeneratorDriver Driver, Compilation Compilation) FirstRun(params SyntaxTree[] extra)
    {
        var compilation = GeneratorHarness.Compilation(Profiles).AddSyntaxTrees(extra);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        return (driver, compilation);
    }

    [Fact]
    public void Editing_another_file_leaves_every_step_cached()
    {
        var other = CSharpSyntaxTree.ParseText("namespace App; class Other { int M() => 1; }", GeneratorHarness.ParseOptions, path: "Other.cs");
        var (driver, compilation) = FirstRun(other);
        var edited = CSharpSyntaxTree.ParseText("namespace App; class Other { int M() => 2; int K() => 3; }", GeneratorHarness.ParseOptions, path: "Other.cs");
        var run = driver.RunGenerators(compilation.ReplaceSyntaxTree(other, edited)).GetRunResult().Results.Single();

        Assert.All(Reasons(run, L3ProfileGenerator.ParseStep), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"parse step: {r}"));
        Assert.All(Reasons(run, L3ProfileGenerator.ProfileStep), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"profile step: {r}"));
        Assert.All(Reasons(run, L3ProfileGenerator.GpuStep), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step ran: {o.Reason}"));
        Assert.Equal(2, Reasons(run, L3ProfileGenerator.ProfileStep).Count());
    }

    [Fact]
    public void Editing_the_profiles_file_elsewhere_keeps_the_profiles_unchanged()
    {
        var (driver, compilation) = FirstRun();
        var tree = compilation.SyntaxTrees.Single();
        // insert a class above the profiles: their locations move, their models do not change
        var edited = tree.WithChangedText(tree.GetText().Replace(0, 0, "namespace App { class Unrelated { } }\n"));
        var run = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, edited)).GetRunResult().Results.Single();

        Assert.All(Reasons(run, L3ProfileGenerator.ProfileStep),
            r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"profile step: {r}"));
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(run, L3ProfileGenerator.ParseStep)); // the edit was seen
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step ran: {o.Reason}"));
    }

    [Fact]
    public void Changing_a_profile_regenerates_it()
    {
        var (driver, compilation) = FirstRun();
        var tree = compilation.SyntaxTrees.Single();
        var edited = CSharpSyntaxTree.ParseText(Profiles.Replace("Width = 2048", "Width = 1024"), GeneratorHarness.ParseOptions, path: tree.FilePath);
        var run = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, edited)).GetRunResult().Results.Single();

        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(run, L3ProfileGenerator.ProfileStep));
        Assert.Contains("public const int Width = 1024;", run.GeneratedSources.Single(s => s.HintName == "App.L3Profile_N16.g.cs").SourceText.ToString());
    }

    [Fact]
    public void Output_profiles_stay_cached_and_regenerate_on_an_output_change()
    {
        const string source = "namespace App; [L3.L3Profile(N = 16, Width = 512, OutputWidth = 224, OutputHeight = 224)] public static partial class Train { }";
        var other = CSharpSyntaxTree.ParseText("namespace App; class Other { }", GeneratorHarness.ParseOptions, path: "Other.cs");
        var compilation = GeneratorHarness.Compilation(source, withLoader: true).AddSyntaxTrees(other);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);

        var edited = CSharpSyntaxTree.ParseText("namespace App; class Other { int K() => 3; }", GeneratorHarness.ParseOptions, path: "Other.cs");
        var run = driver.RunGenerators(compilation.ReplaceSyntaxTree(other, edited)).GetRunResult().Results.Single();
        Assert.All(Reasons(run, L3ProfileGenerator.LoaderStep), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"loader step: {r}"));
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step ran: {o.Reason}"));

        var tree = compilation.SyntaxTrees.First();
        var changed = CSharpSyntaxTree.ParseText(source.Replace("OutputWidth = 224", "OutputWidth = 160"), GeneratorHarness.ParseOptions, path: tree.FilePath);
        run = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, changed)).GetRunResult().Results.Single();
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(run, L3ProfileGenerator.ProfileStep));
        Assert.Contains("public const int OutputWidth = 160;", run.GeneratedSources.Single(s => s.HintName == "App.Train.g.cs").SourceText.ToString());
    }

    [Fact]
    public void Pipeline_values_hold_no_symbols_or_syntax()
    {
        var (driver, _) = FirstRun();
        var run = driver.GetRunResult().Results.Single();
        string[] ours = [L3ProfileGenerator.ParseStep, L3ProfileGenerator.ProfileStep, L3ProfileGenerator.GpuStep, L3ProfileGenerator.LoaderStep, L3ProfileGenerator.DuplicatesStep];
        Assert.All(ours, name => Assert.True(run.TrackedSteps.ContainsKey(name), name));
        foreach (var step in ours.SelectMany(name => run.TrackedSteps[name]))
            foreach (var (value, _) in step.Outputs)
                AssertPlain(value, 0);

        static void AssertPlain(object? value, int depth)
        {
            if (value is null || depth > 4) return;
            Assert.False(value is ISymbol or SyntaxNode or Compilation or SemanticModel, $"{value.GetType()} in the pipeline");
            if (value is string || value.GetType().IsPrimitive) return;
            if (value is System.Collections.IEnumerable items)
            {
                foreach (var item in items) AssertPlain(item, depth + 1);
                return;
            }
            foreach (var property in value.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0))
                AssertPlain(property.GetValue(value), depth + 1);
        }
    }
}
