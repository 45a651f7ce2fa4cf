using L3.Imaging;
using L3.TestSupport;
using SkiaSharp;

namespace L3.Bench.Cpu;

/// <summary>The images the CPU benchmarks run on: the RGB/RGBA PNGs of tests/data, or of the folder
/// named by L3_BENCH_IMAGES (e.g. /work/shared/corpus).</summary>
public static class BenchImages
{
    public static string Directory()
    {
        string? configured = Environment.GetEnvironmentVariable("L3_BENCH_IMAGES");
        return string.IsNullOrEmpty(configured) ? TestData.Directory : configured;
    }

    /// <summary>File names (without extension) of the RGB/RGBA images: QOI has no gray mode.</summary>
    public static IEnumerable<string> ColourImages() =>
        System.IO.Directory.GetFiles(Directory(), "*.png").Order()
            .Where(p => !Path.GetFileName(p).StartsWith("gray", StringComparison.Ordinal))
            .Select(Path.GetFileNameWithoutExtension)!;

    public static L3Image Load(string name) => ImageFiles.Read(Path.Combine(Directory(), name + ".png"));

    /// <summary>PNG bytes of the image at zlib level 6, all filters (as ImageFiles.EncodePng, into a reused buffer).</summary>
    public static unsafe byte[] EncodePng(L3Image image, byte[] rgbaScratch)
    {
        var info = PngInfo(image);
        byte[] pixels = image.Channels == 3 ? ToRgba(image.Pixels, rgbaScratch) : image.Pixels;
        fixed (byte* p = pixels)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)p);
            using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6))
                ?? throw new InvalidOperationException("PNG encode failed");
            return data.ToArray();
        }
    }

    /// <summary>Decodes a PNG with SkiaSharp into 8888 (or gray) pixels, as ImageFiles reads it.</summary>
    public static unsafe void DecodePng(byte[] png, byte[] target)
    {
        using var data = SKData.CreateCopy(png);
        using var codec = SKCodec.Create(data);
        var info = codec.Info;
        bool gray = info.ColorType == SKColorType.Gray8;
        bool alpha = !gray && info.AlphaType != SKAlphaType.Opaque;
        var wanted = gray ? info.WithAlphaType(SKAlphaType.Opaque)
            : info.WithColorType(SKColorType.Rgba8888).WithAlphaType(alpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        fixed (byte* p = target)
            if (codec.GetPixels(wanted, (IntPtr)p) != SKCodecResult.Success) throw new InvalidOperationException("PNG decode failed");
    }

    public static SKImageInfo PngInfo(L3Image image) => image.Channels == 1
        ? new SKImageInfo(image.Width, image.Height, SKColorType.Gray8, SKAlphaType.Opaque)
        : new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, image.Channels == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);

    private static byte[] ToRgba(byte[] rgb, byte[] rgba)
    {
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }
        return rgba;
    }
}
