using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace L3.Generator;

/// <summary>
/// Turns one [L3Profile]-attributed class into a <see cref="ParsedProfile"/>: reads the
/// attribute's named arguments, checks them against the format's limits and the class's shape,
/// and keeps only plain values.
/// </summary>
internal static class Parser
{
    public const int MaxDimension = 1 << 20;
    public const long MaxPixels = 1L << 28;

    public static ParsedProfile Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var symbol = (INamedTypeSymbol)context.TargetSymbol;
        var syntax = (ClassDeclarationSyntax)context.TargetNode;
        var attribute = context.Attributes[0];
        var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        string name = symbol.Name;
        string? ns = symbol.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : null;
        string fullName = ns is null ? name : ns + "." + name;
        var classLocation = LocationInfo.From(syntax.Identifier.GetLocation());
        var diagnostics = new List<DiagnosticInfo>();

        void Report(string id, LocationInfo? location, params string[] arguments) =>
            diagnostics.Add(new DiagnosticInfo(id, location ?? classLocation, arguments.ToEquatableArray()));

        // The argument's own location when it is written, else the attribute's.
        LocationInfo? ArgumentLocation(string argument)
        {
            var written = attributeSyntax?.ArgumentList?.Arguments
                .FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == argument);
            return LocationInfo.From(written?.GetLocation() ?? attributeSyntax?.GetLocation());
        }

        int? N = null, width = null, height = null, channels = null;
        foreach (var pair in attribute.NamedArguments)
        {
            if (pair.Value.Value is not int value) continue;
            switch (pair.Key)
            {
                case "N": N = value; break;
                case "Width": width = value; break;
                case "Height": height = value; break;
                case "Channels": channels = value; break;
            }
        }

        // The class's shape.
        if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword)) Report("L3G006", null, name);
        if (!symbol.IsStatic) Report("L3G007", null, name);
        if (symbol.ContainingType is not null || symbol.TypeParameters.Length > 0) Report("L3G008", null, name);

        // The configuration, against the format's limits (docs/FORMAT.md, section 1).
        if (N is not (8 or 16 or 32 or 64))
            Report("L3G001", ArgumentLocation("N"), name, N?.ToString() ?? "(not given)");
        if (width is not (>= 1 and <= MaxDimension))
            Report("L3G002", ArgumentLocation("Width"), name, width?.ToString() ?? "(not given)");
        if (height is { } h && h is < 1 or > MaxDimension)
            Report("L3G003", ArgumentLocation("Height"), name, h.ToString());
        if (channels is { } c && c is not (1 or 3 or 4))
            Report("L3G004", ArgumentLocation("Channels"), name, c.ToString());
        if (width is { } w && height is { } hh && (long)w * hh > MaxPixels && diagnostics.Count == 0)
            Report("L3G005", LocationInfo.From(attributeSyntax?.GetLocation()), name, ((long)w * hh).ToString());

        string accessibility = symbol.DeclaredAccessibility == Accessibility.Public ? "public" : "internal";
        var profile = diagnostics.Count == 0
            ? new ProfileModel(ns, name, accessibility, N!.Value, width!.Value, height, channels)
            : null;
        string configuration = $"N = {N}, Width = {width}"
            + (height is { } hv ? $", Height = {hv}" : "") + (channels is { } cv ? $", Channels = {cv}" : "");
        return new ParsedProfile(profile, fullName, configuration, classLocation, diagnostics.ToEquatableArray());
    }
}
