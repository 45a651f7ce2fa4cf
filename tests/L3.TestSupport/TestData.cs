using L3.Imaging;

namespace L3.TestSupport;

/// <summary>The one locator of the real images committed in tests/data: found from the running
/// assembly's folder upwards, or from the working directory upwards (BenchmarkDotNet runs its
/// generated projects from elsewhere), at the folder that holds L3.Gen.sln.</summary>
public static class TestData
{
    private static readonly Lazy<string> Folder = new(Find);

    /// <summary>The full path of tests/data.</summary>
    public static string Directory => Folder.Value;

    /// <summary>The full path of the file <paramref name="name"/> in tests/data.</summary>
    public static string Path(string name) => System.IO.Path.Combine(Directory, name);

    /// <summary>The full paths of the real images (the PNGs of tests/data), in name order.</summary>
    public static IReadOnlyList<string> Images =>
        System.IO.Directory.GetFiles(Directory, "*.png").Order(StringComparer.Ordinal).ToArray();

    /// <summary>The image <paramref name="name"/> of tests/data, read by the imaging library.</summary>
    public static L3Image Read(string name) => ImageFiles.Read(Path(name));

    private static string Find()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = System.IO.Path.Combine(dir.FullName, "tests", "data");
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "L3.Gen.sln")) && System.IO.Directory.Exists(candidate))
                    return candidate;
            }
        throw new DirectoryNotFoundException($"tests/data not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
