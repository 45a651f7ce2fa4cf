using System.IO.Hashing;
using L3.Cpu;

namespace L3.Fuzz;

/// <summary>The targets on L3 files and the CPU codec.</summary>
internal static class L3Targets
{
    /// <summary>Images larger than this are validated but not decoded on every path (a valid file
    /// may legitimately decode to ~170 times its size; the fuzzer must stay fast).</summary>
    private const long MaxDecodedBytes = 4 << 20;

    public static void DecodeEverywhere(byte[] file)
    {
        L3Header header;
        try { header = L3Codec.ReadHeader(file); }
        catch (L3FormatException) { return; }

        var verify = Outcome.Of(() => { L3Codec.Verify(file); return []; });
        if (header.DecodedBytes > MaxDecodedBytes) return;

        Outcome? reference = null;
        foreach (var path in CpuPaths.Supported)
        {
            var outcome = Outcome.Of(() => L3Codec.Decode(file, new L3DecodeOptions { Path = path }).Pixels);
            reference ??= outcome;
            reference.MustEqual(outcome, $"{path} decode vs {CpuPaths.Supported[0]}");
        }
        reference!.MustEqual(Outcome.Of(() => L3Codec.Decode(file, new L3DecodeOptions { MaxDegreeOfParallelism = 2 }).Pixels),
            "patch-parallel decode vs one thread");
        if ((reference.Error is null) != (verify.Error is null) || reference.Error != verify.Error)
            throw new FuzzFinding($"Verify says \"{verify.Error ?? "ok"}\" but Decode \"{reference.Error ?? "ok"}\"");

        // what decodes must survive a round trip through the encoder
        if (reference.Pixels is { } pixels)
        {
            var again = L3Codec.Decode(L3Codec.Encode(pixels, header.Width, header.Height, header.Channels,
                new L3EncodeOptions { PatchSize = header.PatchSize }));
            if (!again.Pixels.AsSpan().SequenceEqual(pixels)) throw new FuzzFinding("re-encoding a decoded image is not lossless");
        }
    }

    public static void DecodeDense(byte[] file)
    {
        L3Header header;
        try { header = L3Codec.ReadHeader(file); }
        catch (L3FormatException) { return; }
        if (header.DecodedBytes > MaxDecodedBytes) return;

        var reference = Outcome.Of(() => L3Codec.Decode(file).Pixels);
        if (header.Mode == L3CodingMode.Dense)
        {
            var verify = Outcome.Of(() => { L3Codec.Verify(file); return []; });
            if ((reference.Error is null) != (verify.Error is null))
                throw new FuzzFinding($"Verify says \"{verify.Error ?? "ok"}\" but Decode \"{reference.Error ?? "ok"}\"");
            reference.MustEqual(Outcome.Of(() => L3Codec.Decode(file, new L3DecodeOptions { MaxDegreeOfParallelism = 2 }).Pixels),
                "patch-parallel dense decode vs one thread");
            var region = Outcome.Of(() => L3Codec.DecodeRegion(file, 0, 0, header.Width, header.Height, verifyChecksum: true).Pixels);
            if ((reference.Error is null) != (region.Error is null) || (reference.Pixels is { } p && !p.AsSpan().SequenceEqual(region.Pixels)))
                throw new FuzzFinding($"DecodeRegion(whole image) says \"{region.Error ?? "ok"}\" but Decode \"{reference.Error ?? "ok"}\"");
        }
        // whatever decodes re-encodes densely, losslessly
        if (reference.Pixels is { } pixels)
        {
            var dense = L3Codec.Encode(pixels, header.Width, header.Height, header.Channels,
                new L3EncodeOptions { PatchSize = header.PatchSize, Mode = L3CodingMode.Dense });
            if (!L3Codec.Decode(dense).Pixels.AsSpan().SequenceEqual(pixels)) throw new FuzzFinding("a dense re-encode is not lossless");
        }
    }

