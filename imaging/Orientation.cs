using SkiaSharp;

namespace L3.Imaging;

/// <summary>Turns stored pixels into the image as shown, for each EXIF orientation (TIFF tag 274:
/// where the stored first row and first column lie in the shown image).</summary>
internal static class Orientation
{
    public static L3Image Apply(L3Image image, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft) return image;
        int w = image.Width, h = image.Height, c = image.Channels;
        bool transposed = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int shownWidth = transposed ? h : w, shownHeight = transposed ? w : h;
        var shown = new byte[image.Pixels.LongLength];
        for (int y = 0; y < shownHeight; y++)
            for (int x = 0; x < shownWidth; x++)
            {
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),                              // mirrored left-right
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),                   // turned 180°
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),                            // mirrored top-bottom
                    SKEncodedOrigin.LeftTop => (y, x),                                       // transposed
                    SKEncodedOrigin.RightTop => (y, shownWidth - 1 - x),                     // turned 90° clockwise to show
                    SKEncodedOrigin.RightBottom => (shownHeight - 1 - y, shownWidth - 1 - x), // transverse
                    SKEncodedOrigin.LeftBottom => (shownHeight - 1 - y, x),                  // turned 90° anticlockwise to show
                    _ => throw new ImageFileException($"EXIF orientation {(int)origin} is not one of 1..8"),
                };
                Array.Copy(image.Pixels, ((long)sy * w + sx) * c, shown, ((long)y * shownWidth + x) * c, c);
            }
        return new L3Image(shownWidth, shownHeight, c, shown);
    }
}
