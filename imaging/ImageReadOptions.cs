using L3.Kernels;

namespace L3.Imaging;

/// <summary>What reading an image file may do beyond taking its pixels exactly as stored, and the
/// limits it checks before decoding. By default nothing is converted: an image that cannot be
/// kept exactly is refused with an <see cref="ImageFileException"/> that names the option to pass;
/// a conversion that is asked for happens and is reported in <see cref="ImageReadResult.Notes"/>.</summary>
public sealed record ImageReadOptions
{
    public static ImageReadOptions Default { get; } = new();

    /// <summary>Of an animated image (GIF, WebP, APNG), keep the first frame instead of refusing it.</summary>
    public bool FirstFrame { get; init; }

    /// <summary>Convert a CMYK (or YCCK) JPEG to RGB instead of refusing it.</summary>
    public bool ConvertCmyk { get; init; }

    /// <summary>What to do with an EXIF orientation other than top-left, which L3 cannot store.</summary>
    public OrientationHandling Orientation { get; init; } = OrientationHandling.Refuse;

    /// <summary>The most pixels an image may declare: the L3 format's limit unless lowered.</summary>
    public long MaxPixels { get; init; } = FileLayout.MaxPixels;

    /// <summary>The largest file read from a path (1.5 GiB unless changed: the largest image L3 can
    /// store, 2^28 RGBA pixels, as netpbm or as a PNG of stored blocks, with room for metadata).</summary>
    public long MaxFileBytes { get; init; } = 1536L << 20;

    /// <summary>For formats whose compression has no tight bound (JPEG, GIF, WebP, BMP, ICO): the
    /// most bytes of decoded pixels accepted per byte of file, before decoding. PNG is checked
    /// against deflate's own bound instead (see <see cref="ImageLimits"/>).</summary>
    public int MaxExpansion { get; init; } = ImageLimits.DefaultMaxExpansion;
}

/// <summary>An EXIF orientation other than top-left: the stored pixels are not the image as shown.</summary>
public enum OrientationHandling
{
    /// <summary>Refuse the image (the default): L3 has no orientation field.</summary>
    Refuse,
    /// <summary>Rotate or flip the pixels so that they are stored as the image is shown; reported.</summary>
    Apply,
    /// <summary>Keep the pixels as the file stores them and drop the orientation; reported.</summary>
    Ignore,
}

/// <summary>An image read from a file, with what was converted or dropped on the way (one line each;
/// empty when the pixels and everything L3 can keep are exactly the file's).</summary>
public sealed record ImageReadResult(L3Image Image, IReadOnlyList<string> Notes);
