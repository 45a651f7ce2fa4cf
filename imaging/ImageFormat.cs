namespace L3.Imaging;

/// <summary>The formats read, told apart by their first bytes before anything else is read.</summary>
internal enum ImageFormat { Png, Jpeg, Gif, Bmp, WebP, Ico, Netpbm }

internal static class ImageFormats
{
    /// <summary>How many leading bytes <see cref="Identify"/> looks at.</summary>
    public const int SignatureBytes = 16;

    public static ImageFormat Identify(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith(Png.Signature)) return ImageFormat.Png;
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return ImageFormat.Jpeg;
        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8)) return ImageFormat.Gif;
        if (head.StartsWith("BM"u8)) return ImageFormat.Bmp;
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)) return ImageFormat.WebP;
        if (head.StartsWith((ReadOnlySpan<byte>)[0, 0, 1, 0])) return ImageFormat.Ico;
        if (head.Length >= 2 && head[0] == (byte)'P')
        {
            if (head[1] is (byte)'5' or (byte)'6' or (byte)'7') return ImageFormat.Netpbm;
            if (head[1] is >= (byte)'1' and <= (byte)'4')
                throw new ImageFileException($"netpbm P{(char)head[1]} (plain or bitmap) is not supported: P5, P6 and P7 only");
        }
        throw new ImageFileException("not a readable image (PNG, JPEG, BMP, GIF, WebP, ICO or netpbm P5/P6/P7 expected)");
    }

    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.WebP => "WebP",
        _ => format.ToString().ToUpperInvariant(),
    };
}
