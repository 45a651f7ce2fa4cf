namespace L3.Generator.Tests.Profiles;

// Profiles compiled into this test assembly by the generator itself. Widths that are not multiples
// of N give every profile a narrower last column of patches.

[L3Profile(N = 8, Width = 37)]
public static partial class L3Profile_N8_W37 { }

[L3Profile(N = 16, Width = 100)]
public static partial class L3Profile_N16_W100 { }

[L3Profile(N = 32, Width = 70)]
public static partial class L3Profile_N32_W70 { }

[L3Profile(N = 64, Width = 130)]
public static partial class L3Profile_N64_W130 { }

[L3Profile(N = 16, Width = 48)]
public static partial class L3Profile_N16_W48 { }

/// <summary>Height and channels fixed as well.</summary>
[L3Profile(N = 8, Width = 21, Height = 19, Channels = 3)]
internal static partial class L3Profile_N8_W21_H19_C3 { }
