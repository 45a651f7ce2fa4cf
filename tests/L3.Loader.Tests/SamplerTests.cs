using L3.Loading;

namespace L3.Loader.Tests;

public class SamplerTests
{
    private static List<SampleBatch> Epoch(long count, SamplerOptions options, long epoch = 0)
    {
        var sampler = new EpochSampler(count, options);
        return Enumerable.Range(0, sampler.BatchesPerEpoch).Select(i => sampler.Batch(epoch, i)).ToList();
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(100, 1, 64)]
    [InlineData(100, 3, 8)]
    [InlineData(101, 4, 7)]
    [InlineData(7, 7, 3)]
    [InlineData(1000, 5, 32)]
    public void PadAndPartialSeeEverySampleOncePerEpochAcrossRanks(long count, int world, int batch)
    {
        foreach (var policy in new[] { LastBatchPolicy.Pad, LastBatchPolicy.Partial })
        {
            var seen = new List<long>();
            var batchesPerRank = new List<int>();
            for (int rank = 0; rank < world; rank++)
            {
                var batches = Epoch(count, new SamplerOptions { BatchSize = batch, Seed = 42, Rank = rank, WorldSize = world, LastBatch = policy }, epoch: 3);
                batchesPerRank.Add(batches.Count);
                foreach (var b in batches)
                {
                    Assert.All(b.Samples, s => Assert.InRange(s, 0, count - 1));
                    seen.AddRange(b.Samples.Take(b.Valid));
                    if (policy == LastBatchPolicy.Pad)
                    {
                        Assert.Equal(batch, b.Samples.Length);
                        Assert.All(b.Samples.Skip(b.Valid), s => Assert.Equal(b.Samples[Math.Max(0, b.Valid - 1)], s));
                    }
                    else Assert.Equal(b.Samples.Length, b.Valid);
                }
            }
            Assert.Equal(Enumerable.Range(0, (int)count).Select(i => (long)i), seen.Order());
            if (policy == LastBatchPolicy.Pad) Assert.Single(batchesPerRank.Distinct());
        }
    }

    [Fact]
    public void DropGivesWholeBatchesOnlyTheSameNumberOnEveryRankAndNoRepeats()
    {
        const long count = 1003;
        const int world = 4, batch = 16;
        var seen = new List<long>();
        for (int rank = 0; rank < world; rank++)
        {
            var batches = Epoch(count, new SamplerOptions { BatchSize = batch, Seed = 1, Rank = rank, WorldSize = world, LastBatch = LastBatchPolicy.Drop });
            Assert.Equal(count / world / batch, batches.Count);
            Assert.All(batches, b => Assert.Equal(batch, b.Valid));
            seen.AddRange(batches.SelectMany(b => b.Samples));
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(world * (count / world / batch) * batch, seen.Count);
    }

    [Fact]
    public void ShuffleIsDeterministicPerSeedAndEpochAndDiffersBetweenThem()
    {
        var a = EpochSampler.Permutation(5000, 7, 2);
        Assert.Equal(a, EpochSampler.Permutation(5000, 7, 2));
        Assert.NotEqual(a, EpochSampler.Permutation(5000, 7, 3));
        Assert.NotEqual(a, EpochSampler.Permutation(5000, 8, 2));
        Assert.Equal(Enumerable.Range(0, 5000), a.Order());
        Assert.Equal(Enumerable.Range(0, 5000), EpochSampler.Permutation(5000, 7, 2, shuffle: false));
        // pinned: the sequence depends on nothing but its key (no .NET Random)
        Assert.Equal([2, 1, 3, 4, 0], EpochSampler.Permutation(5, 0, 0));
    }

    [Fact]
    public void ShuffleIsUniformEnough()
    {
        // every position takes every sample about equally often over many epochs
        const int n = 8, epochs = 8000;
        var counts = new int[n, n];
        for (int e = 0; e < epochs; e++)
        {
            var p = EpochSampler.Permutation(n, 99, e);
            for (int i = 0; i < n; i++) counts[i, p[i]]++;
        }
        foreach (int c in counts) Assert.InRange(c, epochs / n * 0.85, epochs / n * 1.15);
    }

    [Theory]
    [InlineData(LastBatchPolicy.Pad)]
    [InlineData(LastBatchPolicy.Drop)]
    [InlineData(LastBatchPolicy.Partial)]
    public void ResumingFromASavedStateGivesTheBatchesOfAnUninterruptedRun(LastBatchPolicy policy)
    {
        var options = new SamplerOptions { BatchSize = 10, Seed = 5, Rank = 1, WorldSize = 3, LastBatch = policy };
        var sampler = new EpochSampler(257, options);
        var uninterrupted = sampler.Batches(sampler.InitialState, endEpoch: 3).ToList();
        for (int stop = 0; stop <= uninterrupted.Count; stop += 4)
        {
            var state = stop == 0 ? sampler.InitialState : sampler.After(uninterrupted[stop - 1]);
            var restored = LoaderState.FromJson(state.ToJson());
            Assert.Equal(state, restored);
            var resumed = new EpochSampler(257, options).Batches(restored, endEpoch: 3).ToList();
            Assert.Equal(uninterrupted.Count - stop, resumed.Count);
            for (int i = 0; i < resumed.Count; i++)
            {
                Assert.Equal(uninterrupted[stop + i].Samples, resumed[i].Samples);
                Assert.Equal(uninterrupted[stop + i].Valid, resumed[i].Valid);
            }
        }
    }

    [Fact]
    public void AStateOfAnotherConfigurationIsRefused()
    {
        var sampler = new EpochSampler(100, new SamplerOptions { BatchSize = 10, Seed = 1 });
        var other = new EpochSampler(100, new SamplerOptions { BatchSize = 10, Seed = 2 });
        Assert.Throws<ArgumentException>(() => sampler.Position(other.InitialState));
        Assert.Throws<ArgumentException>(() => sampler.Position(sampler.Describe(0, 5)));
    }
}
