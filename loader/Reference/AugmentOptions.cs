using L3.Kernels;

namespace L3.Loading;

/// <summary>How a sample's crop is chosen.</summary>
public enum CropMode
{
    /// <summary>torchvision's RandomResizedCrop: a random area fraction and aspect ratio, resized to the output.</summary>
    RandomResized,
    /// <summary>Validation: the centred crop of the output's aspect covering <see cref="AugmentOptions.CenterFraction"/>
    /// of the shorter fit (Resize(size / 0.875) + CenterCrop(size) in one step).</summary>
    Center,
    /// <summary>The whole image at its own size (every image of a batch must have the same size).</summary>
    Full,
}

/// <summary>The element type of the output tensor.</summary>
public enum OutputType { UInt8 = AugmentMath.UInt8, Float32 = AugmentMath.Float32, Float16 = AugmentMath.Float16, BFloat16 = AugmentMath.BFloat16 }

/// <summary>Where the channels go: NCHW (PyTorch's default) or NHWC (channels-last).</summary>
public enum TensorLayout { ChannelsFirst, ChannelsLast }

/// <summary>The output stage's settings: crop, flip, channels, normalization, type and layout.</summary>
public sealed record AugmentOptions
{
    public CropMode Crop { get; init; } = CropMode.RandomResized;
    /// <summary>Output width and height (ignored by <see cref="CropMode.Full"/>).</summary>
    public int Width { get; init; } = 224;
    public int Height { get; init; } = 224;
    /// <summary>RandomResizedCrop's area fraction range and aspect-ratio range (width / height).</summary>
    public double ScaleMin { get; init; } = 0.08;
    public double ScaleMax { get; init; } = 1.0;
    public double RatioMin { get; init; } = 3.0 / 4.0;
    public double RatioMax { get; init; } = 4.0 / 3.0;
    public double CenterFraction { get; init; } = 0.875;
    /// <summary>Flip horizontally with probability ½ (drawn per sample after the crop).</summary>
    public bool RandomFlip { get; init; } = true;
    /// <summary>Output channels: 1 (gray only), 3 (gray replicated; RGB; RGBA without alpha) or 4 (RGBA).</summary>
    public int Channels { get; init; } = 3;
    /// <summary>Per-channel mean and std on the [0, 1] scale (torchvision's convention); the default
    /// is ImageNet's. Not applied to <see cref="OutputType.UInt8"/>; float outputs without
    /// normalization use mean 0 and std 1 (values in [0, 1]).</summary>
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f, 0.5f];
    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f, 0.5f];
    public bool Normalize { get; init; } = true;
    public OutputType Type { get; init; } = OutputType.Float16;
    public TensorLayout Layout { get; init; } = TensorLayout.ChannelsFirst;

    public int ElementBytes => Type switch { OutputType.UInt8 => 1, OutputType.Float32 => 4, _ => 2 };

    /// <summary>Checks the settings; throws ArgumentException.</summary>
    public void Validate()
    {
        if (Channels is not (1 or 3 or 4)) throw new ArgumentException($"output channels {Channels}: expected 1, 3 or 4");
        if (Crop != CropMode.Full && (Width < 1 || Height < 1 || Width > 1 << 14 || Height > 1 << 14))
            throw new ArgumentException($"output size {Width}x{Height} is outside 1..16384");
        if (!(ScaleMin > 0 && ScaleMin <= ScaleMax && ScaleMax <= 1)) throw new ArgumentException($"scale ({ScaleMin}, {ScaleMax}): expected 0 < min ≤ max ≤ 1");
        if (!(RatioMin > 0 && RatioMin <= RatioMax)) throw new ArgumentException($"ratio ({RatioMin}, {RatioMax}): expected 0 < min ≤ max");
        if (!(CenterFraction > 0 && CenterFraction <= 1)) throw new ArgumentException($"centre fraction {CenterFraction}: expected (0, 1]");
        if (Normalize && (Mean.Length < Channels || Std.Length < Channels || Std.Take(Channels).Any(s => !(s > 0))))
            throw new ArgumentException($"mean and std need {Channels} values, std positive");
    }

    /// <summary>The output size for an image of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public (int Width, int Height) OutputSize(int width, int height) => Crop == CropMode.Full ? (width, height) : (Width, Height);

    /// <summary>Channel <paramref name="c"/>'s mean and scale as <see cref="AugmentMath.Normalize"/> takes
    /// them (255·mean and 1 / (255·std), rounded once to float), for the reference and the kernel alike.</summary>
    public (float Mean, float Scale) Normalization(int c) =>
        Normalize ? ((float)(255.0 * Mean[c]), (float)(1.0 / (255.0 * Std[c]))) : (0f, (float)(1.0 / 255.0));

    /// <summary>Whether a sample of <paramref name="sourceChannels"/> channels can give this output.</summary>
    public bool Accepts(int sourceChannels) => (sourceChannels, Channels) is (1, 1) or (1, 3) or (3, 3) or (4, 3) or (4, 4);
}
