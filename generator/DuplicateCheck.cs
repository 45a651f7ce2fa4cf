using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

namespace L3.Generator;

/// <summary>The stage across profiles (<see cref="L3ProfileGenerator.DuplicatesStep"/>): every parsed
/// profile together, for the clashes no single class can see.</summary>
internal static class DuplicateCheck
{
    /// <summary>
    /// The checks across profiles: two classes with the same name, or with the same configuration.
    /// The later one (in source order) is reported, naming the first.
    /// </summary>
    public static ImmutableArray<DiagnosticInfo> Check(ImmutableArray<ParsedProfile> all)
    {
        var result = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        var byName = new Dictionary<string, ParsedProfile>();
        var byConfiguration = new Dictionary<string, ParsedProfile>();
        foreach (var p in all.Where(p => p.Profile is not null)
                     .OrderBy(p => p.Location?.FilePath).ThenBy(p => p.Location?.Span.Start))
        {
            string simpleName = p.Profile!.ClassName;
            if (byName.TryGetValue(simpleName, out var first))
                result.Add(new DiagnosticInfo("L3G009", p.Location, new[] { p.FullName, first.FullName }.ToEquatableArray()));
            else
                byName[simpleName] = p;

            if (byConfiguration.TryGetValue(p.ConfigurationText, out var same))
                result.Add(new DiagnosticInfo("L3G010", p.Location,
                    new[] { p.FullName, p.ConfigurationText, same.FullName }.ToEquatableArray()));
            else
                byConfiguration[p.ConfigurationText] = p;
        }
        return result.ToImmutable();
    }
}
