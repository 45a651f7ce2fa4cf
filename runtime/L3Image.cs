namespace L3;

/// <summary>Decoded pixels: interleaved 8-bit channels (gray, RGB or RGBA), rows top to bottom,
/// no padding between rows.</summary>
public sealed class L3Image
{
    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public byte[] Pixels { get; }

    public int Stride => Width * Channels;

    public L3Image(int width, int height, int channels, byte[] pixels)
    {
        L3Header.ValidateShape(width, height, channels, 64);
        if (pixels.LongLength != (long)width * height * channels)
            throw new ArgumentException($"expected {(long)width * height * channels} bytes of pixels, got {pixels.LongLength}", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }
}
