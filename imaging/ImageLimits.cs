using L3.Kernels;

namespace L3.Imaging;

/// <summary>The checks made on an image's declared size before any pixel buffer is allocated: the
/// L3 format's limits, and what a file of its length can hold at all. A truncated or hostile file
/// that declares a huge image is refused at the cost of reading its header.</summary>
public static class ImageLimits
{
    /// <summary>Deflate's largest expansion: a stream of n bytes inflates to at most about 1032·n
    /// bytes (a 258-byte match coded in 2 bits at best, RFC 1951), so a PNG's image data (IDAT) of
    /// n bytes holds at most this many times n bytes of filtered pixel rows.</summary>
    public const int DeflateMaxExpansion = 1032;

    /// <summary>The default of <see cref="ImageReadOptions.MaxExpansion"/> for formats without such a
    /// bound: above GIF's LZW best case (about 11,000 bytes of RGBA per byte) and far above baseline
    /// JPEG's (under 1,000); progressive JPEG, WebP and BMP run lengths can exceed it in principle.</summary>
    public const int DefaultMaxExpansion = 16384;

    /// <summary>Decoded images up to this size are accepted from files of any length (a solid colour
    /// compresses to almost nothing): the allocation is bounded by this instead.</summary>
    public const long SmallImageBytes = 16L << 20;

    /// <summary>Refuses a declared size outside L3's limits (or the caller's <see cref="ImageReadOptions.MaxPixels"/>).</summary>
    public static void CheckDeclaredSize(string format, long width, long height, ImageReadOptions options)
    {
        if (width < 1 || height < 1 || width > FileLayout.MaxDimension || height > FileLayout.MaxDimension)
            throw new ImageFileException($"{format} declares {width}x{height} pixels, outside 1..{FileLayout.MaxDimension} a side");
        long limit = Math.Min(options.MaxPixels, FileLayout.MaxPixels);
        if (width * height > limit)
            throw new ImageFileException($"{format} declares {width}x{height} = {width * height:N0} pixels, above the limit of {limit:N0}");
    }

    /// <summary>Refuses a PNG whose image data (<paramref name="idatBytes"/>, the IDAT chunks' total)
    /// cannot inflate to the <paramref name="minimumRawBytes"/> its header needs.</summary>
    public static void CheckPngData(long width, long height, long minimumRawBytes, long idatBytes)
    {
        if (minimumRawBytes > DeflateMaxExpansion * idatBytes + DeflateMaxExpansion)
            throw new ImageFileException(
                $"PNG declares {width}x{height} pixels ({minimumRawBytes:N0} bytes) but its {idatBytes:N0} bytes of image data " +
                $"inflate to at most {DeflateMaxExpansion * idatBytes + DeflateMaxExpansion:N0}: it is truncated or corrupt");
    }

    /// <summary>Refuses an image whose decoded size is out of proportion with its file's length.</summary>
    public static void CheckExpansion(string format, long width, long height, long decodedBytes, long fileBytes, ImageReadOptions options)
    {
        long allowed = Math.Max(SmallImageBytes, fileBytes * options.MaxExpansion);
        if (decodedBytes > allowed)
            throw new ImageFileException(
                $"{format} declares {width}x{height} pixels ({decodedBytes:N0} bytes) in a file of {fileBytes:N0} bytes, " +
                $"more than {options.MaxExpansion:N0} bytes a byte: it is truncated or corrupt (ImageReadOptions.MaxExpansion)");
    }
}
