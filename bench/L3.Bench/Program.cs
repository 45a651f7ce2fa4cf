using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/L3.Bench -- --filter '*' [BenchmarkDotNet options]
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
