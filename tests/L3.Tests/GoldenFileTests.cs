using L3.TestSupport;
using System.Security.Cryptography;
using L3.Cpu;

namespace L3.Tests;

/// <summary>
/// Files written by an earlier encoder stay readable, and the encoder still writes them byte for
/// byte: tests/data/golden holds .l3 files made by the encoder at main e0157d6 (crops of the
/// tests/data images: gray, RGB, RGBA, N = 8 to 64, edge patches), and golden.txt the shape and the
/// SHA-256 of each one's pixels (those of the crop it was made from).
/// </summary>
public class GoldenFileTests
{
    private static string GoldenPath(string name) => TestData.Path(Path.Combine("golden", name));

    private sealed record Golden(string File, int Width, int Height, int Channels, int PatchSize, string PixelsSha256);

    private static IEnumerable<Golden> Manifest() =>
        File.ReadLines(GoldenPath("golden.txt"))
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(' '))
            .Select(f => new Golden(f[0], int.Parse(f[1]), int.Parse(f[2]), int.Parse(f[3]), int.Parse(f[4]), f[5]));

    private static Golden Listed(string file) => Manifest().Single(g => g.File == file);

    public static TheoryData<string> Files() => new(Manifest().Select(g => g.File));

    [Fact]
    public void Every_golden_file_is_listed()
    {
        var listed = Manifest().Select(g => g.File).Order().ToArray();
        var present = Directory.GetFiles(GoldenPath(""), "*.l3").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(present, listed);
        Assert.True(listed.Length >= 5);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Decodes_bit_exactly_on_every_path(string name)
    {
        var golden = Listed(name);
        var file = File.ReadAllBytes(GoldenPath(golden.File));
        var header = L3Codec.ReadHeader(file);
        Assert.Equal((golden.Width, golden.Height, golden.Channels, golden.PatchSize),
            (header.Width, header.Height, header.Channels, header.PatchSize));
        foreach (var path in CpuPaths.Supported)
        {
            var pixels = new byte[header.DecodedBytes];
            L3Codec.Decode(file, pixels, new L3DecodeOptions { Path = path });
            Assert.True(golden.PixelsSha256 == Convert.ToHexStringLower(SHA256.HashData(pixels)), $"{golden.File} on {path}");
        }
        Assert.Equal(golden.PixelsSha256, Convert.ToHexStringLower(SHA256.HashData(L3Codec.Decode(file).Pixels)));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Encodes_to_the_same_bytes_on_every_path(string name)
    {
        var golden = Listed(name);
        var file = File.ReadAllBytes(GoldenPath(golden.File));
        var image = L3Codec.Decode(file);
        foreach (var path in CpuPaths.Supported)
        {
            var again = L3Codec.Encode(image.Pixels, image.Width, image.Height, image.Channels,
                new L3EncodeOptions { PatchSize = golden.PatchSize, Path = path, Mode = L3Codec.ReadHeader(file).Mode });
            Assert.True(file.AsSpan().SequenceEqual(again), $"{golden.File}: the {path} encoder no longer writes the golden bytes");
        }
    }
}
