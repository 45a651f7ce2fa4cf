using System.Buffers.Binary;
using L3.Datasets;
using L3.Kernels;
using L3.Loading;

namespace L3.Loader.Tests;

/// <summary>The pipeline: batches follow the sampler across epochs, resume exactly, and bad or
/// missing samples are reported by name, never a hang or a crash.</summary>
public class PipelineTests(CpuAccelerator cpu) : IClassFixture<CpuAccelerator>
{
    private static readonly AugmentOptions Small = new() { Width = 12, Height = 10, Type = OutputType.UInt8 };

    private static TestFiles Files(int count)
    {
        var files = new TestFiles();
        for (int i = 0; i < count; i++) files.Add(TestFiles.Image(24 + i % 5, 20 + i % 3, 3, i), 8);
        return files;
    }

    [Fact]
    public void BatchesFollowTheSamplerAcrossEpochsAndResumeExactly()
    {
        using var files = Files(7);
        using var source = files.Source();
        var options = new LoaderOptions { Sampling = new SamplerOptions { BatchSize = 3, Seed = 4, LastBatch = LastBatchPolicy.Pad }, Augment = Small, PrefetchDepth = 1 };
        var run = new List<(long Epoch, long[] Samples, int Valid, int[] Labels, byte[] Tensor, LoaderState After)>();
        using (var loader = new L3Loader(source, options, accelerator: cpu.Accelerator))
        {
            Assert.Equal(3, loader.BatchesPerEpoch);
            for (int i = 0; i < 7; i++)
            {
                using var batch = loader.Next();
                var plan = loader.Sampler.Batch(batch.Epoch, batch.Index);
                Assert.Equal(plan.Samples, batch.Samples);
                Assert.Equal(plan.Samples.Select(s => (int)s % 3), batch.Labels);
                run.Add((batch.Epoch, batch.Samples.ToArray(), batch.Valid, batch.Labels.ToArray(), batch.CopyToHost(), loader.State));
            }
        }
        Assert.Equal([0L, 0, 0, 1, 1, 1, 2], run.Select(r => r.Epoch));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), run.Take(3).SelectMany(r => r.Samples.Take(r.Valid)).Order());

        foreach (int stop in new[] { 1, 3, 5 })
        {
            var state = LoaderState.FromJson(run[stop - 1].After.ToJson());
            using var resumed = new L3Loader(source, options, state, cpu.Accelerator);
            for (int i = stop; i < run.Count; i++)
            {
                using var batch = resumed.Next();
                Assert.Equal(run[i].Samples, batch.Samples);
                Assert.Equal(run[i].Tensor, batch.CopyToHost());
            }
        }
    }

    [Fact]
    public void MappedFilesAreRefusedWithTheReasonWhereTheyCannotBeUsed()
    {
        using var files = Files(3);
        using var source = files.Source();
        var options = new LoaderOptions { Sampling = new SamplerOptions { BatchSize = 2 }, Augment = Small, HostPath = HostPath.MappedFiles };
        var e = Assert.Throws<NotSupportedException>(() => new L3Loader(source, options, accelerator: cpu.Accelerator));
        Assert.Contains("not a CUDA device", e.Message);
        using var auto = new L3Loader(source, options with { HostPath = HostPath.Auto }, accelerator: cpu.Accelerator);
        Assert.StartsWith("page-locked copies by the readers", auto.HostPathUsed);
        using (auto.Next()) { }
    }

    [Fact]
    public void TwoRanksGetDisjointSamplesCoveringTheEpoch()
    {
        using var files = Files(9);
        using var source = files.Source();
        var seen = new List<long>();
        for (int rank = 0; rank < 2; rank++)
        {
            using var loader = new L3Loader(source, new LoaderOptions
            {
                Sampling = new SamplerOptions { BatchSize = 2, Seed = 8, Rank = rank, WorldSize = 2 }, Augment = Small,
            }, accelerator: cpu.Accelerator);
            foreach (var batch in loader.ReadEpoch())
                using (batch) seen.AddRange(batch.Samples.Take(batch.Valid));
        }
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), seen.Order());
    }

    private static void Corrupt(string path, Action<byte[]> change)
    {
        var bytes = File.ReadAllBytes(path);
        change(bytes);
        File.WriteAllBytes(path, bytes);
    }

    private static L3FormatException FirstEpochFails(SampleSource source, CpuAccelerator cpu, bool verify)
    {
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 2, Shuffle = false }, Augment = Small with { Crop = CropMode.Center }, VerifyChecksums = verify,
        }, accelerator: cpu.Accelerator);
        return Assert.Throws<L3FormatException>(() => { foreach (var batch in loader.ReadEpoch()) batch.Dispose(); });
    }

    [Fact]
    public void ACorruptHeaderIsReportedWithTheFilesName()
    {
        using var files = Files(5);
        Corrupt(files.Paths[3], b => b[40] ^= 1);
        using var source = files.Source();
        var e = FirstEpochFails(source, cpu, verify: false);
        Assert.Contains(files.Paths[3], e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void ACorruptPayloadIsCaughtByTheChecksumWhenVerifying()
    {
        using var files = Files(5);
        Corrupt(files.Paths[2], b => b[^3] ^= 0x10);
        using var source = files.Source();
        var e = FirstEpochFails(source, cpu, verify: true);
        Assert.Contains(files.Paths[2], e.Message);
        Assert.Contains("payload checksum", e.Message);
    }

    [Fact]
    public void ABrokenTouchedPatchIsCaughtWithoutChecksums()
    {
        using var files = Files(4);
        // patch 0's flags byte: reserved bits set (the header checksum does not cover the payload)
        Corrupt(files.Paths[1], b => b[L3Header.Read(b).PayloadStart] = 0x80);
        using var source = files.Source();
        var augment = Small with { Crop = CropMode.Full };
        using var loader = new L3Loader(source, new LoaderOptions { Sampling = new SamplerOptions { BatchSize = 1, Shuffle = false }, Augment = augment },
            accelerator: cpu.Accelerator);
        using (loader.Next()) { }
        var e = Assert.Throws<L3FormatException>(() => loader.Next());
        Assert.Contains(files.Paths[1], e.Message);
        Assert.Contains("flags", e.Message);
    }

    [Fact]
    public void BadSamplesAreReplacedAndCountedWhenAsked()
    {
        using var files = Files(6);
        Corrupt(files.Paths[1], b => b[L3Header.Read(b).PayloadStart] = 0x80); // a bad patch (checksum and structure)
        File.WriteAllBytes(files.Paths[4], File.ReadAllBytes(files.Paths[4])[..100]); // truncated
        using var source = files.Source();
        var augment = Small with { Crop = CropMode.Center };
        using var loader = new L3Loader(source, new LoaderOptions
        {
            Sampling = new SamplerOptions { BatchSize = 3, Shuffle = false }, Augment = augment, BadSamples = BadSamplePolicy.Replace,
        }, accelerator: cpu.Accelerator);
        var seen = new List<long>();
        foreach (var batch in loader.ReadEpoch())
            using (batch)
            {
                var host = batch.CopyToHost();
                for (int k = 0; k < batch.Count; k++)
                {
                    var image = L3Codec.Decode(File.ReadAllBytes(files.Paths[(int)batch.Samples[k]]));
                    Assert.Equal(AugmentReference.Apply(image, batch.Crops[k], augment), batch.Entry(host, k).ToArray());
                    Assert.Equal((int)batch.Samples[k] % 3, batch.Labels[k]);
                }
                seen.AddRange(batch.Samples);
            }
        Assert.Equal([0L, 2, 2, 3, 5, 5], seen); // 1 and 4 replaced by the next good sample of their batch
        Assert.Equal(2, loader.ReplacedSamples);
        Assert.Contains(files.Paths[4], loader.LastReplacement);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ACorruptDenseStreamOrPatchIsCaughtAndNamed(bool structure)
    {
        using var files = Files(3);
        var image = files.Images[2];
        var dense = L3Codec.Encode(image, new L3EncodeOptions { PatchSize = 8, Mode = L3CodingMode.Dense });
        var header = L3Header.Read(dense);
        // every patch, so that any crop touches one: reserved flag bits (the device's structure
        // check, DensePatchCheck), or the last word of its stream (found only by decoding it)
        for (int p = 0; p < header.PatchCount; p++)
        {
            var (start, length) = header.PatchRange(p);
            int at = header.PayloadStart + start;
            var rect = header.PatchRect(p);
            bool hasStream = length > DenseLayout.PatchHeaderBytes(rect.Height, header.Channels) + DenseLayout.Lanes(rect.Width) * DenseLayout.StateBytes;
            Assert.True(hasStream, $"patch {p} of the noisy test image has a stream");
            if (structure) dense[at] = 0x80;
            else
            {
                // lane 0's state and a word in the middle of the stream: the decode goes astray
                // (the stream's last words can be raw bits, which nothing but the checksum checks)
                int states = DenseLayout.PatchHeaderBytes(rect.Height, header.Channels), stream = states + DenseLayout.Lanes(rect.Width) * DenseLayout.StateBytes;
                dense[at + states + 3] ^= 0x40;
                dense[at + (stream + length) / 2] ^= 0x5A;
            }
            Assert.Throws<L3FormatException>(() => L3Codec.DecodeRegion(dense, rect.X, rect.Y, 1, 1));
        }
        File.WriteAllBytes(files.Paths[2], dense);
        using var source = files.Source();
        var e = FirstEpochFails(source, cpu, verify: false);
        Assert.Contains(files.Paths[2], e.Message);
        Assert.Contains(structure ? "flags" : "dense", e.Message);
    }

    [Fact]
    public void TruncatedAndMissingFilesAreReportedByName()
    {
        using var files = Files(4);
        File.WriteAllBytes(files.Paths[2], File.ReadAllBytes(files.Paths[2])[..100]);
        using (var source = files.Source())
            Assert.Contains(files.Paths[2], FirstEpochFails(source, cpu, verify: false).Message);
        File.Delete(files.Paths[2]);
        using (var source = files.Source())
            Assert.Contains(files.Paths[2], FirstEpochFails(source, cpu, verify: false).Message);
    }

    private static L3Image DecodeRaw(byte[] file) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(file), BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(2)), file[4], file[5..]);

    [Fact]
    public void ADatasetLoadsWithItsLabelsAndATruncatedShardIsNamed()
    {
        using var files = new TestFiles();
        string images = Path.Combine(files.Directory, "images");
        var originals = new List<L3Image>();
        for (int i = 0; i < 8; i++)
        {
            var image = TestFiles.Image(30 + i, 25, 3, i);
            originals.Add(image);
            var raw = new byte[5 + image.Pixels.Length];
            BinaryPrimitives.WriteUInt16LittleEndian(raw, (ushort)image.Width);
            BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(2), (ushort)image.Height);
            raw[4] = 3;
            image.Pixels.CopyTo(raw, 5);
            string path = Path.Combine(images, i % 2 == 0 ? "cat" : "dog", $"{i}.pgm");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, raw);
        }
        string datasetPath = Path.Combine(files.Directory, "ds");
        using (var imageSource = ImageSource.Open(images))
            DatasetConverter.Convert(imageSource, datasetPath, new ConvertOptions { DecodeImage = DecodeRaw, ShardSize = ShardSize.Parse("3"), Jobs = 1, PatchSize = 8 });

        using (var dataset = L3Dataset.Open(datasetPath))
        using (var source = SampleSource.FromDataset(dataset))
        {
            var augment = Small;
            using var loader = new L3Loader(source, new LoaderOptions { Sampling = new SamplerOptions { BatchSize = 4, Seed = 2 }, Augment = augment },
                accelerator: cpu.Accelerator);
            foreach (var batch in loader.ReadEpoch())
                using (batch)
                {
                    var host = batch.CopyToHost();
                    for (int k = 0; k < batch.Count; k++)
                    {
                        var image = L3Codec.Decode(dataset.ReadSample(batch.Samples[k]));
                        Assert.Equal(dataset.GetLabel(batch.Samples[k]), batch.Labels[k]);
                        Assert.Equal(AugmentReference.Apply(image, batch.Crops[k], augment), batch.Entry(host, k).ToArray());
                    }
                }
        }

        // a truncated shard: named, never read past
        string shard = Path.Combine(datasetPath, "shards", "shard-000001.tar");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..1024]);
        using (var dataset = L3Dataset.Open(datasetPath))
        using (var source = SampleSource.FromDataset(dataset))
            Assert.Contains("shard-000001.tar", FirstEpochFails(source, cpu, verify: false).Message);
    }
}
