using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
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

// Decode through the profile's entry point: L3Codec.Decode<L3Profile_N16.Shape>.
var decoded = new byte[pixels.Length];
L3Profile_N16.Decode(file, decoded);
Console.WriteLine($"L3Profile_N16.Decode: {(decoded.AsSpan().SequenceEqual(pixels) ? "lossless" : "MISMATCH")}");

// L3Codec.Decode dispatches a matching file to the registered profile: the library's decoder
// instantiated with the profile's shape; DescribeDecoder names the decoder it runs (here L3Profile_Train224:
// it fixes the channel count as well, so it is the most specific match for this RGB file).
var viaCodec = L3Codec.Decode(file);
Console.WriteLine($"L3Codec.Decode: {(viaCodec.Pixels.AsSpan().SequenceEqual(pixels) ? "lossless" : "MISMATCH")}");
Console.WriteLine($"decoded by: {L3Codec.DescribeDecoder(file)}");

// The profiles' ILGPU kernels (pass --gpu): on a CUDA GPU when there is one, the whole image and a
// 1080 × 1920 frame of the Portrait profile; else on ILGPU's CPU accelerator emulating a CUDA
// device, which runs every thread for real and is slow, so a 20-row strip is enough there.
if (args.Contains("--gpu"))
{
    using var context = Context.Create(b => b.Cuda().CPU(CPUDeviceKind.Nvidia));
    var device = context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.Cuda)
        ?? context.Devices.First(d => d.AcceleratorType == AcceleratorType.CPU);
    using var accelerator = device.CreateAccelerator(context);
    bool cuda = accelerator.AcceleratorType == AcceleratorType.Cuda;
    int rows = cuda ? height : 20;
    var strip = pixels.AsSpan(0, L3Profile_N16.Width * rows * channels);
    byte[] stripFile = L3Profile_N16.Encode(strip, rows, channels);
    var onDevice = new byte[strip.Length];
    L3Profile_N16.DecodeOnAccelerator(accelerator, stripFile, onDevice);
    Console.WriteLine($"profile kernel (GpuDecodeKernel.Decode<L3Profile_N16.Shape>) on {accelerator.Name}, {L3Profile_N16.Width}x{rows}: " +
        (onDevice.AsSpan().SequenceEqual(strip) ? "lossless" : "MISMATCH"));
    // The loader with the Train224 profile's output: its fused kernels decode and augment the batch.
    string folder = Path.Combine(Path.GetTempPath(), "l3-samples-" + Environment.ProcessId);
    Directory.CreateDirectory(folder);
    var paths = Enumerable.Range(0, 4).Select(i => Path.Combine(folder, $"{i}.l3")).ToList();
    foreach (var path in paths) File.WriteAllBytes(path, L3Profile_Train224.Encode(strip, rows, channels));
    using (var source = L3.Loading.SampleSource.FromFiles(paths, [0, 1, 0, 1]))
    using (var loader = new L3.Loading.L3Loader(source, new L3.Loading.LoaderOptions
    {
        Sampling = new L3.Loading.SamplerOptions { BatchSize = 4 }, Augment = L3Profile_Train224.AugmentOptions,
    }, accelerator: accelerator))
    using (var batch = loader.Next())
    {
        var registration = L3.Loading.LoaderProfiles.All.Single(p => p.Name == typeof(L3Profile_Train224).FullName);
        var host = batch.CopyToHost();
        bool exact = Enumerable.Range(0, batch.Count).All(k => batch.Entry(host, k).SequenceEqual(
            L3.Loading.AugmentReference.Apply(L3Codec.Decode(File.ReadAllBytes(paths[(int)batch.Samples[k]])), batch.Crops[k], L3Profile_Train224.AugmentOptions)));
        Console.WriteLine($"loader batch [{string.Join(", ", batch.Shape)}] {batch.Type} by the fused kernels of " +
            $"{(registration.Batches > 0 ? registration.Name : "the generic stage")}: {(exact ? "equal to the CPU reference" : "MISMATCH")}");
    }
    Directory.Delete(folder, true);
    if (cuda)
    {
        var frame = new byte[L3Profile_Portrait.Width * L3Profile_Portrait.Height * L3Profile_Portrait.Channels];
        for (int i = 0; i < frame.Length; i++) frame[i] = (byte)(i / 3 % 1080 / 5 + i / (3 * 1080) / 7 + random.Next(3));
        byte[] frameFile = L3Profile_Portrait.Encode(frame, L3Profile_Portrait.Height, L3Profile_Portrait.Channels);
        var frameOut = new byte[frame.Length];
        L3Profile_Portrait.DecodeOnAccelerator(accelerator, frameFile, frameOut);
        Console.WriteLine($"profile kernel (GpuDecodeKernel.Decode<L3Profile_Portrait.Shape>) on {accelerator.Name}, 1080x1920: " +
            (frameOut.AsSpan().SequenceEqual(frame) ? "lossless" : "MISMATCH"));
    }
}

// A file of another width goes through the generic instantiation.
byte[] other = L3Codec.Encode(pixels.AsSpan(0, 1000 * 10 * 3), 1000, 10, 3);
var otherDecoded = L3Codec.Decode(other);
Console.WriteLine($"a 1000-wide file: {(otherDecoded.Pixels.AsSpan().SequenceEqual(pixels.AsSpan(0, 1000 * 10 * 3)) ? "lossless" : "MISMATCH")}");
Console.WriteLine($"decoded by: {L3Codec.DescribeDecoder(other)}");
