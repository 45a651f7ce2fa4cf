using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using L3.Kernels;

namespace L3.GpuBench;

/// <summary>
/// `L3.GpuBench --ptx DIR`: the dense decode kernels' PTX for an H100/H200 (sm_90), as ILGPU makes
/// it at launch, without a GPU: the file kernel and the loader's patch-list kernel at N = 16 and 64,
/// RGB. bench/gpu/ptxas.sh assembles them with ptxas for registers, spills and the fast step's
/// length, so register work needs no device time.
/// </summary>
internal static class PtxDump
{
    public static int Run(string directory)
    {
        Directory.CreateDirectory(directory);
        using var context = Context.Create(b => b.CPU().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_80, null);
        foreach (var (name, method) in new[]
        {
            ("dense-n64-c3", nameof(Kernels.DenseN64C3)), ("dense-n16-c3", nameof(Kernels.DenseN16C3)),
            ("dense-list-n64-c3", nameof(Kernels.DenseListN64C3)),
        })
        {
            var entry = EntryPointDescription.FromExplicitlyGroupedKernel(typeof(Kernels).GetMethod(method)!);
            var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization());
            File.WriteAllText(Path.Combine(directory, name + ".ptx"), compiled.PTXAssembly);
            Console.WriteLine($"{name}.ptx");
        }
        return 0;
    }

    /// <summary>The kernels with N and the channel count fixed, as a launch's SpecializedValues fix them.</summary>
    public static class Kernels
    {
        public static void DenseN64C3(ArrayView<byte> data, ArrayView<long> fileStarts, ArrayView<byte> slotTokens, ArrayView<uint> entries,
            ArrayView<ulong> outLongs, ArrayView<byte> output, ArrayView<int> errors, GpuDenseShape shape) =>
            GpuDenseDecodeKernel.DenseDecode(data, fileStarts, slotTokens, entries, outLongs, output, errors, shape,
                new SpecializedValue<int>(64), new SpecializedValue<int>(3));

        public static void DenseN16C3(ArrayView<byte> data, ArrayView<long> fileStarts, ArrayView<byte> slotTokens, ArrayView<uint> entries,
            ArrayView<ulong> outLongs, ArrayView<byte> output, ArrayView<int> errors, GpuDenseShape shape) =>
            GpuDenseDecodeKernel.DenseDecode(data, fileStarts, slotTokens, entries, outLongs, output, errors, shape,
                new SpecializedValue<int>(16), new SpecializedValue<int>(3));

        public static void DenseListN64C3(ArrayView<byte> data, ArrayView<PatchTask> tasks, ArrayView<byte> slotTokens, ArrayView<uint> entries,
            ArrayView<ulong> outLongs, ArrayView<byte> output, ArrayView<int> firstBad, int count) =>
            GpuDenseDecodeKernel.DecodePatchList(data, tasks, slotTokens, entries, outLongs, output, firstBad, count,
                new SpecializedValue<int>(64), new SpecializedValue<int>(3));
    }
}
