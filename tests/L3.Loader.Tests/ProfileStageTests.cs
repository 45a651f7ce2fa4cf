using L3.Loading;

namespace L3.Loader.Tests;

// Profiles that declare the loader's output: the generator emits their fused kernels
// (DecodePatchList<Shape>, Augment<Output>) and registers them with LoaderProfiles.

[L3Profile(N = 16, Width = 64, OutputWidth = 21, OutputHeight = 15)]
public static partial class ProfileRandomF16 { }

[L3Profile(N = 8, Width = 45, Height = 29, Channels = 3, Crop = L3CropMode.Full, OutputType = L3OutputType.UInt8, Layout = L3TensorLayout.ChannelsLast)]
public static partial class ProfileFullU8 { }

[L3Profile(N = 16, Width = 40, Channels = 4, OutputWidth = 19, OutputHeight = 11, OutputChannels = 4, OutputType = L3OutputType.BFloat16,
    Layout = L3TensorLayout.ChannelsLast, Mean = new[] { 0.3f, 0.4f, 0.5f, 0.6f }, Std = new[] { 0.2f, 0.25f, 0.3f, 0.35f })]
public static partial class ProfileRgbaBf16 { }

[L3Profile(N = 8, Width = 40, Channels = 1, OutputWidth = 13, OutputHeight = 17, OutputType = L3OutputType.Float32,
    Normalization = L3Normalization.None, Crop = L3CropMode.Center)]
public static partial class ProfileGrayF32 { }

/// <summary>
/// A profile's fused kernels give the generic fused kernels' output and the CPU reference's, byte for
/// byte (ILGPU's CPU accelerator emulating CUDA), and the loader runs them exactly when the batch's
/// patches and the options are the profile's.
/// </summary>
public class ProfileStageTests(CpuAccelerator cpu) : IClassFixture<CpuAccelerator>
{
    /// <summary>Every profile on row-coded files, and two on dense files (the profile's FusedDenseDecode).</summary>
    public static TheoryData<string, L3CodingMode> Profiles => new()
    {
        { nameof(ProfileRandomF16), L3CodingMode.Rows }, { nameof(ProfileFullU8), L3CodingMode.Rows }, { nameof(ProfileRgbaBf16), L3CodingMode.Rows },
        { nameof(ProfileGrayF32), L3CodingMode.Rows }, { nameof(ProfileFullU8), L3CodingMode.Dense }, { nameof(ProfileGrayF32), L3CodingMode.Dense },
    };

    private static (AugmentOptions Options, int PatchSize, int Channels, int Width, int Height) Case(string profile) => profile switch
    {
        nameof(ProfileRandomF16) => (ProfileRandomF16.AugmentOptions, ProfileRandomF16.N, 3, 50, 37),
        nameof(ProfileFullU8) => (ProfileFullU8.AugmentOptions, ProfileFullU8.N, 3, ProfileFullU8.Width, ProfileFullU8.Height),
        nameof(ProfileRgbaBf16) => (ProfileRgbaBf16.AugmentOptions, ProfileRgbaBf16.N, 4, 40, 26),
        _ => (ProfileGrayF32.AugmentOptions, ProfileGrayF32.N, 1, 40, 31),
    };

    private static LoaderProfileRegistration Registration(string profile) => LoaderProfiles.All.Single(p => p.Name == "L3.Loader.Tests." + profile);

    /// <summary>Two batches' tensors, each entry checked against the reference; and the batches the profile's kernels ran.</summary>
    private byte[][] Batches(TestFiles files, AugmentOptions options, bool profiles, out long profileBatches, string profile)
    {
        LoaderProfiles.Enabled = profiles;
        // counted before the loader starts: its device thread submits batches ahead of Next()
        long before = Registration(profile).Batches;
        try
        {
            using var source = files.Source();
            using var loader = new L3Loader(source, new LoaderOptions
            {
                Sampling = new SamplerOptions { BatchSize = 3, Seed = 5 }, Augment = options, Readers = 2, PrefetchDepth = 1,
                ReaderTimeout = TimeSpan.FromMinutes(20), // the CPU accelerator runs the dense kernel slowly on a busy machine
            }, accelerator: cpu.Accelerator);
            var result = new byte[2][];
            for (int b = 0; b < 2; b++)
            {
                using var batch = loader.Next();
                result[b] = batch.CopyToHost();
                for (int k = 0; k < batch.Count; k++)
                {
                    var expected = AugmentReference.Apply(files.Images[(int)batch.Samples[k]], batch.Crops[k], options);
                    Assert.True(expected.AsSpan().SequenceEqual(batch.Entry(result[b], k)),
                        $"{(profiles ? "profile" : "generic")} kernels: batch {b} entry {k} differs from the CPU reference");
                }
            }
            profileBatches = Registration(profile).Batches - before;
            return result;
        }
        finally
        {
            LoaderProfiles.Enabled = true;
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Profile_kernels_equal_the_generic_kernels_and_the_reference(string profile, L3CodingMode mode)
    {
        var (options, patchSize, channels, width, height) = Case(profile);
        using var files = new TestFiles();
        for (int i = 0; i < 5; i++)
            files.Add(TestFiles.Image(width - (options.Crop == CropMode.Full ? 0 : i * 3), height - (options.Crop == CropMode.Full ? 0 : i), channels, i + 70),
                patchSize, mode: mode);

        var withProfile = Batches(files, options, profiles: true, out long profileRuns, profile);
        Assert.True(profileRuns >= 2, $"the profile's kernels ran {profileRuns} batches"); // the loader may start batches ahead
        var generic = Batches(files, options, profiles: false, out long genericRuns, profile);
        Assert.Equal(0, genericRuns);
        for (int b = 0; b < 2; b++) Assert.True(withProfile[b].AsSpan().SequenceEqual(generic[b]), $"batch {b}: profile and generic kernels differ");
    }

    [Fact]
    public void Only_matching_batches_take_a_profile()
    {
        var options = ProfileRandomF16.AugmentOptions;
        var profile = Registration(nameof(ProfileRandomF16));
        (int, int)[] n16 = [(16, 3), (16, 1)];
        Assert.Same(profile, LoaderProfiles.Find(n16, options, 21, 15));
        Assert.Same(profile, LoaderProfiles.Find(n16, options with { Crop = CropMode.Center, RandomFlip = false }, 21, 15));
        Assert.Null(LoaderProfiles.Find([(16, 3), (8, 3)], options, 21, 15));                      // a patch size of another shape
        Assert.Null(LoaderProfiles.Find(n16, options with { Width = 22 }, 22, 15));                  // another size
        Assert.Null(LoaderProfiles.Find(n16, options with { Type = OutputType.Float32 }, 21, 15));   // another type
        Assert.Null(LoaderProfiles.Find(n16, options with { Layout = TensorLayout.ChannelsLast }, 21, 15));
        Assert.Null(LoaderProfiles.Find(n16, options with { Mean = [0.485f, 0.456f, 0.407f] }, 21, 15)); // another mean
        Assert.Null(LoaderProfiles.Find(n16, options with { Normalize = false }, 21, 15));
        var rgba = Registration(nameof(ProfileRgbaBf16));
        Assert.Same(rgba, LoaderProfiles.Find([(16, 4)], ProfileRgbaBf16.AugmentOptions, 19, 11));
        Assert.Null(LoaderProfiles.Find([(16, 3)], ProfileRgbaBf16.AugmentOptions with { Channels = 4 }, 19, 11)); // the shape fixes 4 channels
    }
}
