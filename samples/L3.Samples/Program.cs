using ILGPU;
using ILGPU.Runtime.CPU;
using L3;
using L3.Samples;

// A synthetic 2048 × 300 RGB image: smooth gradients with a little noise.
const int height = 300, channels = 3;
var random = new Random(42);
var pixels = new byte[L3Profile_N16.Width * height * channels];
for (int y = 0; y < height; y++)
    for (int x = 0; x < L3Profile_N16.Width; x++)
        for (int c = 0; c < channels; c++)
            pixels[(y * L3Profile_N16.Width + x) * channels + c] = (byte)(x / 8 + y / 2 + 40 * c + random.Next(4));

// Encode through the profile: an ordinary L3 file with N = 16.
byte[] file = L3Profile_N16.Encode(pixels, height, channels);
Console.WriteLine($"encoded {L3Profile_N16.Width}x{height}x{channels} with N = {L3Profile_N16.N}: {file.Length} bytes ({L3Profile_N16.PatchesX} patch columns)");

// Decode with the generated CPU decoder.
var decoded = new byte[pixels.Length];
L3Profile_N16.Decode(file, decoded);
Console.WriteLine($"generated CPU decoder: {(decoded.AsSpan().SequenceEqual(pixels) ? "lossless" : "MISMATCH")}");

// L3Codec.Decode dispatches to the registered profile for a matching file.
var header = L3Codec.ReadHeader(file);
Console.WriteLine($"L3Codec.Decode dispatches to: {L3Profiles.Find(header)?.Name ?? "(generic path)"}");
var viaCodec = L3Codec.Decode(file);
Console.WriteLine($"L3Codec.Decode: {(viaCodec.Pixels.AsSpan().SequenceEqual(pixels) ? "lossless" : "MISMATCH")}");

// The ILGPU kernel (pass --gpu), here on ILGPU's CPU accelerator emulating a CUDA device, which
// runs every thread of every group for real and is slow: a 20-row strip is enough to show it.
if (args.Contains("--gpu"))
{
    using var context = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia));
    using var accelerator = context.CreateCPUAccelerator(0);
    const int stripRows = 20;
    var strip = pixels.AsSpan(0, L3Profile_N16.Width * stripRows * channels);
    byte[] stripFile = L3Profile_N16.Encode(strip, stripRows, channels);
    var onDevice = new byte[strip.Length];
    L3Profile_N16.DecodeOnAccelerator(accelerator, stripFile, onDevice);
    Console.WriteLine($"generated ILGPU kernel on {accelerator.Name}: {(onDevice.AsSpan().SequenceEqual(strip) ? "lossless" : "MISMATCH")}");
}

// A file of another width goes through the generic path.
byte[] other = L3Codec.Encode(pixels.AsSpan(0, 1000 * 10 * 3), 1000, 10, 3);
Console.WriteLine($"a 1000-wide file dispatches to: {L3Profiles.Find(L3Codec.ReadHeader(other))?.Name ?? "(generic path)"}");
