using L3.Gpu;
using L3.Hostile;

// L3.Hostile [--cpu] [--mutants N]: runs the hostile-file set, then the dense (mode 1) one, through
// the GPU codec (CUDA when present, else ILGPU's CPU accelerator, or that with --cpu) and compares it
// with the CPU codec.
// bench/gpu/sanitize.sh runs it under compute-sanitizer --tool memcheck. Exit 1 on any disagreement.
bool forceCpu = args.Contains("--cpu");
int mutants = args.SkipWhile(a => a != "--mutants").Skip(1).Select(int.Parse).FirstOrDefault(300);
var cases = HostileSet.All(mutants);
using var codec = new L3GpuCodec(forceCpu);
Console.WriteLine($"hostile set: {cases.Count} files on {codec.DeviceName} ({(codec.IsCuda ? "CUDA" : "CPU accelerator")})");
var (disagreements, launched) = GpuAgreement.Check(codec, cases);
foreach (var d in disagreements) Console.WriteLine("DISAGREE " + d);
Console.WriteLine($"{cases.Count - launched} refused on the host by both codecs, {launched} decoded by the kernel " +
                  $"(alone and in one batch), {disagreements.Count} disagreement(s)");
var dense = DenseHostileSet.All(mutants);
var (denseDisagreements, denseDecoded) = DenseGpuAgreement.Check(codec, dense);
foreach (var d in denseDisagreements) Console.WriteLine("DISAGREE " + d);
Console.WriteLine($"dense set: {dense.Count} files, {denseDecoded} decoded by both codecs without the checksum (alone and in one batch), " +
                  $"the rest refused by both; {denseDisagreements.Count} disagreement(s)");
Console.WriteLine($"all: {disagreements.Count + denseDisagreements.Count} disagreement(s)");
return disagreements.Count + denseDisagreements.Count == 0 ? 0 : 1;
