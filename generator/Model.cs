using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace L3.Generator;

// The values that flow through the incremental pipeline. Every one is value-equatable, and none
// holds a symbol, a syntax node or a compilation, so an edit that does not change a profile
// leaves the steps after the transform cached.

/// <summary>One [L3Profile] class, as the emitter needs it.</summary>
/// <param name="Namespace">the class's namespace, or null for the global namespace</param>
/// <param name="ClassName">the class's simple name</param>
/// <param name="Accessibility">"public" or "internal"</param>
/// <param name="Height">null when the profile accepts any height</param>
/// <param name="Channels">null when the profile accepts 1, 3 or 4 channels</param>
/// <param name="Output">the loader output the profile declares, or null</param>
internal sealed record ProfileModel(
    string? Namespace, string ClassName, string Accessibility,
    int N, int Width, int? Height, int? Channels, OutputModel? Output = null)
{
    public string FullName => Namespace is null ? ClassName : Namespace + "." + ClassName;

    /// <summary>N, Width, Height, Channels and the output: two profiles with the same key are ambiguous.</summary>
    public string ConfigurationText =>
        $"N = {N}, Width = {Width}" + (Height is { } h ? $", Height = {h}" : "") + (Channels is { } c ? $", Channels = {c}" : "")
        + (Output is { } o ? ", " + o.Text : "");

    // The derived facts, computed here so that the emitter only prints them (the same arithmetic
    // as L3.Kernels.PatchShape, which the decoders fold from the emitted shape).
    public int PatchesX => (Width + N - 1) / N;
    public int GroupsPerRow => N / 8;
    public int EdgePatchWidth => Width - (PatchesX - 1) * N;
    public int EdgeGroupsPerRow => (EdgePatchWidth + 7) / 8;
    public bool HasEdgeColumn => EdgePatchWidth != N;
    public int? PatchesY => Height is { } h ? (h + N - 1) / N : null;
    public int? BottomPatchHeight => Height is { } h ? h - (PatchesY!.Value - 1) * N : null;

    // The GPU launch (L3.Kernels.GpuDecodeKernel): N / 8 lanes a patch, a warp of 32 lanes, groups
    // of 128 threads on a CUDA device.
    public int LanesPerPatch => N / 8;
    public int PatchesPerWarp => 32 / LanesPerPatch;
    public int PatchesPerGroup => 4 * PatchesPerWarp;
}

/// <summary>
/// The loader output a profile declares, as the loader's output stage takes it (docs/LOADER.md):
/// the size (the image's own for a full crop), channels, element type (L3.Kernels.AugmentMath's
/// codes), layout, and per channel the mean and std on the [0, 1] scale (empty for UInt8).
/// </summary>
internal sealed record OutputModel(
    int Width, int Height, int Channels, int Type, bool ChannelsLast, string Normalization,
    EquatableArray<float> Mean, EquatableArray<float> Std, string Crop)
{
    public static readonly string[] TypeNames = { "UInt8", "Float32", "Float16", "BFloat16" };
    public static readonly string[] CropNames = { "RandomResized", "Center", "Full" };
    public static readonly float[] ImageNetMean = { 0.485f, 0.456f, 0.406f, 0.5f };
    public static readonly float[] ImageNetStd = { 0.229f, 0.224f, 0.225f, 0.5f };

    public string TypeName => TypeNames[Type];
    public string LayoutName => ChannelsLast ? "ChannelsLast" : "ChannelsFirst";
    public bool IsFloat => Type != 0;
    /// <summary>Whether values are normalized by a mean and std (else a float output is value / 255).</summary>
    public bool Normalizes => IsFloat && Normalization != "None";

    /// <summary>What the configuration text shows of the output.</summary>
    public string Text =>
        $"Output {Width}x{Height}x{Channels} {TypeName} {LayoutName}" + (IsFloat ? $" {Normalization}" : "") + $" {Crop}";
}

/// <summary>What the transform of one attributed class yields: the profile (null when an error
/// prevents generating it), where it is declared (for the cross-profile checks), and its own
/// diagnostics.</summary>
internal sealed record ParsedProfile(
    ProfileModel? Profile, string FullName, string ConfigurationText, LocationInfo? Location,
    EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>A diagnostic with its location as plain values (a <see cref="Location"/> holds a
/// syntax tree, which would defeat caching).</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(DiagnosticDescriptors.ById(Id), Location?.ToLocation(), Arguments.ToArray<object>());
}

/// <summary>A source location without its syntax tree.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

/// <summary>An immutable array compared by its elements, so that records holding one stay
/// value-equatable.</summary>
internal readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IEnumerable<T>
    where T : IEquatable<T>
{
    private readonly ImmutableArray<T> _items;

    public EquatableArray(ImmutableArray<T> items) => _items = items;

    public static EquatableArray<T> Empty => new(ImmutableArray<T>.Empty);

    public int Length => _items.IsDefault ? 0 : _items.Length;

    public T this[int index] => _items[index];

    public bool Equals(EquatableArray<T> other)
    {
        if (Length != other.Length) return false;
        for (int i = 0; i < Length; i++)
            if (!EqualityComparer<T>.Default.Equals(_items[i], other._items[i])) return false;
        return true;
    }

    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        int hash = 17;
        for (int i = 0; i < Length; i++)
            hash = unchecked(hash * 31 + (_items[i]?.GetHashCode() ?? 0));
        return hash;
    }

    public TResult[] ToArray<TResult>() where TResult : class =>
        _items.IsDefault ? Array.Empty<TResult>() : _items.Select(i => (TResult)(object)i!).ToArray();

    public IEnumerator<T> GetEnumerator() =>
        ((IEnumerable<T>)(_items.IsDefault ? ImmutableArray<T>.Empty : _items)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);
    public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);
}

internal static class EquatableArray
{
    public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items) where T : IEquatable<T> =>
        new(items.ToImmutableArray());
}
