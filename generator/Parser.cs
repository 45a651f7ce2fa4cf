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
        var output = new OutputArguments();
        foreach (var pair in attribute.NamedArguments)
        {
            if (pair.Value.Kind == TypedConstantKind.Array)
            {
                var values = pair.Value.IsNull ? null : pair.Value.Values.Select(v => v.Value is float f ? f : float.NaN).ToArray();
                if (pair.Key == "Mean") output.Mean = values ?? new float[0];
                else if (pair.Key == "Std") output.Std = values ?? new float[0];
                continue;
            }
            if (pair.Value.Value is not int value) continue;
            switch (pair.Key)
            {
                case "N": N = value; break;
                case "Width": width = value; break;
                case "Height": height = value; break;
                case "Channels": channels = value; break;
                case "OutputWidth": output.Width = value; break;
                case "OutputHeight": output.Height = value; break;
                case "OutputChannels": output.Channels = value; break;
                case "OutputType": output.Type = value; break;
                case "Layout": output.Layout = value; break;
                case "Normalization": output.Normalization = value; break;
                case "Crop": output.Crop = value; break;
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

        OutputModel? outputModel = output.Declared && diagnostics.Count == 0
            ? ParseOutput(output, name, width!.Value, height, channels, Report, ArgumentLocation)
            : null;

        string accessibility = symbol.DeclaredAccessibility == Accessibility.Public ? "public" : "internal";
        var profile = diagnostics.Count == 0
            ? new ProfileModel(ns, name, accessibility, N!.Value, width!.Value, height, channels, outputModel)
            : null;
        string configuration = profile?.ConfigurationText ?? $"N = {N}, Width = {width}"
            + (height is { } hv ? $", Height = {hv}" : "") + (channels is { } cv ? $", Channels = {cv}" : "");
        return new ParsedProfile(profile, fullName, configuration, classLocation, diagnostics.ToEquatableArray());
    }

    /// <summary>The output settings as written (null: not given).</summary>
    private sealed class OutputArguments
    {
        public int? Width, Height, Channels, Type, Layout, Normalization, Crop;
        public float[]? Mean, Std;

        public bool Declared => Width is not null || Height is not null || Channels is not null || Type is not null || Layout is not null
            || Normalization is not null || Crop is not null || Mean is not null || Std is not null;
    }

    /// <summary>
    /// The output stage a profile declares, checked against what the loader can produce
    /// (docs/LOADER.md); null when a diagnostic was reported. Defaults are the loader's.
    /// </summary>
    private static OutputModel? ParseOutput(OutputArguments o, string name, int width, int? height, int? channels,
        System.Action<string, LocationInfo?, string[]> report, System.Func<string, LocationInfo?> at)
    {
        int reported = 0;
        void Report(string id, string argument, params string[] arguments)
        {
            reported++;
            report(id, at(argument), new[] { name }.Concat(arguments).ToArray());
        }

        // enum values outside their definitions ((L3OutputType)7)
        if (o.Type is { } t && t is < 0 or > 3) Report("L3G017", "OutputType", "OutputType", t.ToString());
        if (o.Layout is { } l && l is < 0 or > 1) Report("L3G017", "Layout", "Layout", l.ToString());
        if (o.Normalization is { } nm && nm is < 0 or > 1) Report("L3G017", "Normalization", "Normalization", nm.ToString());
        if (o.Crop is { } cr && cr is < 0 or > 2) Report("L3G017", "Crop", "Crop", cr.ToString());
        if (reported > 0) return null;

        int crop = o.Crop ?? 0;
        bool full = crop == 2;
        int outputWidth, outputHeight;
        if (full)
        {
            // a full image is written at its own size: a constant only when the profile fixes both sides
            if (o.Width is not null || o.Height is not null) Report("L3G016", o.Width is not null ? "OutputWidth" : "OutputHeight",
                "Crop = Full writes each image at its own size; leave OutputWidth and OutputHeight out");
            else if (height is null) Report("L3G016", "Crop", "Crop = Full writes each image at its own size, a constant only when the profile gives Height");
            outputWidth = width;
            outputHeight = height ?? 0;
        }
        else
        {
            if (o.Width is null || o.Height is null)
            {
                Report("L3G011", o.Width is null ? "OutputWidth" : "OutputHeight");
                return null;
            }
            outputWidth = o.Width.Value;
            outputHeight = o.Height.Value;
            if (outputWidth is < 1 or > 1 << 14) Report("L3G012", "OutputWidth", "OutputWidth", outputWidth.ToString());
            if (outputHeight is < 1 or > 1 << 14) Report("L3G012", "OutputHeight", "OutputHeight", outputHeight.ToString());
        }

        int outputChannels = o.Channels ?? 3;
        if (outputChannels is not (1 or 3 or 4))
            Report("L3G013", "OutputChannels", outputChannels.ToString(), "it is not 1, 3 or 4");
        else if (channels is { } c && !(c == 1 && outputChannels is 1 or 3 || c == 3 && outputChannels == 3 || c == 4 && outputChannels is 3 or 4))
            Report("L3G013", "OutputChannels", outputChannels.ToString(),
                $"images of {c} channel(s) give {(c == 1 ? "1 or 3" : c == 3 ? "3" : "3 or 4")}");

        int type = o.Type ?? 2;
        bool uint8 = type == 0;
        string normalization;
        float[] mean, std;
        if (uint8)
        {
            if (o.Normalization is not null || o.Mean is not null || o.Std is not null)
                Report("L3G015", o.Mean is not null ? "Mean" : o.Std is not null ? "Std" : "Normalization",
                    "OutputType = UInt8 writes rounded pixel values; normalization applies to float outputs only");
            normalization = "None";
            mean = std = new float[0];
        }
        else if (o.Mean is not null || o.Std is not null)
        {
            normalization = "Custom";
            mean = o.Mean ?? new float[0];
            std = o.Std ?? new float[0];
            if (o.Normalization is not null)
                Report("L3G015", "Normalization", "give either Normalization or Mean and Std, not both");
            else if (o.Mean is null || o.Std is null)
                Report("L3G014", o.Mean is null ? "Std" : "Mean", $"Mean and Std go together, one value per output channel ({outputChannels})");
            else if (mean.Length != outputChannels || std.Length != outputChannels)
                Report("L3G014", mean.Length != outputChannels ? "Mean" : "Std",
                    $"Mean has {mean.Length} value(s) and Std {std.Length}; give one per output channel ({outputChannels})");
            else if (mean.Any(m => float.IsNaN(m) || float.IsInfinity(m)) || std.Any(s => !(s > 0) || float.IsInfinity(s)))
                Report("L3G014", "Std", "every mean must be finite and every std finite and positive");
        }
        else if (o.Normalization == 1)
        {
            normalization = "None";
            mean = std = new float[0];
        }
        else
        {
            normalization = "ImageNet";
            int count = System.Math.Min(outputChannels is 1 or 3 or 4 ? outputChannels : 4, 4);
            mean = OutputModel.ImageNetMean.Take(count).ToArray();
            std = OutputModel.ImageNetStd.Take(count).ToArray();
        }
        if (reported > 0) return null;
        return new OutputModel(outputWidth, outputHeight, outputChannels, type, o.Layout == 1, normalization,
            mean.ToEquatableArray(), std.ToEquatableArray(), OutputModel.CropNames[crop]);
    }
}
