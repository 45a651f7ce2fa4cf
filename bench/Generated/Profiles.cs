namespace L3.Bench.Generated;

// One profile per width of the images in tests/data, at the default patch size (64), and one at
// N = 16 to see how the patch size changes the picture.

[L3Profile(N = 64, Width = 1282)] public static partial class Gray1282 { }
[L3Profile(N = 64, Width = 384)] public static partial class Gray384 { }
[L3Profile(N = 64, Width = 512)] public static partial class Square512 { }
[L3Profile(N = 64, Width = 600)] public static partial class Photo600 { }
[L3Profile(N = 64, Width = 1080)] public static partial class Portrait1080 { }
[L3Profile(N = 16, Width = 512)] public static partial class Square512N16 { }
