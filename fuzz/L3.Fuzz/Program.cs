using L3.Fuzz;
using SharpFuzz;

// L3.Fuzz TARGET          run under afl-fuzz (persistent mode), or once on standard input without it
// L3.Fuzz TARGET FILE...  run each file once (reproduce a finding, replay a corpus)
// L3.Fuzz --list          the targets, one a line: NAME<TAB>INPUT<TAB>DESCRIPTION
// L3.Fuzz --seeds DIR     writes the seed corpus (committed in fuzz/corpus)
if (args.Length == 2 && args[0] == "--seeds")
{
    Seeds.Write(args[1]);
    return 0;
}
if (args.Length == 1 && args[0] == "--list")
{
    foreach (var t in Targets.All) Console.WriteLine($"{t.Name}\t{t.Input}\t{t.Description}");
    return 0;
}
var target = args.Length >= 1 ? Targets.Find(args[0]) : null;
if (target is null)
{
    Console.Error.WriteLine($"usage: L3.Fuzz TARGET [FILE...] | --list; targets: {string.Join(", ", Targets.All.Select(t => t.Name))}");
    return 2;
}
if (args.Length > 1)
{
    foreach (string path in args.Skip(1)) target.Run(File.ReadAllBytes(path));
    Console.WriteLine($"{target.Name}: {args.Length - 1} input(s), no finding");
    return 0;
}
Fuzzer.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target.Run(copy.ToArray());
});
return 0;
