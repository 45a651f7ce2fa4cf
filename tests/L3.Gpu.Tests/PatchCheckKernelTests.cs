using ILGPU;
using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Gpu.Tests;

/// <summary>The device patch check (<see cref="PatchCheckKernel"/>, on the CPU accelerator emulating
/// a CUDA device) accepts exactly the patches the CPU validation accepts, switches the bad ones off
/// and finds the first; on patches of every size and channel count with random bytes changed.</summary>
[Collection("gpu")]
public sealed class PatchCheckKernelTests(CodecFixture fixture)
{
    [Fact]
    public void TheDeviceCheckAcceptsExactlyWhatTheCpuValidationAccepts()
    {
        var accelerator = fixture.Codec.Accelerator;
        var check = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<uint>, ArrayView<PatchTask>, int, int, ArrayView<int>>(PatchCheckKernel.CheckPatchList);
        var rng = new Random(5);
        int rejected = 0;
        foreach (int channels in new[] { 1, 3, 4 })
        {
            // one launch of many patches of one channel count: sizes 1..64, some bytes changed
            var data = new List<byte>();
            var tasks = new List<PatchTask>();
            var expected = new List<bool>();
            for (int i = 0; i < 150; i++)
            {
                int w = rng.Next(1, 65), h = rng.Next(1, 65);
                var file = L3Codec.Encode(CodecFixture.RandomImage(rng, w, h, channels), w, h, channels, new L3EncodeOptions { PatchSize = 64 });
                var patch = file.AsSpan(L3Header.Read(file).PayloadStart).ToArray();
                for (int k = rng.Next(3); k > 0; k--)
                {
                    int at = rng.Next(patch.Length);
                    patch[at] = rng.Next(3) switch { 0 => (byte)rng.Next(256), 1 => (byte)(patch[at] ^ (1 << rng.Next(8))), _ => (byte)(patch[at] | 0x90) };
                }
                if (rng.Next(8) == 0) patch = patch[..rng.Next(patch.Length)]; // cut short
                bool valid;
                try { PatchFormat.Validate(patch, w, h, channels, 0); valid = true; }
                catch (L3FormatException) { valid = false; }
                while (data.Count % 4 != 0) data.Add(0xEE); // neighbours' bytes are not zero: reads must stay inside
                tasks.Add(new PatchTask { Start = data.Count, Length = patch.Length, Width = w, Height = h, Out = i, RowStride = w * channels });
                data.AddRange(patch);
                expected.Add(valid);
            }
            while (data.Count % 4 != 0) data.Add(0xEE);
            var words = new uint[data.Count / 4];
            Buffer.BlockCopy(data.ToArray(), 0, words, 0, data.Count);
            using var wordBuffer = accelerator.Allocate1D(words);
            using var taskBuffer = accelerator.Allocate1D(tasks.ToArray());
            using var firstBad = accelerator.Allocate1D(new[] { int.MaxValue });
            check(tasks.Count, wordBuffer.View, taskBuffer.View, tasks.Count, channels, firstBad.View);
            accelerator.Synchronize();
            var checkedTasks = taskBuffer.GetAsArray1D();

            for (int i = 0; i < tasks.Count; i++)
            {
                bool switchedOff = checkedTasks[i].Width == 0 && checkedTasks[i].Height == 0;
                Assert.True(expected[i] != switchedOff, $"{channels} channel(s), patch {i}: CPU {(expected[i] ? "accepts" : "rejects")}, device {(switchedOff ? "rejects" : "accepts")}");
                if (!switchedOff) Assert.Equal(tasks[i], checkedTasks[i]);
            }
            int firstExpected = expected.IndexOf(false);
            Assert.Equal(firstExpected < 0 ? int.MaxValue : firstExpected, firstBad.GetAsArray1D()[0]);
            rejected += expected.Count(v => !v);
        }
        Assert.InRange(rejected, 100, 400); // both outcomes are exercised
    }
}
