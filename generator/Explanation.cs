using System.Collections.Generic;

namespace L3.Generator;

/// <summary>
/// The comments the emitter writes above each block: what this profile fixes and what the
/// library's decoders make of it, worked out for this profile's numbers (as the .NET Regex
/// generator explains the pattern it compiled). Every line is derived from the model.
/// </summary>
internal static class Explanation
{
    /// <summary>The profile's facts, one line each.</summary>
    public static IEnumerable<string> Fixes(ProfileModel p)
    {
        yield return $"○ Patches of {p.N} × {p.N} pixels: {Count(p.GroupsPerRow, "width group")} of 8 residuals a row.";
        if (p.HasEdgeColumn)
            yield return $"○ Images {p.Width} pixels wide: {Count(p.PatchesX, "column")} of patches, {p.PatchesX - 1} whole, then an edge column "
                + $"{p.EdgePatchWidth} wide ({Count(p.EdgeGroupsPerRow, "group")} a row{(p.EdgePatchWidth % 8 != 0 ? ", the last one partial" : "")}).";
        else
            yield return $"○ Images {p.Width} pixels wide: {Count(p.PatchesX, "column")} of whole patches, no edge column.";
        if (p.Height is { } h)
            yield return p.BottomPatchHeight == p.N
                ? $"○ Images {h} rows high: {Count(p.PatchesY!.Value, "row")} of whole patches, {p.PatchesX * p.PatchesY.Value} patches in all."
                : $"○ Images {h} rows high: {Count(p.PatchesY!.Value, "row")} of patches, the last {p.BottomPatchHeight} high; {p.PatchesX * p.PatchesY.Value} patches in all.";
        else
            yield return $"○ Any height: the last row of patches is as high as the image leaves (1 to {p.N}).";
        yield return p.Channels is { } c
            ? $"○ {Count(c, "channel")}{(c == 1 ? " (gray)" : c == 3 ? " (RGB)" : " (RGBA)")}."
            : "○ Any channel count (1, 3 or 4): the file's.";
    }

    /// <summary>What the CPU decoder does with the facts.</summary>
    public static IEnumerable<string> Cpu(ProfileModel p)
    {
        yield return "The library's whole-file decoder instantiated with Shape (L3.Cpu.CpuDecoder.DecodeAll<Shape>), on the";
        yield return "widest SIMD path of the machine (L3Codec.DescribeDecoder names it), after the runtime's checks:";
        yield return "header and table, this shape, the payload checksum, every patch's structure.";
        string whole = $"{p.N} × {p.N}";
        yield return p.HasEdgeColumn
            ? $"○ A row of patches: {p.PatchesX - 1} whole {whole} patches, then the {p.EdgePatchWidth}-wide edge patch."
            : $"○ A row of patches: {p.PatchesX} whole {whole} patches, no edge patch.";
        yield return $"○ A whole patch takes the copy of the patch decoder in which its width and height ({p.N}), its {Count(p.GroupsPerRow, "group")}";
        yield return "  a row and its mask sizes are constants; edge patches take the general copy.";
        if (p.Height is { } && p.BottomPatchHeight != p.N)
            yield return $"○ The last row of patches is {p.BottomPatchHeight} high: the general copy.";
        else if (p.Height is null)
            yield return "○ The last row of patches, when shorter than N: the general copy.";
        yield return p.Channels is { } c
            ? $"○ {Count(c, "channel")}: the plane loop and the interleave fold to this count."
            : "○ The channel count is the file's.";
    }

