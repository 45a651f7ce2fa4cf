using SkiaSharp;

namespace L3.Imaging;

/// <summary>Reads and writes ordinary image files: PNG, JPEG, BMP, GIF, WebP and ICO read through
/// SkiaSharp, netpbm (PGM, PPM, PAM) read and written directly, PNG written through SkiaSharp.
/// Grayscale stays 1 channel, images with alpha 4, others 3.
/// <para>Nothing is converted silently: what cannot be stored exactly (16-bit samples, CMYK, an
/// animation, an EXIF orientation) is refused with an <see cref="ImageFileException"/> unless
/// <see cref="ImageReadOptions"/> asks for the conversion, and then it is reported in
/// <see cref="ImageReadResult.Notes"/>, as is metadata that is dropped (a colour profile). The
/// declared size is checked against the limits and against what the file can hold before any
/// pixel buffer is allocated.</para></summary>
public static class ImageFiles
{
    /// <summary>Reads the image file at <paramref name="path"/> (see <see cref="ReadWithNotes(string, ImageReadOptions?)"/>
    /// for what was dropped or converted on the way).</summary>
    public static L3Image Read(string path, ImageReadOptions? options = null) => ReadWithNotes(path, options).Image;

    /// <summary>Reads an image file's bytes.</summary>
    public static L3Image Read(ReadOnlySpan<byte> bytes, ImageReadOptions? options = null) => ReadWithNotes(bytes, options).Image;

    /// <summary>Reads the image file at <paramref name="path"/>: only a regular file (a FIFO, device
    /// or directory is refused before it is opened), no longer than <see cref="ImageReadOptions.MaxFileBytes"/>;
    /// its format and declared size are checked on its first bytes before the rest is read.</summary>
    public static ImageReadResult ReadWithNotes(string path, ImageReadOptions? options = null)
    {
        options ??= ImageReadOptions.Default;
        long length = InputFile.CheckRegular(path);
        long limit = Math.Min(options.MaxFileBytes, Array.MaxLength);
        if (length > limit) throw new ImageFileException($"{path} has {length:N0} bytes, more than the {limit:N0} read from an image file");
        using var stream = InputFile.Open(path);
        // what the first bytes prove comes first: a file of zeros is refused after 33 bytes, not after reading it all
        Span<byte> head = stackalloc byte[Png.HeaderBytes];
        head = head[..InputFile.ReadUpTo(stream, head)];
        var format = ImageFormats.Identify(head[..Math.Min(head.Length, ImageFormats.SignatureBytes)]);
        if (format == ImageFormat.Png && head.Length == Png.HeaderBytes) CheckPng(Png.Read(head, wholeFile: false), options);
        var bytes = new byte[Math.Max(length, head.Length)];
        head.CopyTo(bytes);
        int read = head.Length + InputFile.ReadUpTo(stream, bytes.AsSpan(head.Length));
        return ReadWithNotes(bytes.AsSpan(0, read), options);
    }

    /// <summary>Reads an image file's bytes; see <see cref="ImageFiles"/> for what is refused and reported.</summary>
    public static ImageReadResult ReadWithNotes(ReadOnlySpan<byte> bytes, ImageReadOptions? options = null)
    {
        options ??= ImageReadOptions.Default;
        var format = ImageFormats.Identify(bytes[..Math.Min(bytes.Length, ImageFormats.SignatureBytes)]);
        if (format == ImageFormat.Netpbm) return new ImageReadResult(Netpbm.Read(bytes, options), []);
        var notes = new List<string>();
        if (format == ImageFormat.Png) CheckPng(Png.Read(bytes, wholeFile: true), options, notes);
        if (format == ImageFormat.Jpeg) CheckJpeg(Jpeg.Read(bytes), options, notes);
        var image = SkiaImages.Decode(bytes, format, options, notes);
        return new ImageReadResult(image, notes);
    }

    private static void CheckPng(Png png, ImageReadOptions options, List<string>? notes = null)
    {
        if (png.BitDepth == 16)
            throw new ImageFileException($"16-bit PNG ({png.Describe()}) cannot be stored exactly: L3 holds 8 bits a channel");
        ImageLimits.CheckDeclaredSize("PNG", png.Width, png.Height, options);
        if (notes is null) return; // only the header was read so far
        ImageLimits.CheckPngData(png.Width, png.Height, png.MinimumRawBytes, png.ImageDataBytes);
        if (png.AnimationFrames > 1)
        {
            if (!options.FirstFrame)
                throw new ImageFileException($"animated PNG of {png.AnimationFrames} frames: L3 stores one image; --first-frame keeps the first");
            notes.Add($"animated PNG: kept its default image, the first of {png.AnimationFrames} frames");
        }
    }

    private static void CheckJpeg(Jpeg? jpeg, ImageReadOptions options, List<string> notes)
    {
        if (jpeg is not { } frame) return; // no frame header: the decoder says what is wrong
        if (frame.Precision != 8)
            throw new ImageFileException($"{frame.Precision}-bit JPEG cannot be stored exactly: L3 holds 8 bits a channel");
        if (frame.Width > 0 && frame.Height > 0) ImageLimits.CheckDeclaredSize("JPEG", frame.Width, frame.Height, options);
        if (frame.IsCmyk)
        {
            if (!options.ConvertCmyk)
                throw new ImageFileException($"{frame.ColourModel} JPEG cannot be stored exactly: L3 holds gray, RGB or RGBA; --convert-cmyk converts it to RGB");
            notes.Add($"{frame.ColourModel} JPEG converted to RGB (the {frame.ColourModel} values are not kept)");
        }
    }

    /// <summary>Writes <paramref name="image"/> in the format of the path's extension (see <see cref="EncodeFor"/>).</summary>
    public static void Write(string path, L3Image image) => File.WriteAllBytes(path, EncodeFor(path, image));

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

    /// <summary>Encodes as PNG with zlib level <paramref name="level"/> (6 is the reference for sizes).</summary>
    public static unsafe byte[] EncodePng(L3Image image, int level = 6)
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
        fixed (byte* p = pixels)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)p);
            using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, level))
                ?? throw new ImageFileException("PNG encoding failed");
            return data.ToArray();
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
}
