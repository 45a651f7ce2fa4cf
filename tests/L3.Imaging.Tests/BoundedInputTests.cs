using System.Runtime.InteropServices;
using L3.TestSupport;

namespace L3.Imaging.Tests;

/// <summary>Memory bounded by what the file proves, and inputs that are not regular files refused
/// before they are opened. Allocation is measured on the calling thread (an allocation bound, not a timing).</summary>
public sealed class BoundedInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-imaging-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const long SmallAllocation = 1 << 20;

    private static (ImageFileException Error, long Allocated) RefusedWithAllocation(Func<L3Image> read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ImageFileException>(() => read());
        return (error, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_270_byte_truncated_PNG_declaring_16384_squared_allocates_almost_nothing()
    {
        var png = CraftedFiles.TruncatedPng(16384, 16384, length: 270);
        Assert.Equal(270, png.Length);
        var (error, allocated) = RefusedWithAllocation(() => ImageFiles.Read(png));
        Assert.Contains("truncated or corrupt", error.Message);
        Assert.True(allocated < SmallAllocation, $"allocated {allocated:N0} bytes");

        string path = Path.Combine(_dir, "cut.png");
        File.WriteAllBytes(path, png);
        (_, allocated) = RefusedWithAllocation(() => ImageFiles.Read(path));
        Assert.True(allocated < SmallAllocation, $"allocated {allocated:N0} bytes from the path");
    }

    [Fact]
    public void A_PNG_whose_data_is_enough_is_not_refused_by_the_bound()
    {
        // a flat 600x600 RGBA image deflates far, but within deflate's bound: read exactly
        var pixels = SyntheticImages.Make(Pattern.Constant, 600, 600, 4, seed: 3);
        var image = ImageFiles.Read(CraftedFiles.Png(600, 600, 6, 8, pixels));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void Sizes_beyond_the_format_limits_are_refused_from_the_header()
    {
        var (error, allocated) = RefusedWithAllocation(() => ImageFiles.Read(CraftedFiles.TruncatedPng(1 << 21, 1, length: 100)));
        Assert.Contains("outside 1..", error.Message);
        Assert.True(allocated < SmallAllocation);
        var lowered = new ImageReadOptions { MaxPixels = 100 };
        Assert.Contains("above the limit", Assert.Throws<ImageFileException>(
            () => ImageFiles.Read(CraftedFiles.Png(11, 10, 0, 8, new byte[110]), lowered)).Message);
    }

    [Fact]
    public void A_tiny_GIF_declaring_a_huge_canvas_is_refused_before_decoding()
    {
        var (error, allocated) = RefusedWithAllocation(() => ImageFiles.Read(CraftedFiles.Gif(1, 16000, 16000)));
        Assert.Contains("truncated or corrupt", error.Message);
        Assert.True(allocated < SmallAllocation, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_large_file_that_is_no_image_is_refused_after_its_first_bytes()
    {
        string path = Path.Combine(_dir, "zeros.png");
        using (var file = File.Create(path)) file.SetLength(256L << 20); // sparse: 256 MiB of zeros
        var (error, allocated) = RefusedWithAllocation(() => ImageFiles.Read(path));
        Assert.Contains("not a readable image", error.Message);
        Assert.True(allocated < SmallAllocation, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_file_longer_than_the_limit_is_not_read()
    {
        string path = Path.Combine(_dir, "long.png");
        File.WriteAllBytes(path, CraftedFiles.Png(1, 1, 0, 8, [7]));
        using (var file = File.OpenWrite(path)) file.SetLength(3L << 20);
        var (error, allocated) = RefusedWithAllocation(() => ImageFiles.Read(path, new ImageReadOptions { MaxFileBytes = 1 << 20 }));
        Assert.Contains("more than the", error.Message);
        Assert.True(allocated < SmallAllocation);
    }

    [Fact]
    public void A_directory_is_refused()
    {
        Assert.Contains("directory", Assert.Throws<ImageFileException>(() => ImageFiles.Read(_dir)).Message);
    }

    [Fact]
    public void A_device_is_refused_without_reading_it()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (error, allocated) = RefusedWithAllocation(() => ImageFiles.Read("/dev/zero"));
        Assert.Contains("character device", error.Message);
        Assert.True(allocated < SmallAllocation);
    }

    [Fact]
    public async Task A_FIFO_is_refused_without_blocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        string fifo = Path.Combine(_dir, "in.png");
        Assert.Equal(0, MakeFifo(fifo, 0b110_000_000));
        var read = Task.Run(() => ImageFiles.Read(fifo));
        if (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(60))) != read)
        {
            using (File.OpenWrite(fifo)) { } // a writer lets the blocked open go, so the test process can end
            Assert.Fail("reading a FIFO blocked");
        }
        var error = await Assert.ThrowsAsync<ImageFileException>(() => read);
        Assert.Contains("FIFO", error.Message);
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
