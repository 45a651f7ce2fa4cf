namespace L3.Imaging;

/// <summary>What <see cref="ImageFiles.Read(string, ImageReadOptions?)"/> may do beyond reading
/// pixels exactly as stored. By default nothing is converted: an image that cannot be kept exactly
/// is refused with an <see cref="ImageFileException"/> that names the option to pass.</summary>
public sealed record ImageReadOptions
{
    public static ImageReadOptions Default { get; } = new();

    /// <summary>Of an animated image (GIF, WebP), keep the first frame instead of refusing it.</summary>
    public bool FirstFrame { get; init; }

    /// <summary>Convert a CMYK (or YCCK) JPEG to RGB instead of refusing it.</summary>
    public bool ConvertCmyk { get; init; }
}
