using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using L3.Loading;

namespace L3.Loader.Tests;

/// <summary>ILGPU's CPU accelerator emulating a CUDA device (warp of 32), shared by the GPU tests.</summary>
public sealed class CpuAccelerator : IDisposable
{
    public Context Context { get; } = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia).Optimize(OptimizationLevel.O1));
    public Accelerator Accelerator { get; }

    public CpuAccelerator() => Accelerator = Context.GetCPUDevice(0).CreateAccelerator(Context);

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

/// <summary>The fused GPU stage (patch-list decode of the touched patches, then resize, flip,
/// channels, normalization and conversion) equals the CPU reference byte for byte.</summary>
public class GpuStageTests(CpuAccelerator cpu) : IClassFixture<CpuAccelerator>
{
    /// <summary>Every entry of the loader's first batches against the reference on the CPU decode.</summary>
    internal static void AssertBatchesMatchReference(L3Loader loader, TestFiles files, AugmentOptions options, int batches)
    {
        for (int b = 0; b < batches; b++)
        {
            using var batch = loader.Next();
            var host = batch.CopyToHost();
            for (int k = 0; k < batch.Count; k++)
            {
                long sample = batch.Samples[k];
                var image = L3Codec.Decode(File.ReadAllBytes(files.Paths[(int)sample]));
                Assert.Equal(CropBox.Choose(options, image.Width, image.Height, loader.Sampler.Options.Seed, batch.Epoch, sample), batch.Crops[k]);
                var expected = AugmentReference.Apply(image, batch.Crops[k], options);
                var actual = batch.Entry(host, k).ToArray();
                if (!expected.AsSpan().SequenceEqual(actual))
                {
                    int first = Enumerable.Range(0, expected.Length).First(i => expected[i] != actual[i]);
                    Assert.Fail($"batch {b} entry {k} (sample {sample}, crop {batch.Crops[k]}): byte {first} is {actual[first]}, the reference has {expected[first]}");
                }
            }
        }
    }

    private static TestFiles RgbFiles()
    {
        var files = new TestFiles();
        int[] sizes = [8, 16, 32, 64];
        for (int i = 0; i < 10; i++)
            files.Add(TestFiles.Image(30 + i * 13 % 50, 20 + i * 17 % 45, 3, i), sizes[i % 4]);
        return files;
    }

