using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace L3.Generator.Tests;

/// <summary>Runs the generator in memory on a piece of source, against the real runtime, kernels
/// and (optionally) ILGPU assemblies.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly ImmutableArray<MetadataReference> FrameworkReferences =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                        || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();

    private static MetadataReference Of(Type type) => MetadataReference.CreateFromFile(type.Assembly.Location);

    public static CSharpCompilation Compilation(string source, bool withIlgpu = true, bool withRuntime = true, bool withLoader = false)
    {
        var references = FrameworkReferences.ToList();
        if (withRuntime)
        {
            references.Add(Of(typeof(L3Codec)));                       // L3.Runtime
            references.Add(Of(typeof(L3.Kernels.RowCoding)));          // L3.Kernels
            references.Add(Of(typeof(System.IO.Hashing.XxHash64)));
        }
        if (withIlgpu) references.Add(Of(typeof(ILGPU.Context)));
        if (withLoader) references.Add(Of(typeof(L3.Loading.LoaderProfiles)));   // L3.Loader
        return CSharpCompilation.Create("Consumer",
            [CSharpSyntaxTree.ParseText(source, ParseOptions, path: "Profiles.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true, warningLevel: 9999));
    }

    public static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create(
            [new L3ProfileGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public sealed record Result(
        GeneratorRunResult Run, Compilation Output,
        ImmutableArray<Diagnostic> GeneratorDiagnostics, ImmutableArray<Diagnostic> CompileDiagnostics)
    {
        public string Source(string hintName) =>
            Run.GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

        public IEnumerable<Diagnostic> ErrorsAndWarnings =>
            CompileDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning);
    }

    public static Result Run(string source, bool withIlgpu = true, bool withRuntime = true, bool withLoader = false)
    {
        var compilation = Compilation(source, withIlgpu, withRuntime, withLoader);
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var run = driver.GetRunResult().Results.Single();
        return new Result(run, output, diagnostics, output.GetDiagnostics());
    }
}
