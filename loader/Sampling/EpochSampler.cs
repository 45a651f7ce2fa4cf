using System.Text.Json;
using System.Text.Json.Serialization;

namespace L3.Loading;

/// <summary>What happens to the samples of a rank that do not fill a last whole batch.</summary>
public enum LastBatchPolicy
{
    /// <summary>DALI's <c>pad_last_batch</c>: every rank gives the same number of whole batches; the
    /// last ones are filled by repeating the rank's last sample, and say how many entries are real
    /// (<see cref="SampleBatch.Valid"/>). Every sample is seen once per epoch across ranks.</summary>
    Pad,
    /// <summary>Only whole batches, the same number on every rank: the tail of the epoch is left out.</summary>
    Drop,
    /// <summary>A smaller last batch; ranks may then differ by one batch.</summary>
    Partial,
}

/// <summary>How samples are ordered and split into batches.</summary>
public sealed record SamplerOptions
{
    public int BatchSize { get; init; } = 64;
    public ulong Seed { get; init; }
    /// <summary>Shuffle each epoch (by (seed, epoch)); otherwise sample order.</summary>
    public bool Shuffle { get; init; } = true;
    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;
    public LastBatchPolicy LastBatch { get; init; } = LastBatchPolicy.Pad;
}

/// <summary>The samples of one batch, in order: <see cref="Valid"/> real ones, then repeats (pad).</summary>
public sealed record SampleBatch(long Epoch, int Index, long[] Samples, int Valid);

/// <summary>
/// Where a loader stands: enough to resume mid-epoch and get exactly the batches an uninterrupted
/// run would have given. The other fields check that the resumed loader is the same one.
/// </summary>
public sealed record LoaderState
{
    public int Version { get; init; } = 1;
    public long Epoch { get; init; }
    /// <summary>Entries of this rank's epoch already handed out (whole batches, pads included).</summary>
    public long SamplesConsumed { get; init; }
    public ulong Seed { get; init; }
    public long Samples { get; init; }
    public int BatchSize { get; init; }
    public int Rank { get; init; }
    public int WorldSize { get; init; }
    public bool Shuffle { get; init; }
    [JsonConverter(typeof(JsonStringEnumConverter<LastBatchPolicy>))]
    public LastBatchPolicy LastBatch { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this);

    public static LoaderState FromJson(string json) =>
        JsonSerializer.Deserialize<LoaderState>(json) ?? throw new FormatException("empty loader state");
}

/// <summary>
/// Per-epoch shuffling and sharding. Each epoch, the samples 0..n−1 are permuted by a Fisher–Yates
/// shuffle driven by <see cref="SampleRandom.ForEpoch"/> (the same on every rank); rank r takes the
/// contiguous run [⌊n·r/W⌋, ⌊n·(r+1)/W⌋) of the permuted order (DALI's sharding: runs differ by at
/// most one sample), and cuts it into batches by <see cref="SamplerOptions.LastBatch"/>.
/// </summary>
public sealed class EpochSampler
{
    private readonly long _count;
    private readonly SamplerOptions _options;
    private long _permutedEpoch = -1;
    private int[]? _permutation;

