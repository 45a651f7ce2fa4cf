using ILGPU;
using ILGPU.Runtime;
using L3;
using L3.Gpu;
using L3.Kernels;

namespace L3.GpuBench;

/// <summary>The bench's images as profiles: 2048 × 1024 RGB in 64 × 64 patches (and the small
/// images of L3_BENCH_SMALL=1), every fact fixed.</summary>
[L3Profile(N = 64, Width = 2048, Height = 1024, Channels = 3)]
public static partial class Bench2048x1024 { }

[L3Profile(N = 64, Width = 136, Height = 72, Channels = 3)]
public static partial class Bench136x72 { }

/// <summary>
/// The decode kernel instantiated with a profile's shape against the generic instantiation
/// (AnyShape), on the same uploaded batch: both outputs checked bit-exact against the original
/// pixels first, then the two launches timed alternately (so that clock drift falls on both).
/// </summary>
internal static class ProfileKernelBench
{
    public static (string Row, bool Exact) Run<TShape>(L3GpuCodec codec, IReadOnlyList<L3Image> raws, IReadOnlyList<byte[]> files,
        int batchSize, bool small) where TShape : struct, IPatchShape
    {
        var list = Enumerable.Range(0, batchSize).Select(i => (ReadOnlyMemory<byte>)files[i % files.Count]).ToList();
        using var batch = codec.Prepare(list);
        codec.UploadAndWait(batch);
        long imageBytes = raws[0].Pixels.Length;
        var host = new byte[batch.OutputBytes];
        bool exact = true;
        foreach (bool profile in new[] { false, true })
        {
            codec.Output(0).SubView(0, batch.OutputBytes).MemSet(codec.ComputeStream, 0xA5);
            Launch(profile);
            codec.ComputeStream.Synchronize();
            codec.Output(0).SubView(0, batch.OutputBytes).CopyToCPU(ref host[0], batch.OutputBytes);
            for (int i = 0; i < batchSize; i++)
                exact &= host.AsSpan((int)batch.Images[i].OutputOffset, (int)imageBytes).SequenceEqual(raws[i % raws.Count].Pixels);
        }
        var generic = new List<double>();
        var specialized = new List<double>();
        int reps = small ? 2 : Math.Clamp(4096 / batchSize, 20, 400);
        for (int i = 0; i < reps; i++)
            foreach (bool profile in new[] { i % 2 == 0, i % 2 != 0 })
            {
                using var m0 = codec.ComputeStream.AddProfilingMarker();
                Launch(profile);
                using var m1 = codec.ComputeStream.AddProfilingMarker();
                (profile ? specialized : generic).Add((m1 - m0).TotalSeconds);
            }
        double g = Median(generic), p = Median(specialized);
        double raw = imageBytes * batchSize;
        string row = $"profile {batchSize,4}  generic {g * 1e3,8:F3} ms {raw / g / 1e9,6:F0} GB/s  profile {typeof(TShape).DeclaringType?.Name} " +
            $"{p * 1e3,8:F3} ms {raw / p / 1e9,6:F0} GB/s  profile/generic time {p / g,5:F3}  {(exact ? "yes" : "NO"),5}";
        return (row, exact);

        void Launch(bool profile)
        {
            if (profile) codec.Launch<TShape>(batch, 0);
            else codec.Launch(batch, 0);
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
