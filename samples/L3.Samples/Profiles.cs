namespace L3.Samples;

/// <summary>2048-pixel-wide images in 16 × 16 patches (any height, any channel count).</summary>
[L3Profile(N = 16, Width = 2048)]
public static partial class L3Profile_N16 { }

/// <summary>1080 × 1920 RGB frames in 64 × 64 patches: height and channels fixed too.</summary>
[L3Profile(N = 64, Width = 1080, Height = 1920, Channels = 3)]
public static partial class L3Profile_Portrait { }
