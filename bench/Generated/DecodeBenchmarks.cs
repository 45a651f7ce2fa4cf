using BenchmarkDotNet.Attributes;
using L3.TestSupport;

namespace L3.Bench.Generated;

/// <summary>
/// The same L3Codec.Decode call on the same file, once forced onto the generic path and once
/// dispatched to the generated profile; and, to split the figures, the validation alone (header,
/// payload checksum, every patch) that both paths share.
/// </summary>
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    public static IEnumerable<string> Cases =>
    [
        "photo-astronaut.png/64", "photo-astronaut.png/16", "photo-coffee.png/64", "gray-aloe-depth.png/64",
        "gray-page.png/64", "render-altai-1080x1920.png/64", "rgba-kay-1080x1920.png/64",
    ];

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    private byte[] _file = [];
    private byte[] _pixels = [];

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split('/');
        var image = TestData.Read(parts[0]);
        _file = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = int.Parse(parts[1]) });
        _pixels = new byte[image.Pixels.Length];
        var header = L3Codec.ReadHeader(_file);
        if (L3Profiles.Find(header) is null)
            throw new InvalidOperationException($"no profile matches {Case}: the benchmark would compare the generic path with itself");
        // both paths must be lossless before they are timed
        Generated();
        if (!_pixels.AsSpan().SequenceEqual(image.Pixels)) throw new InvalidOperationException("generated decoder is not lossless");
        Array.Clear(_pixels);
        Generic();
        if (!_pixels.AsSpan().SequenceEqual(image.Pixels)) throw new InvalidOperationException("generic decoder is not lossless");
        Console.WriteLine($"// {Case}: {image.Width}x{image.Height}x{image.Channels}, file {_file.Length} bytes, profile {L3Profiles.Find(header)!.Name}");
    }

    /// <summary>The generic path: SIMD where the CPU has vectors.</summary>
    [Benchmark(Baseline = true)]
    public L3Header Generic()
    {
        using var _ = L3Profiles.UseGenericPath();
        return L3Codec.Decode(_file, _pixels);
    }

    /// <summary>The profile's generated decoder, after the same checks L3Codec makes (called
    /// directly: L3Codec itself prefers the generic SIMD path on a CPU with vectors).</summary>
    [Benchmark]
    public L3Header Generated()
    {
        var header = CheckFile();
        L3Profiles.Find(header)!.Decode(_file, header, _pixels);
        return header;
    }

    [Benchmark]
    public int ValidateOnly() => CheckFile().PatchCount;

    /// <summary>The checks every decode makes first: header, payload checksum, every patch.</summary>
    private L3Header CheckFile()
    {
        var header = L3Header.Read(_file);
        header.VerifyPayload(_file);
        for (int i = 0; i < header.PatchCount; i++)
        {
            var (_, _, width, height) = header.PatchRect(i);
            var (start, length) = header.PatchRange(i);
            PatchFormat.Validate(_file.AsSpan(header.PayloadStart + start, length), width, height, header.Channels, header.PayloadStart + start);
        }
        return header;
    }
}
