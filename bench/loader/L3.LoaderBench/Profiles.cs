namespace L3.LoaderBench;

// The bench's dataset (2048 × 1024 RGB, N = L3_PATCH: 16 by default) with the first row's output:
// RandomResizedCrop 224, fp16, channels first, ImageNet normalization. The generator emits each
// profile's fused kernels (GpuDecodeKernel.DecodePatchList<Shape>, AugmentKernel.Augment<Output>)
// and registers them; the loader runs them for batches of this shape and output.

[L3Profile(N = 16, Width = 2048, Height = 1024, Channels = 3, OutputWidth = 224, OutputHeight = 224, OutputType = L3OutputType.Float16)]
public static partial class Train224_N16 { }

[L3Profile(N = 64, Width = 2048, Height = 1024, Channels = 3, OutputWidth = 224, OutputHeight = 224, OutputType = L3OutputType.Float16)]
public static partial class Train224_N64 { }
