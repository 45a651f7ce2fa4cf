namespace L3.Gpu.Tests;

/// <summary>The real images copied next to the tests (tests/data).</summary>
public static class TestImages
{
    public static L3Image Read(string name) =>
        L3.Imaging.ImageFiles.Read(Path.Combine(AppContext.BaseDirectory, "data", name));
}