    public EpochSampler(long count, SamplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (count < 1 || count > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(count), $"{count} samples: expected 1..{Array.MaxLength}");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "the batch size must be at least 1");
        if (options.WorldSize < 1 || options.Rank < 0 || options.Rank >= options.WorldSize)
            throw new ArgumentOutOfRangeException(nameof(options), $"rank {options.Rank} of {options.WorldSize}: expected 0 ≤ rank < world size");
        if (count < options.WorldSize)
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} samples cannot be shared by {options.WorldSize} ranks");
        _count = count;
        _options = options;
        (RankStart, RankLength) = RankRange(options.Rank);
        long shortest = count / options.WorldSize, longest = (count + options.WorldSize - 1) / options.WorldSize;
        long batch = options.BatchSize;
        BatchesPerEpoch = checked((int)(options.LastBatch switch
        {
            LastBatchPolicy.Pad => (longest + batch - 1) / batch,
            LastBatchPolicy.Drop => shortest / batch,
            _ => (RankLength + batch - 1) / batch,
        }));
    }

    public SamplerOptions Options => _options;
    public long Count => _count;

    /// <summary>This rank's run of the permuted order: its first position and length.</summary>
    public long RankStart { get; }
    public long RankLength { get; }

    /// <summary>Batches this rank gives per epoch (0 when Drop leaves none).</summary>
    public int BatchesPerEpoch { get; }

    private (long Start, long Length) RankRange(int rank)
    {
        long start = _count * rank / _options.WorldSize, end = _count * (rank + 1) / _options.WorldSize;
        return (start, end - start);
    }

    /// <summary>The permuted order of epoch <paramref name="epoch"/>: position → sample.</summary>
    public static int[] Permutation(long count, ulong seed, long epoch, bool shuffle = true)
    {
        var order = new int[count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!shuffle) return order;
        var random = SampleRandom.ForEpoch(seed, epoch);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)random.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Batch <paramref name="index"/> of epoch <paramref name="epoch"/> on this rank.</summary>
    public SampleBatch Batch(long epoch, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if ((uint)index >= (uint)BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(index), $"batch {index} of an epoch of {BatchesPerEpoch}");
        int[] order;
        lock (this)
        {
            if (_permutedEpoch != epoch || _permutation is null)
            {
                _permutation = Permutation(_count, _options.Seed, epoch, _options.Shuffle);
                _permutedEpoch = epoch;
            }
            order = _permutation;
        }
        long first = (long)index * _options.BatchSize;
        int size = (int)Math.Min(_options.BatchSize, _options.LastBatch == LastBatchPolicy.Partial ? RankLength - first : _options.BatchSize);
        var samples = new long[size];
        int valid = (int)Math.Clamp(RankLength - first, 0, size);
        for (int k = 0; k < size; k++)
            samples[k] = order[RankStart + Math.Min(first + k, RankLength - 1)];
        return new SampleBatch(epoch, index, samples, valid);
    }

    /// <summary>The state at the start of epoch 0.</summary>
    public LoaderState InitialState => Describe(0, 0);

    public LoaderState Describe(long epoch, long samplesConsumed) => new()
    {
        Epoch = epoch, SamplesConsumed = samplesConsumed, Seed = _options.Seed, Samples = _count,
        BatchSize = _options.BatchSize, Rank = _options.Rank, WorldSize = _options.WorldSize,
        Shuffle = _options.Shuffle, LastBatch = _options.LastBatch,
    };

    /// <summary>The state after batch <paramref name="batch"/> was handed out.</summary>
    public LoaderState After(SampleBatch batch) =>
        batch.Index + 1 >= BatchesPerEpoch ? Describe(batch.Epoch + 1, 0) : Describe(batch.Epoch, (long)(batch.Index + 1) * _options.BatchSize);

    /// <summary>The batches from <paramref name="state"/> on, epoch after epoch, until
    /// <paramref name="endEpoch"/> (exclusive). The state must be this sampler's.</summary>
    public IEnumerable<SampleBatch> Batches(LoaderState state, long endEpoch)
    {
        var (epoch, index) = Position(state);
        for (; epoch < endEpoch; epoch++, index = 0)
            for (; index < BatchesPerEpoch; index++)
                yield return Batch(epoch, index);
    }

    /// <summary>The (epoch, batch) a state resumes at; throws when it belongs to another configuration.</summary>
    public (long Epoch, int Batch) Position(LoaderState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var mine = Describe(state.Epoch, state.SamplesConsumed);
        if (state != mine)
            throw new ArgumentException($"the state {state.ToJson()} was saved by a loader with other settings than this one's {mine.ToJson()}", nameof(state));
        if (state.Epoch < 0 || state.SamplesConsumed < 0 || state.SamplesConsumed % _options.BatchSize != 0
            || state.SamplesConsumed / _options.BatchSize > BatchesPerEpoch)
            throw new ArgumentException($"the state's position (epoch {state.Epoch}, {state.SamplesConsumed} samples) is not a batch boundary of this loader", nameof(state));
        return (state.Epoch, (int)(state.SamplesConsumed / _options.BatchSize));
    }
}
