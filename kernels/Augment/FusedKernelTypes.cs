using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>The signature of a patch-list decode kernel (<see cref="GpuDecodeKernel.DecodePatchList{TShape}"/>):
/// what a generated profile hands the loader as its fused decode.</summary>
public delegate void PatchListDecodeKernel(
    ArrayView<ulong> data, ArrayView<uint> dataWords, ArrayView<PatchTask> tasks, ArrayView<ulong> outLongs, ArrayView<byte> outBytes,
    int taskCount, int zeroWord, SpecializedValue<int> patchSizeValue, SpecializedValue<int> channelsValue);

/// <summary>The signature of an output-stage kernel (<see cref="AugmentKernel.Augment{TOutput}"/>):
/// what a generated profile hands the loader as its fused output stage.</summary>
public delegate void AugmentStageKernel(
    Index1D index, ArrayView<byte> source, ArrayView<AugmentSample> samples, ArrayView<byte> outBytes, ArrayView<ushort> outHalves,
    ArrayView<float> outFloats, AugmentOutput output, SpecializedValue<int> typeValue);
