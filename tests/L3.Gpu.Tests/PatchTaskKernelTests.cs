using ILGPU;
using ILGPU.Runtime;
using L3.Kernels;

namespace L3.Gpu.Tests;

/// <summary>The device's task writer (<see cref="PatchTaskKernel"/>, on the CPU accelerator emulating a
/// CUDA device): from samples' regions, table slices and row biases it writes the tasks the host
/// would (stated here independently, from the header), whether the rows are packed back to back or
/// copied as one band; table entries pointing outside a sample's bytes and bad patches are switched
/// off and the first found, and nothing is read outside the data.</summary>
[Collection("gpu")]
public sealed class PatchTaskKernelTests(CodecFixture fixture)
{
    private sealed record Sample(L3Header Header, byte[] File, int Px0, int Py0, int Columns, int Rows, bool Band);

    /// <summary>A launch laid out as the loader lays it out: the samples' bytes, their table slices, zeros.</summary>
    private sealed class Launch
    {
        public readonly List<byte> Data = [];
        public readonly List<SampleRegion> Regions = [];
        public readonly List<int> Biases = [];
        public readonly List<PatchTask> Expected = [];
        public uint[] Words = [];
    }

    private static Launch Lay(IReadOnlyList<Sample> samples, int channels)
    {
        var launch = new Launch();
        var regions = new SampleRegion[samples.Count];
        int staging = 0, tasks = 0;
        for (int k = 0; k < samples.Count; k++)
        {
            var (h, file, px0, py0, columns, rows, band) = samples[k];
            int n = h.PatchSize;
            var offsets = h.PatchOffsets.ToArray();
            int dataAt = launch.Data.Count;
            int regionX = px0 * n, regionY = py0 * n;
            int regionWidth = Math.Min((px0 + columns) * n, h.Width) - regionX, regionHeight = Math.Min((py0 + rows) * n, h.Height) - regionY;
            int RowStart(int py) => h.PayloadStart + (int)offsets[py * h.PatchesX + px0];
            int RowEnd(int py) => h.PayloadStart + (int)offsets[py * h.PatchesX + px0 + columns];
            int biasAt = launch.Biases.Count;
            for (int py = py0; py < py0 + rows; py++)
            {
                // where this row's first touched patch lands in the data
                int rowAt = band ? dataAt + RowStart(py) - RowStart(py0) : launch.Data.Count;
                if (!band) launch.Data.AddRange(file[RowStart(py)..RowEnd(py)]);
                launch.Biases.Add(rowAt - (int)offsets[py * h.PatchesX + px0]);
                for (int px = px0; px < px0 + columns; px++)
                {
                    int p = py * h.PatchesX + px, x = px * n, y = py * n;
                    launch.Expected.Add(new PatchTask
                    {
                        Start = rowAt + (int)(offsets[p] - offsets[py * h.PatchesX + px0]), Length = (int)(offsets[p + 1] - offsets[p]),
                        Width = Math.Min(n, h.Width - x), Height = Math.Min(n, h.Height - y),
                        Out = staging + ((y - regionY) * regionWidth + x - regionX) * channels, RowStride = regionWidth * channels,
                    });
                }
            }
            if (band) launch.Data.AddRange(file[RowStart(py0)..RowEnd(py0 + rows - 1)]);
            regions[k] = new SampleRegion
            {
                TaskFirst = tasks, Px0 = px0, Py0 = py0, Columns = columns, Rows = rows, PatchesX = h.PatchesX, ImageWidth = h.Width, ImageHeight = h.Height,
                RowBias = biasAt, DataAt = dataAt, DataBytes = launch.Data.Count - dataAt,
                RegionX = regionX, RegionY = regionY, RegionWidth = regionWidth, RegionHeight = regionHeight, StagingAt = staging,
            };
            tasks += columns * rows;
            staging += regionWidth * regionHeight * channels;
        }
        while (launch.Data.Count % 4 != 0) launch.Data.Add(0xEE); // not zero: reads must stay inside
        for (int k = 0; k < samples.Count; k++)
        {
            var s = samples[k];
            regions[k].TableWord = launch.Data.Count / 4;
            int first = s.Py0 * s.Header.PatchesX + s.Px0, entries = (s.Rows - 1) * s.Header.PatchesX + s.Columns + 1;
            foreach (uint offset in s.Header.PatchOffsets.Slice(first, entries)) launch.Data.AddRange(BitConverter.GetBytes(offset));
        }
        launch.Data.AddRange(new byte[16]);
        launch.Regions.AddRange(regions);
        launch.Words = new uint[launch.Data.Count / 4];
        Buffer.BlockCopy(launch.Data.ToArray(), 0, launch.Words, 0, launch.Data.Count);
        return launch;
    }

