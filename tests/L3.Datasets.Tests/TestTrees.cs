using System.Buffers.Binary;

namespace L3.Datasets.Tests;

/// <summary>
/// Small synthetic image trees for the dataset tests, in a trivial raw format ("TRAW", width and
/// height as u16, channels, pixels) read by <see cref="Decode"/>: the library is tested apart from
/// the image readers (the CLI tests use real PNG files). Bad files of the kinds conversion meets:
/// truncated, unsupported (2 channels, standing for 16-bit gray+alpha), and not an image at all.
/// </summary>
public static class TestTrees
{
    public static byte[] Encode(int width, int height, int channels, byte[] pixels)
    {
        var file = new byte[9 + pixels.Length];
        "TRAW"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(4), (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(6), (ushort)height);
        file[8] = (byte)channels;
        pixels.CopyTo(file, 9);
        return file;
    }

    public static L3Image Decode(byte[] file)
    {
        if (file.Length < 9 || !file.AsSpan(0, 4).SequenceEqual("TRAW"u8)) throw new InvalidDataException("not a TRAW image");
        int width = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(4)), height = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(6));
        int channels = file[8];
        if (channels is not (1 or 3 or 4)) throw new InvalidDataException($"{channels} channels are not supported");
        if (file.Length - 9 != width * height * channels) throw new InvalidDataException("image file is truncated");
        return new L3Image(width, height, channels, file[9..]);
    }

    public static byte[] Pixels(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * channels];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 7 * 30 + random.Next(12));
        return pixels;
    }

    /// <summary>An ImageFolder tree: <paramref name="count"/> images over three classes (and one
    /// unlabelled image at the root), varied sizes and channel counts; the .png name only makes
    /// the source list them as images.</summary>
    public static Dictionary<string, L3Image> MakeTree(string root, int count, int seed = 1)
    {
        var images = new Dictionary<string, L3Image>(StringComparer.Ordinal);
        string[] classes = ["cat", "dog", "zebra"];
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            string name = i == 0 ? "root-image.png" : $"{classes[i % 3]}/img-{i:D4}.png";
            int width = 1 + random.Next(90), height = 1 + random.Next(70), channels = new[] { 1, 3, 4 }[random.Next(3)];
            var pixels = Pixels(width, height, channels, seed * 1000 + i);
            Write(root, name, Encode(width, height, channels, pixels));
            images[name] = new L3Image(width, height, channels, pixels);
        }
        File.WriteAllText(Path.Combine(root, "README.txt"), "not an image");
        Write(root, ".hidden/skip.png", Encode(1, 1, 1, [0]));
        return images;
    }

    public static void Write(string root, string name, byte[] bytes)
    {
        string path = Path.Combine(root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Every file under a folder, relative name → bytes (to compare two datasets byte for byte).</summary>
    public static SortedDictionary<string, byte[]> Snapshot(string root) =>
        new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes), StringComparer.Ordinal);

    public static void AssertSameFiles(string expected, string actual)
    {
        var a = Snapshot(expected);
        var b = Snapshot(actual);
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, bytes) in a)
            Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"{name} differs");
    }
}
