using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(L3.Bench.Generated.DecodeBenchmarks).Assembly).Run(args);