    public static void DecodeRegions(byte[] file)
    {
        L3Header header;
        try { header = L3Codec.ReadHeader(file); }
        catch (L3FormatException) { return; }
        if (header.DecodedBytes > MaxDecodedBytes) return;

        var whole = Outcome.Of(() => L3Codec.Decode(file).Pixels);
        // the whole image as a region, with the payload checksum, fails or succeeds as Decode does
        var full = Outcome.Of(() => L3Codec.DecodeRegion(file, 0, 0, header.Width, header.Height, verifyChecksum: true).Pixels);
        whole.MustEqual(full, "DecodeRegion(whole image, verifyChecksum) vs Decode");

        // a few rectangles chosen by the input's own hash, so each input tests the same ones each run
        ulong h = XxHash64.HashToUInt64(file);
        for (int i = 0; i < 3; i++, h = h * 6364136223846793005UL + 1442695040888963407UL)
        {
            int x = (int)((h >> 8) % (ulong)header.Width), y = (int)((h >> 28) % (ulong)header.Height);
            int w = 1 + (int)((h >> 40) % (ulong)(header.Width - x)), hgt = 1 + (int)((h >> 52) % (ulong)(header.Height - y));
            var region = Outcome.Of(() => L3Codec.DecodeRegion(file, x, y, w, hgt).Pixels);
            if (whole.Pixels is not { } pixels)
                continue; // a bad patch elsewhere may not concern this rectangle: it must only fail cleanly
            if (region.Pixels is not { } got)
                throw new FuzzFinding($"region {x},{y} {w}x{hgt} failed (\"{region.Error}\") on a file that decodes");
            int c = header.Channels;
            for (int row = 0; row < hgt; row++)
                if (!got.AsSpan(row * w * c, w * c).SequenceEqual(pixels.AsSpan(((y + row) * header.Width + x) * c, w * c)))
                    throw new FuzzFinding($"region {x},{y} {w}x{hgt} differs from the whole decode at row {row}");
        }
    }

    public static void EncodeEverywhere(byte[] input)
    {
        if (input.Length < 4) return;
        // 4 bytes of shape, then the pixels (repeated to fill the image)
        int n = 8 << (input[0] & 3);
        int channels = (input[0] >> 2 & 3) switch { 0 => 1, 1 => 3, _ => (input[0] >> 2 & 1) == 0 ? 4 : 3 };
        int width = 1 + (input[1] | (input[3] & 0x0F) << 8) % 300, height = 1 + (input[2] | (input[3] >> 4) << 8) % 200;
        var source = input.AsSpan(4);
        var pixels = new byte[width * height * channels];
        if (source.Length > 0)
            for (int at = 0; at < pixels.Length; at += source.Length)
                source[..Math.Min(source.Length, pixels.Length - at)].CopyTo(pixels.AsSpan(at));

        byte[]? reference = null;
        foreach (var path in CpuPaths.Supported)
        {
            var file = L3Codec.Encode(pixels, width, height, channels, new L3EncodeOptions { PatchSize = n, Path = path });
            reference ??= file;
            if (!file.AsSpan().SequenceEqual(reference)) throw new FuzzFinding($"the {path} encoder writes other bytes than the scalar one");
        }
        foreach (var path in CpuPaths.Supported)
            if (!L3Codec.Decode(reference!, new L3DecodeOptions { Path = path }).Pixels.AsSpan().SequenceEqual(pixels))
                throw new FuzzFinding($"round trip through the {path} decoder is not lossless");
    }
}

/// <summary>Either decoded pixels or the L3FormatException's message; any other exception escapes.</summary>
internal sealed record Outcome(byte[]? Pixels, string? Error)
{
    public static Outcome Of(Func<byte[]> run)
    {
        try { return new Outcome(run(), null); }
        catch (L3FormatException e) { return new Outcome(null, e.Message); }
    }

    public void MustEqual(Outcome other, string what)
    {
        if (Error != other.Error)
            throw new FuzzFinding($"{what}: \"{Error ?? "ok"}\" vs \"{other.Error ?? "ok"}\"");
        if (Pixels is not null && !Pixels.AsSpan().SequenceEqual(other.Pixels))
            throw new FuzzFinding($"{what}: the pixels differ");
    }
}

/// <summary>A disagreement between code paths: a crash for afl-fuzz.</summary>
internal sealed class FuzzFinding(string message) : Exception(message);
