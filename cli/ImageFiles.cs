using System.Text;
using SkiaSharp;

namespace L3.Cli;

/// <summary>Reads and writes ordinary image files: PNG, JPEG and BMP through SkiaSharp, netpbm
/// (PGM, PPM, PAM) directly. Grayscale stays 1 channel, images with alpha 4, others 3.</summary>
public static class ImageFiles
{
    /// <summary>Thrown for an image file that cannot be read or written; the CLI prints its message.</summary>
    public sealed class ImageFileException(string message) : Exception(message);

    public static L3Image Read(string path) => Read(File.ReadAllBytes(path));

    public static L3Image Read(byte[] bytes)
    {
        if (bytes.Length >= 2 && bytes[0] == (byte)'P' && bytes[1] is (byte)'5' or (byte)'6' or (byte)'7')
            return Netpbm.Read(bytes);
        return ReadWithSkia(bytes);
    }

    private static L3Image ReadWithSkia(byte[] bytes)
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
        unsafe
        {
            fixed (byte* p = decoded)
            {
                var result = codec.GetPixels(target, (IntPtr)p);
                if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                    throw new ImageFileException($"image could not be decoded: {result}");
                if (result == SKCodecResult.IncompleteInput)
                    throw new ImageFileException("image file is truncated");
            }
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

    /// <summary>Binary netpbm: P5 (gray), P6 (RGB) and P7 (PAM: GRAYSCALE, RGB, RGB_ALPHA), maxval 255.</summary>
    private static class Netpbm
    {
        public static L3Image Read(byte[] bytes)
        {
            int at = 2;
            char kind = (char)bytes[1];
            int width, height, channels;
            if (kind == '7')
            {
                width = height = channels = -1;
                int maxval = -1;
                while (true)
                {
                    string line = ReadLine(bytes, ref at);
                    if (line.Length == 0 || line[0] == '#') continue;
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts[0] == "ENDHDR") break;
                    if (parts.Length < 2) throw new ImageFileException($"PAM header line '{line}' is malformed");
                    switch (parts[0])
                    {
                        case "WIDTH": width = ParseInt(parts[1]); break;
                        case "HEIGHT": height = ParseInt(parts[1]); break;
                        case "DEPTH": channels = ParseInt(parts[1]); break;
                        case "MAXVAL": maxval = ParseInt(parts[1]); break;
                        case "TUPLTYPE": break;
                        default: throw new ImageFileException($"PAM header field '{parts[0]}' is unknown");
                    }
                }
                if (maxval != 255) throw new ImageFileException($"PAM maxval {maxval} is not supported (255 only)");
                if (channels is not (1 or 3 or 4)) throw new ImageFileException($"PAM depth {channels} is not 1, 3 or 4");
            }
            else
            {
                width = ParseInt(NextToken(bytes, ref at));
                height = ParseInt(NextToken(bytes, ref at));
                int maxval = ParseInt(NextToken(bytes, ref at));
                if (maxval != 255) throw new ImageFileException($"netpbm maxval {maxval} is not supported (255 only)");
                at++; // the single whitespace byte after maxval
                channels = kind == '5' ? 1 : 3;
            }
            L3Header.ValidateShape(width, height, channels, 64);
            long size = (long)width * height * channels;
            if (bytes.Length - (long)at < size) throw new ImageFileException("netpbm file is truncated");
            return new L3Image(width, height, channels, bytes.AsSpan(at, (int)size).ToArray());
        }

        public static byte[] Write(L3Image image, bool pam)
        {
            string header = pam
                ? $"P7\nWIDTH {image.Width}\nHEIGHT {image.Height}\nDEPTH {image.Channels}\nMAXVAL 255\nTUPLTYPE {(image.Channels switch { 1 => "GRAYSCALE", 3 => "RGB", _ => "RGB_ALPHA" })}\nENDHDR\n"
                : $"P{(image.Channels == 1 ? 5 : 6)}\n{image.Width} {image.Height}\n255\n";
            var head = Encoding.ASCII.GetBytes(header);
            var file = new byte[head.Length + image.Pixels.Length];
            head.CopyTo(file, 0);
            image.Pixels.CopyTo(file, head.Length);
            return file;
        }

        private static int ParseInt(string s) =>
            int.TryParse(s, out int v) && v >= 0 ? v : throw new ImageFileException($"netpbm header value '{s}' is not a number");

        private static string ReadLine(byte[] bytes, ref int at)
        {
            int start = at;
            while (at < bytes.Length && bytes[at] != '\n') at++;
            if (at >= bytes.Length) throw new ImageFileException("netpbm header is truncated");
            return Encoding.ASCII.GetString(bytes, start, at++ - start).Trim();
        }

        private static string NextToken(byte[] bytes, ref int at)
        {
            while (true)
            {
                while (at < bytes.Length && char.IsWhiteSpace((char)bytes[at])) at++;
                if (at < bytes.Length && bytes[at] == '#') { while (at < bytes.Length && bytes[at] != '\n') at++; continue; }
                break;
            }
            int start = at;
            while (at < bytes.Length && !char.IsWhiteSpace((char)bytes[at])) at++;
            if (start == at) throw new ImageFileException("netpbm header is truncated");
            return Encoding.ASCII.GetString(bytes, start, at - start);
        }
    }
}
