using L3.Generator.Tests.Profiles;
using Xunit;
using L3.TestSupport;

namespace L3.Generator.Tests;

/// <summary>The generated CPU codecs (built into this assembly from TestProfiles.cs): lossless,
/// bit-exact with the generic runtime decoder, byte-identical files, and dispatched to by
/// L3Codec.Decode.</summary>
public sealed class RoundTripTests
{
    internal delegate L3Header Decoder(ReadOnlySpan<byte> file, Span<byte> pixels);
    internal delegate byte[] Encoder(ReadOnlySpan<byte> pixels, int height, int channels, int maxDegreeOfParallelism);

    internal sealed record Profile(string Name, int N, int Width, Encoder Encode, Decoder Decode);

    internal static readonly Profile[] All =
    [
        new(nameof(L3Profile_N8_W37), L3Profile_N8_W37.N, L3Profile_N8_W37.Width, L3Profile_N8_W37.Encode, L3Profile_N8_W37.Decode),
        new(nameof(L3Profile_N16_W100), L3Profile_N16_W100.N, L3Profile_N16_W100.Width, L3Profile_N16_W100.Encode, L3Profile_N16_W100.Decode),
        new(nameof(L3Profile_N32_W70), L3Profile_N32_W70.N, L3Profile_N32_W70.Width, L3Profile_N32_W70.Encode, L3Profile_N32_W70.Decode),
        new(nameof(L3Profile_N64_W130), L3Profile_N64_W130.N, L3Profile_N64_W130.Width, L3Profile_N64_W130.Encode, L3Profile_N64_W130.Decode),
        new(nameof(L3Profile_N16_W48), L3Profile_N16_W48.N, L3Profile_N16_W48.Width, L3Profile_N16_W48.Encode, L3Profile_N16_W48.Decode),
    ];

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var p in All)
            foreach (int channels in new[] { 1, 3, 4 })
                data.Add(p.Name, channels);
        return data;
    }

    internal static byte[] GenericDecode(byte[] file, L3.Cpu.CpuPath path = L3.Cpu.CpuPath.Auto)
    {
        var options = new L3DecodeOptions { UseProfiles = false, Path = path };
        Assert.StartsWith("generic ", L3Codec.DescribeDecoder(file, options));
        return L3Codec.Decode(file, options).Pixels;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Profile_matches_the_generic_decoder_on_every_cpu_path(string name, int channels)
    {
        var profile = All.Single(p => p.Name == name);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) * 7 + channels);
        foreach (int height in new[] { profile.N, 2 * profile.N + 5 })
        {
            var pixels = SyntheticImages.Make(Pattern.Bands, profile.Width, height, channels, seed: random.Next());
            byte[] file = L3Codec.Encode(pixels, profile.Width, height, channels, new L3EncodeOptions { PatchSize = profile.N });
            foreach (var path in L3.Cpu.CpuPaths.Supported)
            {
                var options = new L3DecodeOptions { Path = path };
                Assert.Equal($"profile {typeof(RoundTripTests).Namespace}.Profiles.{name} ({L3.Cpu.CpuPaths.Describe(path)})",
                    L3Codec.DescribeDecoder(file, options));
                var viaProfile = L3Codec.Decode(file, options).Pixels;
                Assert.Equal(GenericDecode(file, path), viaProfile);
                Assert.Equal(pixels, viaProfile);
                // patch-parallel too: rows of patches on several threads
                Assert.Equal(pixels, L3Codec.Decode(file, options with { MaxDegreeOfParallelism = 3 }).Pixels);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_decoder_is_lossless_and_matches_the_generic_decoder(string name, int channels)
    {
        var profile = All.Single(p => p.Name == name);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) ^ channels);
        // heights that are not multiples of N, one shorter than a patch, one a single row
        foreach (int height in new[] { 1, profile.N - 3, 2 * profile.N + 5, random.Next(1, 3 * profile.N) })
        {
            var pixels = SyntheticImages.Make(Pattern.Bands, profile.Width, height, channels, seed: random.Next());
            byte[] file = L3Codec.Encode(pixels, profile.Width, height, channels, new L3EncodeOptions { PatchSize = profile.N });

            var decoded = new byte[pixels.Length];
            var header = profile.Decode(file, decoded);
            Assert.Equal((profile.Width, height, channels), (header.Width, header.Height, header.Channels));
            Assert.Equal(pixels, decoded);
            Assert.Equal(GenericDecode(file), decoded);

            // a profile's Encode writes the very same file as L3Codec.Encode
            Assert.Equal(file, profile.Encode(pixels, height, channels, 1));
        }
    }

    [Fact]
    public void Zero_rows_and_flat_patches_decode_under_every_predictor()
    {
        // flat, vertical stripes (Top/Gradient zero rows), horizontal ramps (Left), diagonals (TopRight)
        const int w = L3Profile_N16_W100.Width, h = 40;
        foreach (var pattern in new Func<int, int, int>[] { (x, y) => 7, (x, y) => x * 5, (x, y) => y * 3, (x, y) => x + y, (x, y) => x - y })
            foreach (int channels in new[] { 1, 3, 4 })
            {
                var pixels = new byte[w * h * channels];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int c = 0; c < channels; c++)
                            pixels[(y * w + x) * channels + c] = (byte)(pattern(x, y) + 30 * c);
                byte[] file = L3Profile_N16_W100.Encode(pixels, h, channels);
                Assert.Equal(pixels, L3Profile_N16_W100.Decode(file).Pixels);
            }
    }

    [Fact]
    public void L3Codec_Decode_dispatches_to_the_matching_profile()
    {
        var pixels = SyntheticImages.Make(Pattern.Bands, L3Profile_N16_W100.Width, 33, 3, seed: 5);
        byte[] file = L3Codec.Encode(pixels, L3Profile_N16_W100.Width, 33, 3, new L3EncodeOptions { PatchSize = 16 });
        var found = L3Profiles.Find(L3Codec.ReadHeader(file));
        Assert.NotNull(found);
        Assert.Equal(typeof(L3Profile_N16_W100).FullName, found.Name);
        // what Decode runs, as the same resolution says it (the best path of this machine)
        Assert.Equal($"profile {typeof(L3Profile_N16_W100).FullName} ({L3.Cpu.CpuPaths.Describe(L3.Cpu.CpuPaths.Best)})",
            L3Codec.DescribeDecoder(file));
        Assert.Equal(pixels, L3Codec.Decode(file).Pixels);

        // same width, other N: no profile, the generic path
        byte[] other = L3Codec.Encode(pixels, L3Profile_N16_W100.Width, 33, 3, new L3EncodeOptions { PatchSize = 32 });
        Assert.Null(L3Profiles.Find(L3Codec.ReadHeader(other)));
        Assert.Equal($"generic {L3.Cpu.CpuPaths.Describe(L3.Cpu.CpuPaths.Best)}", L3Codec.DescribeDecoder(other));
        Assert.Equal(pixels, L3Codec.Decode(other).Pixels);
    }

    [Fact]
    public void Every_profile_of_this_assembly_registered_itself()
    {
        var names = L3Profiles.All.Select(p => p.Name).ToHashSet();
        foreach (var type in new[] { typeof(L3Profile_N8_W37), typeof(L3Profile_N16_W100), typeof(L3Profile_N32_W70),
                     typeof(L3Profile_N64_W130), typeof(L3Profile_N16_W48), typeof(L3Profile_N8_W21_H19_C3) })
            Assert.Contains(type.FullName!, names);
        var fixedOne = L3Profiles.All.Single(p => p.Name == typeof(L3Profile_N8_W21_H19_C3).FullName);
        Assert.Equal((8, 21, (int?)19, (int?)3), (fixedOne.PatchSize, fixedOne.Width, fixedOne.Height, fixedOne.Channels));
    }

    [Fact]
    public void The_most_specific_profile_wins_and_registering_a_name_twice_keeps_the_first()
    {
        // two shapes of a width no other test uses: any channel count, and gray only
        var general = L3Profiles.Register<Width23>("Tests.Width23");
        Assert.Same(general, L3Profiles.Register<Width23>("Tests.Width23"));
        L3Profiles.Register<Width23Gray>("Tests.Width23Gray");
        byte[] rgb = L3Codec.Encode(SyntheticImages.Make(Pattern.Bands, 23, 19, 3, seed: 12), 23, 19, 3, new L3EncodeOptions { PatchSize = 8 });
        byte[] gray = L3Codec.Encode(SyntheticImages.Make(Pattern.Bands, 23, 19, 1, seed: 13), 23, 19, 1, new L3EncodeOptions { PatchSize = 8 });
        Assert.StartsWith("profile Tests.Width23 (", L3Codec.DescribeDecoder(rgb));
        Assert.StartsWith("profile Tests.Width23Gray (", L3Codec.DescribeDecoder(gray));
        Assert.Equal(GenericDecode(rgb), L3Codec.Decode(rgb).Pixels);
        Assert.Equal(GenericDecode(gray), L3Codec.Decode(gray).Pixels);
    }

    private readonly struct Width23 : L3.Kernels.IPatchShape
    {
        public int N => 8;
        public int Width => 23;
        public int Height => 0;
        public int Channels => 0;
    }

    private readonly struct Width23Gray : L3.Kernels.IPatchShape
    {
        public int N => 8;
        public int Width => 23;
        public int Height => 0;
        public int Channels => 1;
    }

    [Fact]
    public void Fixed_height_and_channels_profile()
    {
        Assert.Equal(3, L3Profile_N8_W21_H19_C3.PatchesY);
        var pixels = SyntheticImages.Make(Pattern.Bands, 21, 19, 3, seed: 3);
        byte[] file = L3Profile_N8_W21_H19_C3.Encode(pixels, 19, 3);
        Assert.Equal(pixels, L3Profile_N8_W21_H19_C3.Decode(file).Pixels);
        Assert.Equal(typeof(L3Profile_N8_W21_H19_C3).FullName, L3Profiles.Find(L3Codec.ReadHeader(file))?.Name);
        Assert.Throws<ArgumentException>(() => L3Profile_N8_W21_H19_C3.Encode(SyntheticImages.Make(Pattern.Bands, 21, 18, 3, 1), 18, 3));

        // another height: not this profile (the N = 8, Width = 21 file falls back to the generic path)
        var shorter = SyntheticImages.Make(Pattern.Bands, 21, 18, 3, seed: 4);
        byte[] other = L3Codec.Encode(shorter, 21, 18, 3, new L3EncodeOptions { PatchSize = 8 });
        Assert.Null(L3Profiles.Find(L3Codec.ReadHeader(other)));
        Assert.Throws<ArgumentException>(() => L3Profile_N8_W21_H19_C3.Decode(other));
    }

    [Fact]
    public void File_of_another_shape_is_refused()
    {
        var pixels = SyntheticImages.Make(Pattern.Bands, 36, 10, 1, seed: 1);
        byte[] file = L3Codec.Encode(pixels, 36, 10, 1, new L3EncodeOptions { PatchSize = 8 });
        var e = Assert.Throws<ArgumentException>(() => L3Profile_N8_W37.Decode(file, new byte[pixels.Length]));
        Assert.Contains("N = 8, Width = 37", e.Message);
    }

    [Fact]
    public void Corrupt_file_is_an_L3FormatException_and_nothing_is_written()
    {
        var pixels = SyntheticImages.Make(Pattern.Bands, L3Profile_N8_W37.Width, 20, 3, seed: 2);
        byte[] file = L3Profile_N8_W37.Encode(pixels, 20, 3);
        var header = L3Codec.ReadHeader(file);
        var random = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            var bad = (byte[])file.Clone();
            int at = random.Next(bad.Length);
            bad[at] ^= (byte)(1 << random.Next(8));
            var output = new byte[pixels.Length];
            Assert.Throws<L3FormatException>(() => L3Profile_N8_W37.Decode(bad, output));
            Assert.All(output, b => Assert.Equal(0, b));
        }
        // truncated
        Assert.Throws<L3FormatException>(() => L3Profile_N8_W37.Decode(file.AsSpan(0, file.Length - 1), new byte[pixels.Length]));
        Assert.True(header.PatchCount > 1);
    }

    [Fact]
    public void Structurally_bad_patch_with_a_valid_checksum_is_refused()
    {
        // rewrite a patch byte and fix the payload checksum, so that only PatchFormat.Validate can catch it
        var pixels = SyntheticImages.Make(Pattern.Bands, L3Profile_N8_W37.Width, 9, 1, seed: 11);
        byte[] file = L3Profile_N8_W37.Encode(pixels, 9, 1);
        var header = L3Codec.ReadHeader(file);
        var bad = (byte[])file.Clone();
        bad[header.PayloadStart] = 0x80; // reserved patch flag bits
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(24),
            System.IO.Hashing.XxHash64.HashToUInt64(bad.AsSpan(header.PayloadStart)));
        // the header checksum covers offset 24 too: recompute it
        int tableEnd = header.PayloadStart - 8;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(tableEnd),
            System.IO.Hashing.XxHash64.HashToUInt64(bad.AsSpan(0, tableEnd)));
        var e = Assert.Throws<L3FormatException>(() => L3Profile_N8_W37.Decode(bad, new byte[pixels.Length]));
        Assert.Contains("patch flags", e.Message);
    }

    [Fact]
    public void Format_structs_read_the_header()
    {
        var pixels = SyntheticImages.Make(Pattern.Bands, L3Profile_N32_W70.Width, 45, 4, seed: 6);
        byte[] file = L3Profile_N32_W70.Encode(pixels, 45, 4);
        var fixedHeader = L3Profile_N32_W70.FileHeader.Read(file);
        Assert.True(fixedHeader.IsThisProfile);
        Assert.Equal((0x4649_334Cu, (byte)1, (byte)4, (byte)32, 70u, 45u), (fixedHeader.Magic, fixedHeader.Version, fixedHeader.ChannelCount, fixedHeader.PatchSize, fixedHeader.ImageWidth, fixedHeader.ImageHeight));
        var header = L3Codec.ReadHeader(file);
        Assert.Equal(header.PayloadStart, L3Profile_N32_W70.PatchTable.PayloadStart(header.PatchCount));
        Assert.Equal(header.PatchCount, L3Profile_N32_W70.PatchTable.PatchCount(45));
        var table = new L3Profile_N32_W70.PatchTable(header.PatchOffsets);
        for (int i = 0; i < header.PatchCount; i++)
        {
            Assert.Equal(header.PatchRange(i), table[i]);
            Assert.Equal(header.PatchRect(i).Width, L3Profile_N32_W70.PatchTable.PatchWidth(i % L3Profile_N32_W70.PatchesX));
        }
        Assert.Equal((3, 6, 1), (L3Profile_N32_W70.PatchesX, L3Profile_N32_W70.EdgePatchWidth, L3Profile_N32_W70.EdgeGroupsPerRow));
    }
}
