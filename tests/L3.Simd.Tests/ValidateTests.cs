using L3.Kernels;
using L3.TestSupport;

namespace L3.Simd.Tests;

/// <summary>
/// PatchFormat.Validate (word-at-a-time) against a byte-at-a-time statement of the same rules:
/// on patches with random bytes changed, both accept or both reject with the same message and offset.
/// </summary>
public class ValidateTests
{
    /// <summary>The rules one byte at a time (main's reference loop): an independent statement
    /// of section 2's checks, kept on purpose as the oracle the fast validation is compared with.</summary>
    private static void Reference(ReadOnlySpan<byte> patch, int width, int height, int channels, long fileOffset)
    {
        if (patch.Length < 1) throw new L3FormatException("patch is empty", fileOffset);
        int flags = patch[0];
        if ((flags & ~PatchLayout.ColorTransformFlag) != 0 || (flags != 0 && channels < 3))
            throw new L3FormatException($"patch flags 0x{flags:X2} are not valid for {channels} channel(s)", fileOffset);
        int groups = RowCoding.GroupsPerRow(width), maskBytes = RowCoding.ZeroMaskBytes(height);
        int predictorBytes = RowCoding.PredictorBytes(height);
        int at = 1;
        for (int c = 0; c < channels; c++)
        {
            if (patch.Length - at < maskBytes + predictorBytes)
                throw new L3FormatException($"patch ends inside the header of channel {c}", fileOffset + patch.Length);
            int codedRows = height;
            for (int i = 0; i < maskBytes; i++) codedRows -= System.Numerics.BitOperations.PopCount(patch[at + i]);
            if ((height & 7) != 0 && (patch[at + maskBytes - 1] >> (height & 7)) != 0)
                throw new L3FormatException($"channel {c}: padding bits of the zero-row mask are not zero", fileOffset + at + maskBytes - 1);
            at += maskBytes;
            if ((height & 3) != 0 && (patch[at + predictorBytes - 1] >> ((height & 3) * 2)) != 0)
                throw new L3FormatException($"channel {c}: padding bits of the predictor array are not zero", fileOffset + at + predictorBytes - 1);
            at += predictorBytes;
            int nibbles = codedRows * groups, widthBytes = RowCoding.WidthBytes(codedRows, groups);
            if (patch.Length - at < widthBytes)
                throw new L3FormatException($"patch ends inside the width array of channel {c}", fileOffset + patch.Length);
            int payload = 0;
            for (int i = 0; i < widthBytes; i++)
            {
                int b = patch[at + i], lo = b & 0xF, hi = b >> 4;
                if (lo > 8 || hi > 8)
                    throw new L3FormatException($"channel {c}: group width {Math.Max(lo, hi)} is larger than 8", fileOffset + at + i);
                if (2 * i + 1 == nibbles && hi != 0)
                    throw new L3FormatException($"channel {c}: the width array's padding nibble is not zero", fileOffset + at + i);
                payload += lo + hi;
            }
            at += widthBytes;
            if (patch.Length - at < payload)
                throw new L3FormatException($"channel {c}: its groups need {payload} bytes but the patch has {patch.Length - at} left", fileOffset + patch.Length);
            at += payload;
        }
        if (at != patch.Length)
            throw new L3FormatException($"patch is {patch.Length} bytes but its channels take {at}", fileOffset + at);
    }

    private static string? Outcome(Action validate)
    {
        try { validate(); return null; }
        catch (L3FormatException e) { return $"{e.Message} @{e.Offset}"; }
    }

    [Fact]
    public void SameOutcomesAsTheByteLoop()
    {
        var rng = new Random(11);
        int rejected = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            int channels = new[] { 1, 3, 4 }[rng.Next(3)];
            int w = rng.Next(1, 65), h = rng.Next(1, 65);
            var pixels = SyntheticImages.Make(SyntheticImages.AnyPattern(rng), w, h, channels, trial);
            var file = L3Codec.Encode(pixels, w, h, channels, new L3EncodeOptions { PatchSize = 64 });
            var header = L3Codec.ReadHeader(file);
            var patch = file.AsSpan(header.PayloadStart).ToArray();
            int changes = rng.Next(4);
            for (int i = 0; i < changes; i++)
            {
                int at = rng.Next(patch.Length);
                patch[at] = rng.Next(3) switch { 0 => (byte)rng.Next(256), 1 => (byte)(patch[at] ^ (1 << rng.Next(8))), _ => (byte)(patch[at] | 0x90) };
            }
            if (rng.Next(4) == 0) Array.Resize(ref patch, Math.Max(0, patch.Length + rng.Next(-9, 10)));
            long offset = rng.Next(1000);
            var expected = Outcome(() => Reference(patch, w, h, channels, offset));
            var actual = Outcome(() => PatchFormat.Validate(patch, w, h, channels, offset));
            Assert.Equal(expected, actual);
            if (expected is not null) rejected++;
        }
        Assert.True(rejected > 500, $"only {rejected} rejected");
    }
}
