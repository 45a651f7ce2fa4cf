using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("L3.Gpu.Tests")]
[assembly: InternalsVisibleTo("L3.GpuBench")]
