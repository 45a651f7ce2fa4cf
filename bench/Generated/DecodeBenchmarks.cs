using BenchmarkDotNet.Attributes;
using L3.TestSupport;

namespace L3.Bench.Generated;

/// <summary>
/// The same L3Codec.Decode call on the same file, once with the registered profile (the library's
/// decoder instantiated with the profile's shape, as L3Codec dispatches a matching file) and once
/// with profiles turned off (the generic instantiation, AnyShape). Both make the same checks first.
/// </summary>
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    public static IEnumerable<string> Cases =>
    [
        "photo-astronaut.png/64", "photo-astronaut.png/16", "photo-coffee.png/64", "gray-aloe-depth.png/64",
        "gray-page.png/64", "render-altai-1080x1920.png/64", "rgba-kay-1080x1920.png/64",
    ];

    private static readonly L3DecodeOptions GenericOptions = new() { UseProfiles = false };

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    private byte[] _file = [];
    private byte[] _pixels = [];

    /// <summary>Bytes of the case's file (after <see cref="Setup"/>).</summary>
    public int FileBytes => _file.Length;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split('/');
        var image = TestData.Read(parts[0]);
        _file = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = int.Parse(parts[1]) });
        _pixels = new byte[image.Pixels.Length];
        string profile = L3Codec.DescribeDecoder(_file), generic = L3Codec.DescribeDecoder(_file, GenericOptions);
        if (!profile.StartsWith("profile ", StringComparison.Ordinal))
            throw new InvalidOperationException($"no profile matches {Case}: the benchmark would compare the generic path with itself");
        // both paths must be lossless before they are timed
        Generated();
        if (!_pixels.AsSpan().SequenceEqual(image.Pixels)) throw new InvalidOperationException("the profile is not lossless");
        Array.Clear(_pixels);
        Generic();
        if (!_pixels.AsSpan().SequenceEqual(image.Pixels)) throw new InvalidOperationException("the generic decoder is not lossless");
        Console.WriteLine($"// {Case}: {image.Width}x{image.Height}x{image.Channels}, file {_file.Length} bytes; {profile} vs {generic}");
    }

    /// <summary>The generic instantiation (AnyShape), on the widest SIMD path of the machine.</summary>
    [Benchmark(Baseline = true)]
    public L3Header Generic() => L3Codec.Decode(_file, _pixels, GenericOptions);

    /// <summary>What L3Codec.Decode runs on a file that matches a registered profile: the same
    /// decoder instantiated with the profile's shape, on the same SIMD path.</summary>
    [Benchmark]
    public L3Header Generated() => L3Codec.Decode(_file, _pixels);
}