    /// <summary>What the GPU kernel does with the facts: the launch layout.</summary>
    public static IEnumerable<string> Gpu(ProfileModel p)
    {
        yield return "The library's decode kernel instantiated with Shape (L3.Kernels.GpuDecodeKernel.Decode<Shape>), compiled by";
        yield return "ILGPU once per accelerator, with N and the width (and what Shape fixes besides) as constants:";
        yield return $"○ A warp decodes {Count(p.PatchesPerWarp, "patch", "patches")} side by side, {Count(p.LanesPerPatch, "lane")} a patch, each lane 8 columns of every row.";
        yield return $"○ Groups of 128 threads (4 warps) on a CUDA device: {Count(p.PatchesPerGroup, "patch", "patches")} a group.";
        if (p.Height is { } && p.PatchesY is { } rows)
        {
            int patches = p.PatchesX * rows;
            yield return $"○ An image: {patches} patches, {(patches + p.PatchesPerGroup - 1) / p.PatchesPerGroup} groups of threads.";
        }
        else
            yield return $"○ An image of H rows: {p.PatchesX} × ⌈H / {p.N}⌉ patches, ⌈that / {p.PatchesPerGroup}⌉ groups of threads.";
        yield return "The host validates the file exactly as Decode does before any kernel runs; the kernel trusts every offset.";
    }

    /// <summary>What the fused kernels make of the declared output.</summary>
    public static IEnumerable<string> Fused(ProfileModel p, OutputModel o)
    {
        yield return "The loader's kernels instantiated with this profile: the patch-list decodes (GpuDecodeKernel.DecodePatchList<Shape>";
        yield return "for row coding, GpuDenseDecodeKernel.DecodePatchList<Shape> for dense files) decode the patches each sample's crop";
        yield return "touches into a staging region; the output stage (AugmentKernel.Augment<Output>) resizes, flips, normalizes and";
        yield return "converts into the batch tensor.";
        yield return $"○ Decode: N = {p.N} ({Count(p.LanesPerPatch, "lane")} a patch, {Count(p.PatchesPerWarp, "patch", "patches")} a warp)"
            + (p.Channels is { } c ? $", {Count(c, "channel")}: the plane loop folds." : "; the channels are the launch's (a specialized value).");
        int denseLanes = p.N / 8;
        yield return $"○ Dense decode: N = {p.N} ({Count(denseLanes, "coder lane")} a patch, {Count(32 / denseLanes, "patch", "patches")} a warp), "
            + "the rows' contexts and the tables as the file kernel reads them.";
        yield return o.Crop == "Full"
            ? $"○ Output: whole images, {o.Width} × {o.Height} (Crop = Full), {Count(o.Channels, "channel")}, {o.TypeName}, {o.LayoutName}."
            : $"○ Output: {o.Width} × {o.Height}, {Count(o.Channels, "channel")}, {o.TypeName}, {o.LayoutName}; crop {o.Crop} (drawn on the host).";
        int pixels = o.Width * o.Height;
        yield return $"○ One thread per output pixel: sample = index / {pixels}, row and column by division by {o.Width}, constants.";
        yield return o.ChannelsLast
            ? $"○ Element (s, y, x, c) at (s · {pixels} + y · {o.Width} + x) · {o.Channels} + c."
            : $"○ Element (s, c, y, x) at (s · {o.Channels} + c) · {pixels} + y · {o.Width} + x.";
        yield return o.Type == 0
            ? "○ UInt8: the interpolated value rounded (halves up); no normalization."
            : o.Normalizes
                ? $"○ {o.TypeName}: (value − 255·mean[c]) × 1 / (255·std[c]), {o.Normalization} mean ({Values(o.Mean)}) and std ({Values(o.Std)})."
                : $"○ {o.TypeName}: value / 255 (no normalization: mean 0, scale 1/255).";
        yield return "The host checks every task and crop against its buffers before a launch, as for the generic kernels.";
    }

    private static string Values(EquatableArray<float> values)
    {
        var texts = new List<string>();
        foreach (var v in values) texts.Add(v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        return string.Join(", ", texts);
    }

    private static string Count(int n, string singular, string? plural = null) =>
        n == 1 ? $"1 {singular}" : $"{n} {plural ?? singular + "s"}";
}
