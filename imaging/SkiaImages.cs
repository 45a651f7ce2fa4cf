using SkiaSharp;

namespace L3.Imaging;

/// <summary>Decoding through SkiaSharp, with what Skia would do silently checked first: more than one
/// frame, an EXIF orientation, a colour profile, a declared size the file cannot hold.</summary>
internal static class SkiaImages
{
    public static unsafe L3Image Decode(ReadOnlySpan<byte> bytes, ImageFormat format, ImageReadOptions options, List<string> notes)
    {
        string name = ImageFormats.Name(format);
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new ImageFileException($"{name} file could not be read (truncated or corrupt)");
        var info = codec.Info;
        ImageLimits.CheckDeclaredSize(name, info.Width, info.Height, options);
        bool gray = info.ColorType == SKColorType.Gray8;
        bool alpha = !gray && info.AlphaType != SKAlphaType.Opaque;
        int channels = gray ? 1 : alpha ? 4 : 3;
        if (format != ImageFormat.Png) // a PNG was checked against deflate's bound already
            ImageLimits.CheckExpansion(name, info.Width, info.Height, (long)info.Width * info.Height * channels, bytes.Length, options);

        int frames = format == ImageFormat.Png ? 1 : codec.FrameCount; // an APNG was checked by its acTL chunk
        if (frames > 1)
        {
            if (!options.FirstFrame)
                throw new ImageFileException($"animated {name} of {frames} frames: L3 stores one image; --first-frame keeps the first");
            notes.Add($"animated {name}: kept the first of {frames} frames");
        }

        var origin = codec.EncodedOrigin;
        if (origin != SKEncodedOrigin.TopLeft)
        {
            switch (options.Orientation)
            {
                case OrientationHandling.Apply:
                    notes.Add($"EXIF orientation {origin} applied: the pixels are stored as the image is shown");
                    break;
                case OrientationHandling.Ignore:
                    notes.Add($"EXIF orientation {origin} dropped: the pixels are stored as the file holds them, not as the image is shown");
                    break;
                default:
                    throw new ImageFileException($"EXIF orientation {origin} cannot be stored in L3; --apply-orientation rotates the pixels, --ignore-orientation keeps them as stored");
            }
        }

        // Decode in the codec's own colour space and with unpremultiplied alpha: no conversion may touch the values.
        if (info.ColorSpace is { IsSrgb: false })
            notes.Add("the file's colour profile (not sRGB) is not stored in L3: the pixel values are kept exactly and will be read as sRGB");
        var target = gray
            ? info.WithColorType(SKColorType.Gray8).WithAlphaType(SKAlphaType.Opaque)
            : info.WithColorType(SKColorType.Rgba8888).WithAlphaType(alpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        var decoded = new byte[target.BytesSize64];
        fixed (byte* p = decoded)
        {
            var result = codec.GetPixels(target, (IntPtr)p, new SKCodecOptions(0));
            if (result == SKCodecResult.IncompleteInput) throw new ImageFileException($"{name} file is truncated");
            if (result != SKCodecResult.Success) throw new ImageFileException($"{name} file could not be decoded: {result}");
        }
        var image = new L3Image(info.Width, info.Height, channels, channels == 3 ? DropAlpha(decoded) : decoded);
        return options.Orientation == OrientationHandling.Apply ? Orientation.Apply(image, origin) : image;
    }

    private static byte[] DropAlpha(byte[] rgba)
    {
        var rgb = new byte[rgba.LongLength / 4 * 3];
        for (long i = 0, j = 0; j < rgb.LongLength; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return rgb;
    }
}
