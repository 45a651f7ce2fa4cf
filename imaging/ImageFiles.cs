using System.Text;
using SkiaSharp;

namespace L3.Imaging;

/// <summary>Reads and writes ordinary image files: PNG, JPEG and BMP through SkiaSharp, netpbm
/// (PGM, PPM, PAM) directly. Grayscale stays 1 channel, images with alpha 4, others 3.</summary>
public static class ImageFiles
{
    /// <summary>Reads the image file at <paramref name="path"/>.</summary>
    public static L3Image Read(string path, ImageReadOptions? options = null) => Read(File.ReadAllBytes(path), options);

    /// <summary>Reads an image file's bytes.</summary>
    public static L3Image Read(ReadOnlySpan<byte> bytes, ImageReadOptions? options = null)
    {
        if (bytes.Length >= 2 && bytes[0] == (byte)'P' && bytes[1] is (byte)'5' or (byte)'6' or (byte)'7')
            return Netpbm.Read(bytes.ToArray());
        return ReadWithSkia(bytes);
    }

    /// <summary>Writes <paramref name="image"/> in the format of the path's extension (see <see cref="EncodeFor"/>).</summary>
    public static void Write(string path, L3Image image) => File.WriteAllBytes(path, EncodeFor(path, image));

    private static unsafe L3Image ReadWithSkia(ReadOnlySpan<byte> bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageFileException("not a readable image (PNG, JPEG, BMP or netpbm expected)");
        var info = codec.Info;
        if (info.ColorType is not (SKColorType.Gray8 or SKColorType.Rgba8888 or SKColorType.Bgra8888 or SKColorType.Rgb888x))
            throw new ImageFileException($"pixel format {info.ColorType} is not supported yet (8-bit gray, RGB or RGBA only)");
        L3Header.ValidateShape(info.Width, info.Height, 1, 64);
        bool gray = info.ColorType == SKColorType.Gray8;
        bool alpha = !gray && info.AlphaType != SKAlphaType.Opaque;
        // Keep the codec's own colour space and unpremultiplied alpha: no conversion may touch the values.
        var target = gray
            ? info.WithColorType(SKColorType.Gray8).WithAlphaType(SKAlphaType.Opaque)
            : info.WithColorType(SKColorType.Rgba8888).WithAlphaType(alpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        var decoded = new byte[target.BytesSize];
        fixed (byte* p = decoded)
        {
            var result = codec.GetPixels(target, (IntPtr)p);
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                throw new ImageFileException($"image could not be decoded: {result}");
            if (result == SKCodecResult.IncompleteInput)
                throw new ImageFileException("image file is truncated");
        }
        if (gray || alpha) return new L3Image(info.Width, info.Height, gray ? 1 : 4, decoded);
        var rgb = new byte[(long)info.Width * info.Height * 3];
        for (long i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = decoded[i];
            rgb[j + 1] = decoded[i + 1];
            rgb[j + 2] = decoded[i + 2];
        }
        return new L3Image(info.Width, info.Height, 3, rgb);
    }

    /// <summary>Encodes as PNG with zlib level <paramref name="level"/> (6 is the reference for sizes).</summary>
    public static byte[] EncodePng(L3Image image, int level = 6)
    {
        SKImageInfo info;
        byte[] pixels;
        if (image.Channels == 1)
        {
            info = new SKImageInfo(image.Width, image.Height, SKColorType.Gray8, SKAlphaType.Opaque);
            pixels = image.Pixels;
        }
        else
        {
            info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888,
                image.Channels == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
            pixels = image.Channels == 4 ? image.Pixels : ToRgba(image.Pixels);
        }
        unsafe
        {
            fixed (byte* p = pixels)
            {
                using var pixmap = new SKPixmap(info, (IntPtr)p);
                using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, level))
                    ?? throw new ImageFileException("PNG encoding failed");
                return data.ToArray();
            }
        }
    }

    private static byte[] ToRgba(byte[] rgb)
    {
        var rgba = new byte[rgb.Length / 3 * 4];
        for (long i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }
        return rgba;
    }

    /// <summary>Encodes for the output path's extension: .png, or netpbm (.pgm, .ppm, .pam, .pnm).</summary>
    public static byte[] EncodeFor(string path, L3Image image)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".png" => EncodePng(image),
            ".pgm" or ".ppm" or ".pnm" when image.Channels != 4 => Netpbm.Write(image, pam: false),
            ".pam" or ".pnm" => Netpbm.Write(image, pam: true),
            ".pgm" or ".ppm" => throw new ImageFileException($"an RGBA image cannot be written as {ext}; use .pam or .png"),
            _ => throw new ImageFileException($"unknown output extension '{ext}' (use .png, .pgm, .ppm, .pam or .pnm)"),
        };
    }
}
