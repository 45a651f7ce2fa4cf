namespace L3.Samples;

/// <summary>2048-pixel-wide images in 16 × 16 patches (any height, any channel count).</summary>
[L3Profile(N = 16, Width = 2048)]
public static partial class L3Profile_N16 { }

/// <summary>1080 × 1920 RGB frames in 64 × 64 patches: height and channels fixed too.</summary>
[L3Profile(N = 64, Width = 1080, Height = 1920, Channels = 3)]
public static partial class L3Profile_Portrait { }

/// <summary>
/// Training input: 2048-wide RGB images in 16 × 16 patches, loaded as RandomResizedCrop 224 × 224,
/// fp16, channels first, ImageNet-normalized. The generator emits the loader's fused kernels for this
/// output (the patch-list decode with N and 3 channels fixed, the output stage with size, type, layout
/// and normalization as constants) and registers them: <c>L3Loader</c> runs them for batches of such
/// files loaded with <see cref="L3Profile_Train224.AugmentOptions"/>.
/// </summary>
[L3Profile(N = 16, Width = 2048, Channels = 3, OutputWidth = 224, OutputHeight = 224, OutputType = L3OutputType.Float16,
    Layout = L3TensorLayout.ChannelsFirst, Normalization = L3Normalization.ImageNet)]
public static partial class L3Profile_Train224 { }
