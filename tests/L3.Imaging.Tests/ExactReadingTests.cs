using L3.TestSupport;
using SkiaSharp;

namespace L3.Imaging.Tests;

/// <summary>What cannot be stored exactly is refused with one line; a conversion happens only when
/// asked for and is then reported; dropped metadata is reported.</summary>
public class ExactReadingTests
{
    private static ImageFileException Refused(byte[] file, ImageReadOptions? options = null) =>
        Assert.Throws<ImageFileException>(() => ImageFiles.Read(file, options));

    [Theory]
    [InlineData(0, 1)] // gray
    [InlineData(2, 3)] // RGB
    [InlineData(4, 2)] // gray + alpha
    [InlineData(6, 4)] // RGBA
    public void Sixteen_bit_PNGs_are_refused_and_their_eight_bit_twins_read_exactly(int colorType, int samples)
    {
        var eight = Enumerable.Range(0, 3 * 2 * samples).Select(i => (byte)(i * 37 + 5)).ToArray();
        var read = ImageFiles.ReadWithNotes(CraftedFiles.Png(3, 2, colorType, 8, eight));
        Assert.Empty(read.Notes);
        int channels = samples switch { 1 => 1, 3 => 3, _ => 4 };
        Assert.Equal((3, 2, channels), (read.Image.Width, read.Image.Height, read.Image.Channels));
        if (samples != 2) Assert.Equal(eight, read.Image.Pixels); // gray + alpha becomes RGBA, exactly

        // the same samples as 16 bits (high byte = the 8-bit value, low byte not zero): not storable
        var sixteen = eight.SelectMany(v => new[] { v, (byte)(v ^ 0x5A) }).ToArray();
        var error = Refused(CraftedFiles.Png(3, 2, colorType, 16, sixteen));
        Assert.Contains("16-bit PNG", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_CMYK_JPEG_is_refused_unless_conversion_is_asked_for_and_then_reported()
    {
        var jpeg = CraftedFiles.CmykJpeg();
        var error = Refused(jpeg);
        Assert.Contains("CMYK JPEG", error.Message);
        Assert.Contains("--convert-cmyk", error.Message);

        var read = ImageFiles.ReadWithNotes(jpeg, new ImageReadOptions { ConvertCmyk = true });
        Assert.Equal((8, 8, 3), (read.Image.Width, read.Image.Height, read.Image.Channels));
        Assert.Contains(read.Notes, n => n.Contains("CMYK JPEG converted to RGB"));
    }

    [Fact]
    public void A_YCCK_JPEG_is_named_as_such()
    {
        var jpeg = CraftedFiles.CmykJpeg();
        int transform = jpeg.AsSpan().IndexOf("Adobe"u8) + 11;
        jpeg[transform] = 2;
        Assert.Contains("YCCK JPEG", Refused(jpeg).Message);
    }

    [Fact]
    public void An_animated_GIF_is_refused_unless_the_first_frame_is_asked_for_and_then_reported()
    {
        var still = ImageFiles.ReadWithNotes(CraftedFiles.Gif(frames: 1));
        Assert.Empty(still.Notes);
        Assert.Equal(new byte[] { 10, 20, 30 }, still.Image.Pixels);

        var animated = CraftedFiles.Gif(frames: 3);
        var error = Refused(animated);
        Assert.Contains("animated GIF of 3 frames", error.Message);
        Assert.Contains("--first-frame", error.Message);

        var first = ImageFiles.ReadWithNotes(animated, new ImageReadOptions { FirstFrame = true });
        Assert.Equal(new byte[] { 10, 20, 30 }, first.Image.Pixels);
        Assert.Contains(first.Notes, n => n.Contains("first of 3 frames"));
    }

    [Fact]
    public void An_animated_PNG_is_refused_unless_the_first_frame_is_asked_for()
    {
        var pixels = new byte[] { 1, 2, 3, 4, 5, 6 };
        byte[] animationControl = [0, 0, 0, 2, 0, 0, 0, 0]; // acTL: 2 frames, loop forever
        var apng = CraftedFiles.Png(2, 1, 2, 8, pixels, ("acTL", animationControl));
        Assert.Contains("animated PNG of 2 frames", Refused(apng).Message);
        var first = ImageFiles.ReadWithNotes(apng, new ImageReadOptions { FirstFrame = true });
        Assert.Equal(pixels, first.Image.Pixels);
        Assert.Single(first.Notes);
    }

    /// <summary>A JPEG of a 16×8 RGB image with an EXIF orientation "turn 90° clockwise to show" (6).</summary>
    private static byte[] TurnedJpeg(out byte[] stored)
    {
        stored = SyntheticImages.Make(Pattern.Gradient, 16, 8, 3, seed: 1);
        var rgba = new byte[16 * 8 * 4];
        for (int i = 0, j = 0; i < stored.Length; i += 3, j += 4) { stored.AsSpan(i, 3).CopyTo(rgba.AsSpan(j)); rgba[j + 3] = 255; }
        var info = new SKImageInfo(16, 8, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 100);
        return CraftedFiles.WithExifOrientation(data.ToArray(), orientation: 6);
    }

    [Fact]
    public void An_EXIF_orientation_is_refused_unless_applied_or_ignored_and_either_is_reported()
    {
        var jpeg = TurnedJpeg(out _);
        var error = Refused(jpeg);
        Assert.Contains("EXIF orientation RightTop", error.Message);
        Assert.Contains("--apply-orientation", error.Message);

        var kept = ImageFiles.ReadWithNotes(jpeg, new ImageReadOptions { Orientation = OrientationHandling.Ignore });
        Assert.Equal((16, 8), (kept.Image.Width, kept.Image.Height));
        Assert.Contains(kept.Notes, n => n.Contains("dropped"));

        var shown = ImageFiles.ReadWithNotes(jpeg, new ImageReadOptions { Orientation = OrientationHandling.Apply });
        Assert.Equal((8, 16), (shown.Image.Width, shown.Image.Height));
        Assert.Contains(shown.Notes, n => n.Contains("applied"));
        Assert.Equal(Orientation.Apply(kept.Image, SKEncodedOrigin.RightTop).Pixels, shown.Image.Pixels);
    }

    [Theory]
    [InlineData(SKEncodedOrigin.TopLeft, 3, "abc" + "def")]
    [InlineData(SKEncodedOrigin.TopRight, 3, "cba" + "fed")]
    [InlineData(SKEncodedOrigin.BottomRight, 3, "fed" + "cba")]
    [InlineData(SKEncodedOrigin.BottomLeft, 3, "def" + "abc")]
    [InlineData(SKEncodedOrigin.LeftTop, 2, "ad" + "be" + "cf")]
    [InlineData(SKEncodedOrigin.RightTop, 2, "da" + "eb" + "fc")]
    [InlineData(SKEncodedOrigin.RightBottom, 2, "fc" + "eb" + "da")]
    [InlineData(SKEncodedOrigin.LeftBottom, 2, "cf" + "be" + "ad")]
    public void Each_EXIF_orientation_shows_the_stored_pixels_as_the_tag_says(SKEncodedOrigin origin, int shownWidth, string shown)
    {
        // stored:  a b c    (TIFF tag 274: where the stored first row and column lie when shown)
        //          d e f
        var stored = new L3Image(3, 2, 1, "abcdef"u8.ToArray());
        var result = Orientation.Apply(stored, origin);
        Assert.Equal((shownWidth, 6 / shownWidth), (result.Width, result.Height));
        Assert.Equal(shown, System.Text.Encoding.ASCII.GetString(result.Pixels));
    }

    [Fact]
    public void A_colour_profile_that_is_dropped_is_reported_and_the_pixels_are_kept()
    {
        var pixels = SyntheticImages.Make(Pattern.Noise, 5, 4, 4, seed: 2);
        byte[] Encode(SKColorSpace space)
        {
            var info = new SKImageInfo(5, 4, SKColorType.Rgba8888, SKAlphaType.Unpremul, space);
            using var bitmap = new SKBitmap(info);
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            return data.ToArray();
        }
        var srgb = ImageFiles.ReadWithNotes(Encode(SKColorSpace.CreateSrgb()));
        Assert.Empty(srgb.Notes);
        Assert.Equal(pixels, srgb.Image.Pixels);

        var p3 = ImageFiles.ReadWithNotes(Encode(SKColorSpace.CreateRgb(SKColorSpaceTransferFn.Srgb, SKColorSpaceXyz.DisplayP3)));
        Assert.Contains(p3.Notes, n => n.Contains("colour profile"));
        Assert.Equal(pixels, p3.Image.Pixels);
    }

    [Theory]
    [InlineData("P2\n1 1\n255\n0\n", "P2 (plain or bitmap)")]
    [InlineData("P5\n1 1\n65535\n\0\0", "maxval 65535")]
    [InlineData("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 65535\nENDHDR\n", "maxval 65535")]
    [InlineData("\0\0\0\0 not an image", "not a readable image")]
    public void Netpbm_it_cannot_store_and_unknown_files_are_refused(string file, string reason)
    {
        Assert.Contains(reason, Refused(System.Text.Encoding.ASCII.GetBytes(file)).Message);
    }

    [Fact]
    public void The_real_images_read_without_notes()
    {
        foreach (string path in TestData.Images)
            Assert.Empty(ImageFiles.ReadWithNotes(path).Notes);
    }
}