    private (PatchTask[] Tasks, int FirstBad) Run(Launch launch, int patchSize, int channels, L3CodingMode mode)
    {
        var accelerator = fixture.Codec.Accelerator;
        var write = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<uint>, ArrayView<SampleRegion>, int, ArrayView<int>, ArrayView<PatchTask>,
            int, int, int, int, ArrayView<int>>(PatchTaskKernel.WriteTasks);
        using var words = accelerator.Allocate1D(launch.Words);
        using var regions = accelerator.Allocate1D(launch.Regions.ToArray());
        using var biases = accelerator.Allocate1D(launch.Biases.ToArray());
        using var tasks = accelerator.Allocate1D<PatchTask>(launch.Expected.Count);
        using var firstBad = accelerator.Allocate1D(new[] { int.MaxValue });
        write(launch.Expected.Count, words.View, regions.View, launch.Regions.Count, biases.View, tasks.View, launch.Expected.Count, patchSize, channels, (int)mode, firstBad.View);
        accelerator.Synchronize();
        return (tasks.GetAsArray1D(), firstBad.GetAsArray1D()[0]);
    }

    private static List<Sample> RandomSamples(Random rng, int patchSize, int channels, int count, L3CodingMode mode)
    {
        var samples = new List<Sample>();
        for (int i = 0; i < count; i++)
        {
            int w = rng.Next(1, 5 * patchSize), h = rng.Next(1, 4 * patchSize);
            var file = L3Codec.Encode(CodecFixture.RandomImage(rng, w, h, channels), w, h, channels, new L3EncodeOptions { PatchSize = patchSize, Mode = mode });
            var header = L3Header.Read(file);
            int px0 = rng.Next(header.PatchesX), py0 = rng.Next(header.PatchesY);
            samples.Add(new Sample(header, file, px0, py0, rng.Next(1, header.PatchesX - px0 + 1), rng.Next(1, header.PatchesY - py0 + 1), Band: rng.Next(2) == 0));
        }
        return samples;
    }

    private static string Show(PatchTask t) => $"start {t.Start} length {t.Length} {t.Width}x{t.Height} out {t.Out} stride {t.RowStride}";

    [Theory]
    [InlineData(L3CodingMode.Rows)]
    [InlineData(L3CodingMode.Dense)]
    public void TheDeviceWritesTheTasksTheHeaderGives(L3CodingMode mode)
    {
        var rng = new Random(11);
        foreach (int channels in new[] { 1, 3, 4 })
            foreach (int n in new[] { 8, 16, 32 })
            {
                var launch = Lay(RandomSamples(rng, n, channels, 6, mode), channels);
                var (tasks, firstBad) = Run(launch, n, channels, mode);
                Assert.Equal(int.MaxValue, firstBad);
                Assert.Equal(launch.Expected, tasks);
            }
    }

    [Theory]
    [InlineData(L3CodingMode.Rows)]
    [InlineData(L3CodingMode.Dense)]
    public void EntriesOutsideTheSampleAndBadPatchesAreSwitchedOffAndTheFirstFound(L3CodingMode mode)
    {
        var rng = new Random(12);
        const int n = 16, channels = 3;
        for (int round = 0; round < 20; round++)
        {
            var launch = Lay(RandomSamples(rng, n, channels, 4, mode), channels);
            var expected = launch.Expected.ToArray();
            var bad = new SortedSet<int>();
            // a table entry pointing far outside: the tasks it starts and ends are switched off
            int task = rng.Next(expected.Length);
            var region = launch.Regions.Last(r => r.TaskFirst <= task);
            int local = task - region.TaskFirst, row = local / region.Columns, column = local % region.Columns;
            int entry = region.TableWord + row * region.PatchesX + column + rng.Next(2);
            launch.Words[entry] = rng.Next(2) == 0 ? 0xFFFFFFF0u : launch.Words[entry] + (uint)region.DataBytes + 1;
            for (int t = 0; t < expected.Length; t++)
            {
                var r = launch.Regions.Last(x => x.TaskFirst <= t);
                int l = t - r.TaskFirst, e = r.TableWord + l / r.Columns * r.PatchesX + l % r.Columns;
                if (e == entry || e + 1 == entry) bad.Add(t);
            }
            // a patch whose flags byte sets reserved bits: switched off by the patch rule
            int flagged = rng.Next(expected.Length);
            if (!bad.Contains(flagged) && expected[flagged].Length > 0)
            {
                int at = expected[flagged].Start;
                launch.Words[at / 4] |= 0xF0u << (at % 4 * 8);
                bad.Add(flagged);
            }
            var (tasks, firstBad) = Run(launch, n, channels, mode);
            Assert.Equal(bad.Min, firstBad);
            for (int t = 0; t < expected.Length; t++)
                Assert.True((bad.Contains(t) ? default : expected[t]).Equals(tasks[t]),
                    $"round {round}, task {t} of {expected.Length} ({(bad.Contains(t) ? "bad" : "good")}): expected {Show(bad.Contains(t) ? default : expected[t])}, got {Show(tasks[t])}");
        }
    }
}
