namespace L3.Fuzz;

/// <summary>One fuzz target: what it does with one input. It must end normally or throw the
/// exception its library promises for bad input; any other exception or a disagreement between
/// code paths is a finding (the harness lets it escape, and afl-fuzz records a crash).</summary>
/// <param name="Input">the kind of input, which picks the seed folder fuzz/corpus/INPUT and, for
/// "l3", the checksum-resealing mutator (fuzz/mutator/l3_mutator.c)</param>
public sealed record FuzzTarget(string Name, string Input, string Description, Action<byte[]> Run);

/// <summary>
/// THE TARGET LIST. `fuzz/run.sh NAME` runs one of these; .ci/run runs each for a short time.
/// To add a target (the dataset reader, the loader): add one line here, put a few small seeds in
/// fuzz/corpus/INPUT/ (or reuse an input kind), and reference the project from L3.Fuzz.csproj.
/// </summary>
public static class Targets
{
    public static readonly IReadOnlyList<FuzzTarget> All =
    [
        new("l3-decode", "l3", "header, table, patch validation and every CPU decode path (scalar, Vector128/256/512, patch-parallel), compared with each other and with Verify; a decoded image re-encodes losslessly",
            L3Targets.DecodeEverywhere),
        new("l3-region", "l3", "the region decoder, compared with the whole-image decode cropped",
            L3Targets.DecodeRegions),
        new("l3-dense", "l3", "coding mode 1 (dense): tables, patch structure and rANS streams; Decode, Verify, patch-parallel decode and the whole-image region decode must agree; whatever decodes (mode 0 or 1) re-encodes densely without loss",
            L3Targets.DecodeDense),
        new("l3-encode", "raw", "the encoder on every CPU path from arbitrary pixels and shapes: equal bytes, lossless round trip",
            L3Targets.EncodeEverywhere),
        new("dataset-read", "dataset", "a dataset folder (manifest, shard index, tar; shard 0 resealed) read through L3Dataset and the loader's SampleSource: every sample, its label and metadata; the verifier on small ones",
            LoaderTargets.ReadDataset),
        new("loader-sample", "l3", "the loader's sample path: header and table from the first bytes (agreeing with the whole-file check), the crop, the touched patches' checks, and the CPU reference on the decoded region against the whole image",
            LoaderTargets.SamplePath),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
