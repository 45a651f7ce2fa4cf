using System.Linq;
using Microsoft.CodeAnalysis;

namespace L3.Generator;

/// <summary>
/// The [L3Profile] generator. Pipeline, one file a stage (each step named, so tests can check what
/// is cached):
/// <list type="number">
/// <item><see cref="AttributeSource"/>: the attribute, added before anything is read.</item>
/// <item><see cref="ParseStep"/> (<see cref="Parser"/>): ForAttributeWithMetadataName("L3.L3ProfileAttribute")
/// → one <see cref="ParsedProfile"/> per attributed class (plain values only).</item>
/// <item><see cref="DuplicatesStep"/> (<see cref="DuplicateCheck"/>): every parsed profile together, for
/// the name and configuration clashes.</item>
/// <item><see cref="ProfileStep"/>: the valid profiles alone, without their locations, so an edit that
/// only moves a class leaves the emitted source cached; <see cref="GpuStep"/>: whether the compilation
/// references ILGPU (the GPU entry points are emitted only then); <see cref="LoaderStep"/>: whether it
/// references the loader (a declared output's settings and registration are emitted only then).</item>
/// <item><see cref="Emitter"/>: the C# of one profile, with <see cref="Explanation"/>'s comments.</item>
/// </list>
/// Models are in Model.cs, diagnostics in Diagnostics.cs.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class L3ProfileGenerator : IIncrementalGenerator
{
    public const string AttributeMetadataName = "L3.L3ProfileAttribute";
    public const string ParseStep = "L3Profile.Parse";
    public const string ProfileStep = "L3Profile.Profiles";
    public const string GpuStep = "L3Profile.HasIlgpu";
    public const string DuplicatesStep = "L3Profile.Duplicates";
    public const string LoaderStep = "L3Profile.HasLoader";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        context.RegisterPostInitializationOutput(static post =>
        {
            post.AddEmbeddedAttributeDefinition();
            post.AddSource(AttributeSource.HintName, AttributeSource.Text);
        });

        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeMetadataName,
                predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                transform: Parser.Parse)
            .WithTrackingName(ParseStep);

        // Each class's own diagnostics.
        context.RegisterSourceOutput(parsed.Select(static (p, _) => p.Diagnostics), static (spc, diagnostics) =>
        {
            foreach (var d in diagnostics) spc.ReportDiagnostic(d.ToDiagnostic());
        });

        // Clashes between profiles.
        var duplicates = parsed.Collect()
            .Select(static (all, _) => DuplicateCheck.Check(all).ToEquatableArray())
            .WithTrackingName(DuplicatesStep);
        context.RegisterSourceOutput(duplicates, static (spc, diagnostics) =>
        {
            foreach (var d in diagnostics) spc.ReportDiagnostic(d.ToDiagnostic());
        });

        var profiles = parsed
            .Where(static p => p.Profile is not null)
            .Select(static (p, _) => p.Profile!)
            .WithTrackingName(ProfileStep);

        var hasIlgpu = context.CompilationProvider
            .Select(static (c, _) => c.GetTypeByMetadataName("ILGPU.Runtime.Accelerator") is not null)
            .WithTrackingName(GpuStep);

        var hasLoader = context.CompilationProvider
            .Select(static (c, _) => c.GetTypeByMetadataName("L3.Loading.LoaderProfiles") is not null)
            .WithTrackingName(LoaderStep);

        context.RegisterSourceOutput(profiles.Combine(hasIlgpu).Combine(hasLoader), static (spc, pair) =>
            spc.AddSource(Emitter.HintName(pair.Left.Left), Emitter.Emit(pair.Left.Left, pair.Left.Right, pair.Right)));
    }
}
