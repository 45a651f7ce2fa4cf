using System;
using Microsoft.CodeAnalysis;

namespace L3.Generator;

/// <summary>Every diagnostic the generator reports. All are errors: a profile the generator
/// cannot honour must fail the build rather than silently fall back to the generic path.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "L3.Generator";

    public static readonly DiagnosticDescriptor InvalidPatchSize = new(
        "L3G001", "Invalid patch size",
        "[L3Profile] on '{0}': N = {1} is not a patch size of the L3 format; use 8, 16, 32 or 64",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidWidth = new(
        "L3G002", "Invalid width",
        "[L3Profile] on '{0}': Width = {1} is outside 1..1048576 (the format's limit of 2^20 pixels a side)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidHeight = new(
        "L3G003", "Invalid height",
        "[L3Profile] on '{0}': Height = {1} is outside 1..1048576 (the format's limit of 2^20 pixels a side); leave Height out to accept any height",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidChannels = new(
        "L3G004", "Invalid channel count",
        "[L3Profile] on '{0}': Channels = {1} is not 1, 3 or 4; leave Channels out to accept any",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TooManyPixels = new(
        "L3G005", "Image too large",
        "[L3Profile] on '{0}': Width × Height = {1} pixels exceeds the format's limit of 268435456 (2^28)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotPartial = new(
        "L3G006", "Profile class must be partial",
        "[L3Profile] class '{0}' must be declared partial so that the generator can add its codec to it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotStatic = new(
        "L3G007", "Profile class must be static",
        "[L3Profile] class '{0}' must be declared static: a profile holds only constants and static codec methods",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NestedOrGeneric = new(
        "L3G008", "Profile class must be a top-level, non-generic class",
        "[L3Profile] class '{0}' must be a top-level, non-generic class",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateName = new(
        "L3G009", "Duplicate profile name",
        "[L3Profile] class '{0}' has the same name as the profile '{1}'; profiles are registered and reported by name, so give each its own",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateConfiguration = new(
        "L3G010", "Duplicate profile configuration",
        "[L3Profile] class '{0}' has the same configuration ({1}) as the profile '{2}'; keep one of them",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OutputSizeMissing = new(
        "L3G011", "Output size missing",
        "[L3Profile] on '{0}': an output needs OutputWidth and OutputHeight (or Crop = Full)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidOutputSize = new(
        "L3G012", "Invalid output size",
        "[L3Profile] on '{0}': {1} = {2} is outside 1..16384",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidOutputChannels = new(
        "L3G013", "Invalid output channels",
        "[L3Profile] on '{0}': OutputChannels = {1} cannot be produced: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidMeanStd = new(
        "L3G014", "Invalid mean or std",
        "[L3Profile] on '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NormalizationConflict = new(
        "L3G015", "Conflicting normalization",
        "[L3Profile] on '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor FullCropSize = new(
        "L3G016", "Full crop without a fixed size",
        "[L3Profile] on '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UndefinedEnumValue = new(
        "L3G017", "Undefined output setting",
        "[L3Profile] on '{0}': {1} = {2} is not a defined value",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "L3G001" => InvalidPatchSize,
        "L3G002" => InvalidWidth,
        "L3G003" => InvalidHeight,
        "L3G004" => InvalidChannels,
        "L3G005" => TooManyPixels,
        "L3G006" => NotPartial,
        "L3G007" => NotStatic,
        "L3G008" => NestedOrGeneric,
        "L3G009" => DuplicateName,
        "L3G010" => DuplicateConfiguration,
        "L3G011" => OutputSizeMissing,
        "L3G012" => InvalidOutputSize,
        "L3G013" => InvalidOutputChannels,
        "L3G014" => InvalidMeanStd,
        "L3G015" => NormalizationConflict,
        "L3G016" => FullCropSize,
        "L3G017" => UndefinedEnumValue,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "unknown diagnostic id"),
    };
}
