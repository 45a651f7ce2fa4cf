namespace L3.Datasets.Tests;

/// <summary>The reader and verifier against damaged datasets, and the layout's rules.</summary>
public sealed class ReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-datasets-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string PathOf(string name) => Path.Combine(_dir, name);

    private void MakeDataset(int images = 12, string shardSize = "5")
    {
        TestTrees.MakeTree(PathOf("src"), images);
        using var source = ImageSource.Open(PathOf("src"));
        DatasetConverter.Convert(source, PathOf("ds"), new ConvertOptions { DecodeImage = TestTrees.Decode, ShardSize = ShardSize.Parse(shardSize), Jobs = 2 });
    }

    [Fact]
    public void A_flipped_byte_in_a_shard_fails_verification_naming_the_shard()
    {
        MakeDataset();
        using (var dataset = L3Dataset.Open(PathOf("ds")))
        {
            Assert.True(DatasetVerifier.Verify(dataset, 2).Ok);
            long at = dataset.Locate(6).Entry.DataOffset + 60;
            var bytes = File.ReadAllBytes(dataset.ShardPath(1));
            bytes[at] ^= 0x01;
            File.WriteAllBytes(dataset.ShardPath(1), bytes);
        }
        using (var dataset = L3Dataset.Open(PathOf("ds")))
        {
            var report = DatasetVerifier.Verify(dataset, 2);
            Assert.False(report.Ok);
            Assert.Contains(report.Problems, p => p.Contains("shard-000001.tar") && p.Contains("XXH64"));
            Assert.Contains(report.Problems, p => p.Contains("sample 6"));
            Assert.Throws<L3FormatException>(() => L3Codec.Decode(dataset.ReadSample(6)));
        }
    }

    [Theory]
    [InlineData(0, (byte)0x00)]    // not JSON
    [InlineData(2, (byte)'x')]      // "source" misspelt: no such key (found by the dataset-read fuzz target)
    public void Corrupt_sample_metadata_is_an_L3FormatException_naming_shard_and_key(int at, byte value)
    {
        MakeDataset(images: 3);
        using (var dataset = L3Dataset.Open(PathOf("ds")))
        {
            var entry = dataset.Locate(1).Entry;
            var bytes = File.ReadAllBytes(dataset.ShardPath(0));
            var metadata = bytes.AsSpan((int)entry.MetadataOffset, entry.MetadataLength);
            int field = metadata.IndexOf("\"source\""u8);
            bytes[(int)entry.MetadataOffset + (at == 0 ? 0 : field + at)] = value;
            File.WriteAllBytes(dataset.ShardPath(0), bytes);
        }
        using (var dataset = L3Dataset.Open(PathOf("ds")))
        {
            var e = Assert.Throws<L3FormatException>(() => dataset.GetSource(1));
            Assert.Contains("shard-000000.tar", e.Message);
            Assert.Contains($"key {dataset.Locate(1).Entry.Key}", e.Message);
            Assert.NotEmpty(dataset.GetSource(0));
        }
    }

    [Fact]
    public void A_channel_counted_twice_in_the_manifest_is_an_L3FormatException()
    {
        MakeDataset(images: 3);
        string path = Path.Combine(PathOf("ds"), "dataset.json");
        string json = File.ReadAllText(path);
        int counts = json.IndexOf("\"channel_counts\"", StringComparison.Ordinal);
        Assert.True(counts >= 0);
        int open = json.IndexOf('{', counts);
        File.WriteAllText(path, json[..(open + 1)] + "\"03\": 1, \"3\": 1, " + json[(open + 1)..]);
        var e = Assert.Throws<L3FormatException>(() => L3Dataset.Open(PathOf("ds")));
        Assert.Contains("not a valid dataset manifest", e.Message);
    }

    [Theory]
    [InlineData("\"index_xxh64\"")]   // a shard's checksum given twice: the second could shadow the first
    [InlineData("\"samples\"")]
    public void A_key_given_twice_in_the_manifest_is_an_L3FormatException(string key)
    {
        MakeDataset(images: 3);
        string path = Path.Combine(PathOf("ds"), "dataset.json");
        string json = File.ReadAllText(path);
        int at = json.LastIndexOf(key, StringComparison.Ordinal);
        Assert.True(at >= 0);
        int end = json.IndexOfAny([',', '\n', '}'], json.IndexOf(':', at));
        File.WriteAllText(path, json[..at] + json[at..end] + ", " + json[at..]);
        var e = Assert.Throws<L3FormatException>(() => L3Dataset.Open(PathOf("ds")));
        Assert.Contains("not a valid dataset manifest", e.Message);
    }

    [Fact]
    public void A_truncated_shard_or_altered_index_is_an_L3FormatException()
    {
        MakeDataset();
        using (var stream = new FileStream(PathOf("ds/shards/shard-000002.tar"), FileMode.Open)) stream.SetLength(stream.Length - 1024);
        var index = File.ReadAllBytes(PathOf("ds/shards/shard-000001.idx"));
        index[70] ^= 0x40;
        File.WriteAllBytes(PathOf("ds/shards/shard-000001.idx"), index);
        using var dataset = L3Dataset.Open(PathOf("ds"));
        Assert.Equal(12, dataset.ReadSample(0).Length > 0 ? 12 : 0);
        Assert.Contains("shard-000001.idx", Assert.Throws<L3FormatException>(() => dataset.ReadSample(5)).Message);
        Assert.Contains("shard-000002.tar", Assert.Throws<L3FormatException>(() => dataset.ReadSample(10)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.ReadSample(12));
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.ReadSample(-1));
    }

    [Fact]
    public void Every_truncation_and_bit_flip_of_an_index_is_refused()
    {
        MakeDataset(6, "10");
        var bytes = File.ReadAllBytes(PathOf("ds/shards/shard-000000.idx"));
        var index = ShardIndex.Parse(bytes, "idx");
        Assert.Equal(bytes, index.Serialize());
        for (int length = 0; length < bytes.Length; length++)
            Assert.Throws<L3FormatException>(() => ShardIndex.Parse(bytes.AsSpan(0, length), "idx"));
        for (int bit = 0; bit < bytes.Length * 8; bit += 3)
        {
            var flipped = (byte[])bytes.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<L3FormatException>(() => ShardIndex.Parse(flipped, "idx"));
        }
    }

    [Fact]
    public void Samples_are_found_across_shards_of_every_size()
    {
        MakeDataset(23, "4");
        using var dataset = L3Dataset.Open(PathOf("ds"));
        long sample = 0;
        for (int shard = 0; shard < dataset.Shards.Count; shard++)
            for (int i = 0; i < dataset.Shards[shard].Samples; i++, sample++)
                Assert.Equal((shard, i), dataset.Find(sample));
        Assert.Equal(23, sample);
    }

    [Fact]
    public void An_unfinished_dataset_says_so()
    {
        TestTrees.MakeTree(PathOf("src"), 12);
        using var source = ImageSource.Open(PathOf("src"));
        var result = DatasetConverter.Convert(source, PathOf("ds"),
            new ConvertOptions { DecodeImage = TestTrees.Decode, ShardSize = ShardSize.Parse("3"), Part = 0, Parts = 2 });
        Assert.Equal(2, result.Finalize.MissingShards);
        Assert.Contains("not finished", Assert.Throws<L3FormatException>(() => L3Dataset.Open(PathOf("ds"))).Message);
        Assert.False(DatasetConverter.TryFinalize(PathOf("ds")).Finished);
    }

    [Theory]
    [InlineData("1000", 1000, 0)]
    [InlineData("256MB", 0, 256_000_000)]
    [InlineData("1GiB", 0, 1L << 30)]
    [InlineData("1.5k", 0, 1500)]
    [InlineData("250B", 0, 250)]
    public void Shard_sizes_parse(string text, long images, long bytes) =>
        Assert.Equal(new ShardSize(images, bytes), ShardSize.Parse(text));

    [Fact]
    public void A_byte_budget_closes_a_shard_before_the_input_that_would_pass_it()
    {
        Directory.CreateDirectory(PathOf("src"));
        int[] sizes = [100, 100, 100, 250, 10, 10, 400, 1];
        for (int i = 0; i < sizes.Length; i++) File.WriteAllBytes(PathOf($"src/{i}.png"), new byte[sizes[i]]);
        using var source = ImageSource.Open(PathOf("src"));
        var plan = ConvertPlan.Create(source, 64, ShardSize.Parse("250B"));
        // 100+100 | 100 | 250 | 10+10 | 400 (a shard takes at least one input) | 1
        Assert.Equal([2, 1, 1, 2, 1, 1], plan.ShardInputs);
    }
}
