using System.Diagnostics;
using BenchmarkDotNet.Running;
using L3.Bench.Generated;

// `-- --alternate [rounds]`: the two decoders of each case called in turn, round after round, in
// one process, and the median of the per-round time ratios printed: on a machine whose load swings
// (a shared 2-core box), a swing then falls on both alike. Otherwise BenchmarkDotNet.
if (args.Length > 0 && args[0] == "--alternate")
{
    int rounds = args.Length > 1 ? int.Parse(args[1]) : 200;
    Console.WriteLine($"alternating Generic and Generated, {rounds} rounds a case; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Console.WriteLine("| case | Generic median | Generated median | median of Generated/Generic per round |");
    Console.WriteLine("| --- | ---: | ---: | ---: |");
    foreach (var c in DecodeBenchmarks.Cases)
    {
        var bench = new DecodeBenchmarks { Case = c };
        bench.Setup();
        int calls = Math.Max(1, 2_000_000 / bench.FileBytes);  // a round of each takes ~1 ms or more
        var generic = new double[rounds];
        var generated = new double[rounds];
        var ratios = new double[rounds];
        for (int r = -rounds / 10; r < rounds; r++)   // the first tenth warms up
        {
            bool genericFirst = (r & 1) == 0;
            double a = Time(genericFirst ? bench.Generic : bench.Generated);
            double b = Time(genericFirst ? bench.Generated : bench.Generic);
            if (r < 0) continue;
            (generic[r], generated[r]) = genericFirst ? (a, b) : (b, a);
            ratios[r] = generated[r] / generic[r];
        }
        Console.WriteLine($"| {c} | {Median(generic) * 1e6:F1} µs | {Median(generated) * 1e6:F1} µs | {Median(ratios):F3} |");

        double Time(Func<L3.L3Header> decode)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++) decode();
            return Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
        }
    }
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(DecodeBenchmarks).Assembly).Run(args);

static double Median(double[] values)
{
    var sorted = values.Order().ToArray();
    return sorted[sorted.Length / 2];
}
