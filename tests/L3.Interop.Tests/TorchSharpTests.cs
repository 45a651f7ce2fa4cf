using L3.Interop;
using L3.Loading;
using L3.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace L3.Interop.Tests;

/// <summary>TorchSharp tensors from the loader (ILGPU's CPU accelerator) hold exactly the batch's bytes.</summary>
public sealed class TorchSharpTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "l3-interop-tests-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _paths = [];

    public TorchSharpTests()
    {
        TorchAvailable.EnsureLoaded();
        Directory.CreateDirectory(_folder);
        for (int i = 0; i < 7; i++)
        {
            var image = SyntheticImages.Image(SyntheticImages.Patterns[i % SyntheticImages.Patterns.Count], 40 + i, 30, 3, seed: i);
            string path = Path.Combine(_folder, $"{i:D3}.l3");
            File.WriteAllBytes(path, L3Codec.Encode(image, new L3EncodeOptions { PatchSize = 16 }));
            _paths.Add(path);
        }
    }

    private L3Loader Open(SampleSource source, OutputType type, TensorLayout layout) => new(source, new LoaderOptions
    {
        Sampling = new SamplerOptions { BatchSize = 3, Seed = 4 },
        Augment = new AugmentOptions { Width = 20, Height = 12, Type = type, Layout = layout },
        ForceCpu = true,
        Readers = 1,
    });

    private SampleSource Source() => SampleSource.FromFiles(_paths, Enumerable.Range(0, _paths.Count).Select(i => i % 4).ToList());

    [TorchTheory]
    [InlineData(OutputType.UInt8, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.Float32, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.Float16, TensorLayout.ChannelsLast)]
    [InlineData(OutputType.BFloat16, TensorLayout.ChannelsFirst)]
    [InlineData(OutputType.BFloat16, TensorLayout.ChannelsLast)]
    public void Tensors_hold_the_batch_bytes(OutputType type, TensorLayout layout)
    {
        using var expectedSource = Source();
        using var tensorSource = Source();
        using var expectedLoader = Open(expectedSource, type, layout);
        using var tensorLoader = Open(tensorSource, type, layout);
        for (int b = 0; b < expectedLoader.BatchesPerEpoch; b++)
        {
            using var batch = expectedLoader.Next();
            byte[] expected = batch.CopyToHost();
            var (images, labels) = tensorLoader.NextTensors();
            using (images)
            using (labels)
            {
                Assert.Equal(TorchSharpBatches.ScalarTypeOf(type), images.dtype);
                Assert.Equal(new long[] { batch.Valid, 3, 12, 20 }, images.shape);
                Assert.Equal(batch.Labels.Take(batch.Valid).Select(l => (long)l), labels.data<long>().ToArray());
                // back to the memory order of the batch, then the raw bytes
                using var memoryOrder = layout == TensorLayout.ChannelsLast ? images.permute(0, 2, 3, 1).contiguous() : images.contiguous();
                byte[] actual = memoryOrder.bytes.ToArray();
                Assert.Equal(expected.AsSpan(0, actual.Length).ToArray(), actual);
            }
        }
    }

    [TorchTheory]
    [InlineData(TensorLayout.ChannelsFirst)]
    [InlineData(TensorLayout.ChannelsLast)]
    public void Full_image_tensors_index_the_samples_pixels_as_nchw(TensorLayout layout)
    {
        // the tensor against the images themselves (not the loader's bytes): images[i, c, y, x] is
        // channel c of pixel (x, y) of the i-th entry's sample
        var images = Enumerable.Range(0, 5).Select(i => SyntheticImages.Image(SyntheticImages.Patterns[i % SyntheticImages.Patterns.Count], 24, 18, 3, seed: 10 + i)).ToList();
        var paths = images.Select((image, i) =>
        {
            string path = Path.Combine(_folder, $"full-{i}.l3");
            File.WriteAllBytes(path, L3Codec.Encode(image, new L3EncodeOptions { PatchSize = 8 }));
            return path;
        }).ToList();
        using var source = SampleSource.FromFiles(paths, paths.Select(_ => 0).ToList());
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 2, Seed = 9 },
            Augment = new AugmentOptions { Crop = CropMode.Full, RandomFlip = false, Type = OutputType.UInt8, Layout = layout },
            ForceCpu = true,
            Readers = 1,
        });
        var seen = new List<long>();
        for (int b = 0; b < loader.BatchesPerEpoch; b++)
        {
            var (tensor, labels) = loader.NextTensors();
            using (tensor)
            using (labels)
            {
                Assert.Equal(new long[] { tensor.shape[0], 3, 18, 24 }, tensor.shape);
                for (int i = 0; i < tensor.shape[0]; i++)
                {
                    // which sample: the one whose planes equal this entry's
                    using var entry = tensor[i].contiguous();
                    byte[] actual = entry.bytes.ToArray();
                    int sample = images.FindIndex(image => Planar(image).AsSpan().SequenceEqual(actual));
                    Assert.True(sample >= 0, $"batch {b} entry {i} is none of the samples' pixels");
                    seen.Add(sample);
                }
            }
        }
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i), seen.Order());
    }

    /// <summary>An interleaved image's channels as planes (C×H×W).</summary>
    private static byte[] Planar(L3Image image)
    {
        var planes = new byte[image.Pixels.Length];
        int pixels = image.Width * image.Height;
        for (int p = 0; p < pixels; p++)
            for (int c = 0; c < image.Channels; c++)
                planes[c * pixels + p] = image.Pixels[p * image.Channels + c];
        return planes;
    }

    [TorchFact]
    public void Channels_last_batches_are_channels_last_tensors_indexed_nchw()
    {
        using var source = Source();
        using var loader = Open(source, OutputType.Float32, TensorLayout.ChannelsLast);
        var (images, labels) = loader.NextTensors();
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 3, 3, 12, 20 }, images.shape);
            // NHWC memory: channels adjacent, then columns, then rows (torch.channels_last's strides)
            Assert.Equal(new long[] { 12 * 20 * 3, 1, 20 * 3, 3 }, images.stride());
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