    [Theory]
    [InlineData(OutputType.UInt8, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.Float32, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.Float16, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.BFloat16, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.UInt8, TensorLayout.ChannelsLast)]
    [InlineData(OutputType.Float32, TensorLayout.ChannelsLast)]
    [InlineData(OutputType.Float16, TensorLayout.ChannelsLast)]
    [InlineData(OutputType.BFloat16, TensorLayout.ChannelsLast)]
    public void RandomResizedCropsOfRgbEqualTheReference(OutputType type, TensorLayout layout)
    {
        using var files = RgbFiles();
        using var source = files.Source();
        var augment = new AugmentOptions { Width = 24, Height = 20, Type = type, Layout = layout };
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 5, Seed = 3 }, Augment = augment, Readers = 2, PrefetchDepth = 2,
        }, accelerator: cpu.Accelerator);
        AssertBatchesMatchReference(loader, files, augment, 2);
    }

    [Theory]
    [InlineData(1, 1, CropMode.RandomResized)]
    [InlineData(1, 3, CropMode.Center)]
    [InlineData(4, 3, CropMode.RandomResized)]
    [InlineData(4, 4, CropMode.Center)]
    [InlineData(3, 3, CropMode.Center)]
    public void GrayAndAlphaAndCentreCropsEqualTheReference(int sourceChannels, int outputChannels, CropMode crop)
    {
        using var files = new TestFiles();
        for (int i = 0; i < 6; i++) files.Add(TestFiles.Image(40 + i * 7, 33 + i * 3, sourceChannels, i + 20), i % 2 == 0 ? 8 : 16);
        using var source = files.Source();
        var augment = new AugmentOptions { Width = 17, Height = 13, Channels = outputChannels, Crop = crop, Type = OutputType.Float16 };
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 3, Seed = 9 }, Augment = augment,
        }, accelerator: cpu.Accelerator);
        AssertBatchesMatchReference(loader, files, augment, 2);
    }

    /// <summary>Dense files (coding mode 1) of every patch size and channel count, alone and mixed
    /// with row-coded files in one batch (a launch each), crops and whole images alike.</summary>
    [Theory]
    [InlineData(3, CropMode.RandomResized, true)]
    [InlineData(1, CropMode.Full, false)]
    [InlineData(4, CropMode.Center, true)]
    public void DenseFilesAloneAndMixedWithRowCodingEqualTheReference(int channels, CropMode crop, bool mixed)
    {
        using var files = new TestFiles();
        int[] sizes = [8, 16, 32, 64];
        for (int i = 0; i < 6; i++)
        {
            // full-image batches need one size; crops take any
            var image = crop == CropMode.Full ? TestFiles.Image(70, 37, channels, i + 60) : TestFiles.Image(33 + i * 11 % 40, 21 + i * 7 % 30, channels, i + 60);
            files.Add(image, sizes[i % 4], mode: mixed && i % 3 == 2 ? L3CodingMode.Rows : L3CodingMode.Dense);
        }
        using var source = files.Source();
        var augment = crop == CropMode.Full
            ? new AugmentOptions { Crop = crop, Channels = channels == 1 ? 1 : 3, Type = OutputType.UInt8 }
            : new AugmentOptions { Width = 19, Height = 15, Channels = channels == 1 ? 1 : 3, Crop = crop, Type = OutputType.Float16 };
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 6, Seed = 5 }, Augment = augment, Readers = 2,
            // the CPU accelerator emulates the dense kernel's warps slowly on a busy machine
            ReaderTimeout = TimeSpan.FromMinutes(20),
        }, accelerator: cpu.Accelerator);
        AssertBatchesMatchReference(loader, files, augment, 1);
    }

    [Theory]
    [InlineData(OutputType.UInt8)]
    [InlineData(OutputType.Float16)]
    public void FullImagesEqualTheReference(OutputType type)
    {
        using var files = new TestFiles();
        for (int i = 0; i < 4; i++) files.Add(TestFiles.Image(45, 29, 3, i + 40), 16);
        using var source = files.Source();
        var augment = new AugmentOptions { Crop = CropMode.Full, Type = type };
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 4, Seed = 1 }, Augment = augment,
        }, accelerator: cpu.Accelerator);
        using (var batch = loader.Next())
        {
            Assert.Equal([4, 3, 29, 45], batch.Shape);
            Assert.NotEqual(IntPtr.Zero, batch.DevicePointer);
        }
        AssertBatchesMatchReference(loader, files, augment, 1);
    }

    [Fact]
    public void ACropReadsOnlyThePatchesItTouches()
    {
        using var files = new TestFiles();
        for (int i = 0; i < 4; i++) files.Add(TestFiles.Image(256, 192, 3, i), 16);
        using var source = files.Source();
        var augment = new AugmentOptions { Width = 16, Height = 16, ScaleMin = 0.05, ScaleMax = 0.1, Type = OutputType.UInt8 };
        using var loader = new L3Loader(source, new LoaderOptions { Sampling = new SamplerOptions { BatchSize = 4 }, Augment = augment }, accelerator: cpu.Accelerator);
        using (loader.Next()) { }
        long whole = files.Paths.Sum(p => new FileInfo(p).Length);
        Assert.True(loader.CompressedBytes < whole / 3, $"{loader.CompressedBytes} of {whole} bytes read for crops of ≤ 10% of the area");
        Assert.True(loader.RegionBytes < 4L * 256 * 192 * 3 / 3);
    }
}
