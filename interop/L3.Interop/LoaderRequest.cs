using System.Text.Json;
using System.Text.Json.Serialization;
using L3.Loading;

namespace L3.Interop;

/// <summary>
/// A loader's settings as the Python package sends them (JSON, snake_case): the sample source and
/// the <see cref="LoaderOptions"/> in PyTorch's words. Absent fields keep the loader's defaults.
/// </summary>
public sealed record LoaderRequest
{
    /// <summary>A dataset folder, a folder of .l3 files, a list file, or one .l3 file.</summary>
    public string Source { get; init; } = "";
    public int BatchSize { get; init; } = 64;
    public int Width { get; init; } = 224;
    public int Height { get; init; } = 224;
    /// <summary>"random_resized", "center" or "full".</summary>
    public string Crop { get; init; } = "random_resized";
    public double[]? Scale { get; init; }
    public double[]? Ratio { get; init; }
    public bool Flip { get; init; } = true;
    public int Channels { get; init; } = 3;
    /// <summary>"float16", "bfloat16", "float32" or "uint8".</summary>
    public string Dtype { get; init; } = "float16";
    /// <summary>"nchw" or "nhwc" (channels last).</summary>
    public string Layout { get; init; } = "nchw";
    public bool Normalize { get; init; } = true;
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
    public bool Shuffle { get; init; } = true;
    public ulong Seed { get; init; }
    /// <summary>"pad", "drop" or "partial".</summary>
    public string LastBatch { get; init; } = "pad";
    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;
    public int? Readers { get; init; }
    public int? Prefetch { get; init; }
    public bool VerifyChecksums { get; init; }
    public bool ForceCpu { get; init; }
    /// <summary>The CUDA device (ordinal, as torch's cuda:N) the loader decodes on; null: the first.
    /// Ignored with <see cref="ForceCpu"/>.</summary>
    public int? CudaDevice { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    public static LoaderRequest Parse(string json) =>
        JsonSerializer.Deserialize<LoaderRequest>(json, Json) ?? throw new ArgumentException("empty loader settings");

    public LoaderOptions ToOptions()
    {
        var defaults = new LoaderOptions();
        var augment = new AugmentOptions
        {
            Crop = Crop switch
            {
                "random_resized" => CropMode.RandomResized,
                "center" => CropMode.Center,
                "full" => CropMode.Full,
                _ => throw new ArgumentException($"crop '{Crop}': expected random_resized, center or full"),
            },
            Width = Width,
            Height = Height,
            RandomFlip = Flip,
            Channels = Channels,
            Type = Dtype switch
            {
                "float16" => OutputType.Float16,
                "bfloat16" => OutputType.BFloat16,
                "float32" => OutputType.Float32,
                "uint8" => OutputType.UInt8,
                _ => throw new ArgumentException($"dtype '{Dtype}': expected float16, bfloat16, float32 or uint8"),
            },
            Layout = Layout switch
            {
                "nchw" => TensorLayout.ChannelsFirst,
                "nhwc" => TensorLayout.ChannelsLast,
                _ => throw new ArgumentException($"layout '{Layout}': expected nchw or nhwc"),
            },
            Normalize = Normalize,
        };
        if (Mean is not null) augment = augment with { Mean = Mean };
        if (Std is not null) augment = augment with { Std = Std };
        if (Scale is not null)
            augment = Scale.Length == 2 ? augment with { ScaleMin = Scale[0], ScaleMax = Scale[1] } : throw new ArgumentException("scale: expected (min, max)");
        if (Ratio is not null)
            augment = Ratio.Length == 2 ? augment with { RatioMin = Ratio[0], RatioMax = Ratio[1] } : throw new ArgumentException("ratio: expected (min, max)");
        return new LoaderOptions
        {
            Sampling = new SamplerOptions
            {
                BatchSize = BatchSize,
                Seed = Seed,
                Shuffle = Shuffle,
                Rank = Rank,
                WorldSize = WorldSize,
                LastBatch = LastBatch switch
                {
                    "pad" => LastBatchPolicy.Pad,
                    "drop" => LastBatchPolicy.Drop,
                    "partial" => LastBatchPolicy.Partial,
                    _ => throw new ArgumentException($"last_batch '{LastBatch}': expected pad, drop or partial"),
                },
            },
            Augment = augment,
            Readers = Readers ?? defaults.Readers,
            PrefetchDepth = Prefetch ?? defaults.PrefetchDepth,
            VerifyChecksums = VerifyChecksums,
            ForceCpu = ForceCpu,
        };
    }
}
