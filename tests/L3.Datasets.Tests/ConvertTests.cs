using System.Diagnostics;
using System.Formats.Tar;

namespace L3.Datasets.Tests;

/// <summary>Conversion of a tree into a dataset: round trip, determinism, resume after a kill,
/// parts, bad images, and the shards as standard tar files.</summary>
public sealed class ConvertTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l3-datasets-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string PathOf(string name) => Path.Combine(_dir, name);

    private static ConvertOptions Options(int jobs = 2, string shardSize = "7") => new()
    {
        DecodeImage = TestTrees.Decode, Jobs = jobs, ShardSize = ShardSize.Parse(shardSize), PatchSize = 16,
    };

    private ConvertResult Convert(string source, string destination, ConvertOptions options)
    {
        using var images = ImageSource.Open(source);
        return DatasetConverter.Convert(images, destination, options);
    }

    [Fact]
    public void Every_sample_decodes_to_its_source_pixels_with_its_label()
    {
        var images = TestTrees.MakeTree(PathOf("src"), 40);
        var result = Convert(PathOf("src"), PathOf("ds"), Options());
        Assert.True(result.Finalize.Finished);
        Assert.Empty(result.Failures);
        Assert.Equal(6, result.ShardsInDataset); // 40 inputs, 7 a shard

        using var dataset = L3Dataset.Open(PathOf("ds"));
        Assert.Equal(40, dataset.Count);
        Assert.Equal(["cat", "dog", "zebra"], dataset.Classes);
        var names = images.Keys.Order(StringComparer.Ordinal).ToList();
        for (long i = 0; i < dataset.Count; i++)
        {
            string source = dataset.GetSource(i);
            Assert.Equal(names[(int)i], source);
            var expected = images[source];
            var decoded = L3Codec.Decode(dataset.ReadSample(i));
            Assert.Equal((expected.Width, expected.Height, expected.Channels), (decoded.Width, decoded.Height, decoded.Channels));
            Assert.True(expected.Pixels.AsSpan().SequenceEqual(decoded.Pixels), $"sample {i} ({source})");
            var entry = dataset.Locate(i).Entry;
            Assert.Equal((expected.Width, expected.Height, expected.Channels, 16), (entry.Width, entry.Height, entry.Channels, entry.PatchSize));
            int label = source.Contains('/') ? Array.IndexOf(["cat", "dog", "zebra"], source[..source.IndexOf('/')]) : -1;
            Assert.Equal(label, dataset.GetLabel(i));
        }
        Assert.Equal(images.Values.Sum(i => (long)i.Pixels.Length), dataset.Manifest.DecodedBytes);
        Assert.Equal(40, dataset.Manifest.ChannelCounts.Values.Sum());
        Assert.True(DatasetVerifier.Verify(dataset, jobs: 2).Ok);
    }

    [Fact]
    public void Two_runs_with_different_jobs_write_the_same_bytes()
    {
        TestTrees.MakeTree(PathOf("src"), 30);
        Convert(PathOf("src"), PathOf("a"), Options(jobs: 1));
        Convert(PathOf("src"), PathOf("b"), Options(jobs: 4));
        TestTrees.AssertSameFiles(PathOf("a"), PathOf("b"));
    }

    [Fact]
    public void A_run_killed_mid_shard_resumes_without_redoing_shards_and_gives_the_same_bytes()
    {
        TestTrees.MakeTree(PathOf("src"), 40);
        Convert(PathOf("src"), PathOf("whole"), Options());

        Assert.Throws<SimulatedKillException>(() => Convert(PathOf("src"), PathOf("resumed"), Options() with { StopAfterShards = 2 }));
        // killed inside shard 2: two shards complete, shard 2's temporary file left, no manifest
        Assert.Single(Directory.GetFiles(PathOf("resumed/shards"), "*.tmp"));
        Assert.False(File.Exists(PathOf("resumed/dataset.json")));
        Assert.Throws<L3FormatException>(() => L3Dataset.Open(PathOf("resumed")));
        var kept = File.GetLastWriteTimeUtc(PathOf("resumed/shards/shard-000000.tar"));

        var result = Convert(PathOf("src"), PathOf("resumed"), Options(jobs: 3));
        Assert.Equal(2, result.ShardsAlreadyComplete);
        Assert.Equal(4, result.ShardsWritten);
        Assert.Equal(kept, File.GetLastWriteTimeUtc(PathOf("resumed/shards/shard-000000.tar")));
        TestTrees.AssertSameFiles(PathOf("whole"), PathOf("resumed")); // the stale temporary file is gone too

        // and a run over a finished dataset changes nothing
        var again = Convert(PathOf("src"), PathOf("resumed"), Options());
        Assert.Equal(6, again.ShardsAlreadyComplete);
        TestTrees.AssertSameFiles(PathOf("whole"), PathOf("resumed"));
    }

    [Fact]
    public void A_damaged_shard_is_converted_again()
    {
        TestTrees.MakeTree(PathOf("src"), 20);
        Convert(PathOf("src"), PathOf("whole"), Options());
        Convert(PathOf("src"), PathOf("ds"), Options());
        File.WriteAllBytes(PathOf("ds/shards/shard-000001.tar"), [1, 2, 3]); // length no longer matches its index
        File.Delete(PathOf("ds/shards/shard-000002.idx"));                  // tar without index: not complete
        var result = Convert(PathOf("src"), PathOf("ds"), Options());
        Assert.Equal(2, result.ShardsWritten);
        TestTrees.AssertSameFiles(PathOf("whole"), PathOf("ds"));
    }

    [Fact]
    public void Parts_together_make_the_same_dataset_as_one_run()
    {
        TestTrees.MakeTree(PathOf("src"), 45);
        Convert(PathOf("src"), PathOf("one"), Options());
        var results = new List<ConvertResult>();
        for (int part = 2; part >= 0; part--)
            results.Add(Convert(PathOf("src"), PathOf("parts"), Options() with { Part = part, Parts = 3 }));
        Assert.False(results[0].Finalize.Finished);
        Assert.False(results[1].Finalize.Finished);
        Assert.True(results[2].Finalize.Finished); // the last part to finish writes the manifest
        Assert.Equal([2, 2, 3], results.Select(r => r.ShardsWritten)); // 7 shards: part p takes s mod 3 = p (run 2, 1, 0)
        TestTrees.AssertSameFiles(PathOf("one"), PathOf("parts"));
    }

    [Fact]
    public void Parts_run_at_once_make_the_same_dataset_as_one_run()
    {
        TestTrees.MakeTree(PathOf("src"), 60);
        Convert(PathOf("src"), PathOf("one"), Options(shardSize: "3"));
        Parallel.For(0, 4, part => Convert(PathOf("src"), PathOf("parts"), Options(jobs: 1, shardSize: "3") with { Part = part, Parts = 4 }));
        TestTrees.AssertSameFiles(PathOf("one"), PathOf("parts"));
    }

    [Fact]
    public void Bad_images_are_reported_and_the_rest_converted()
    {
        var images = TestTrees.MakeTree(PathOf("src"), 20);
        var good = TestTrees.Encode(4, 4, 3, TestTrees.Pixels(4, 4, 3, 1));
        TestTrees.Write(PathOf("src"), "cat/bad-1-truncated.png", good[..20]);
        TestTrees.Write(PathOf("src"), "dog/bad-2-two-channels.png", TestTrees.Encode(2, 2, 2, new byte[8]));
        TestTrees.Write(PathOf("src"), "dog/bad-3-not-an-image.png", "hello"u8.ToArray());

        var result = Convert(PathOf("src"), PathOf("ds"), Options());
        Assert.Equal(3, result.Failures.Count);
        Assert.Equal(["cat/bad-1-truncated.png", "dog/bad-2-two-channels.png", "dog/bad-3-not-an-image.png"], result.Failures.Select(f => f.Source));
        Assert.Contains("truncated", result.Failures[0].Reason);
        string report = File.ReadAllText(PathOf("ds/failures.txt"));
        Assert.Contains("dog/bad-2-two-channels.png\t2 channels are not supported", report);
        using var dataset = L3Dataset.Open(PathOf("ds"));
        Assert.Equal(20, dataset.Count);
        Assert.Equal(3, dataset.Manifest.Failures);
        Assert.Equal(3, dataset.Failures().Count());
        Assert.Equal(images.Keys.Order(StringComparer.Ordinal), Enumerable.Range(0, 20).Select(i => dataset.GetSource(i)));
        Assert.True(DatasetVerifier.Verify(dataset, 2).Ok);

        // --strict: stops at the first, writes no manifest
        var strict = Assert.Throws<DatasetException>(() => Convert(PathOf("src"), PathOf("strict"), Options() with { Strict = true }));
        Assert.Contains("bad-1-truncated.png", strict.Message);
        Assert.False(File.Exists(PathOf("strict/dataset.json")));
        Assert.Empty(Directory.GetFiles(PathOf("strict/shards"), "*.tmp"));
    }

    [Fact]
    public void Shards_are_tar_files_that_TarReader_and_GNU_tar_read_with_data_at_the_indexed_offsets()
    {
        TestTrees.MakeTree(PathOf("src"), 10);
        Convert(PathOf("src"), PathOf("ds"), Options(shardSize: "100"));
        using var dataset = L3Dataset.Open(PathOf("ds"));
        var index = dataset.GetIndex(0);
        using (var stream = File.OpenRead(dataset.ShardPath(0)))
        using (var reader = new TarReader(stream))
        {
            var members = new List<(string Name, long Offset, byte[] Data)>();
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                members.Add((entry.Name, entry.DataOffset, data.ToArray()));
                Assert.Equal(0, entry.DataOffset % 4);
            }
            var l3Members = members.Where(m => m.Name.EndsWith(".l3")).ToList();
            Assert.Equal(10, l3Members.Count);
            for (int i = 0; i < 10; i++)
            {
                Assert.Equal(index.Samples[i].Key + ".l3", l3Members[i].Name);
                Assert.Equal(index.Samples[i].DataOffset, l3Members[i].Offset);
                Assert.Equal(dataset.ReadSample(i), l3Members[i].Data);
            }
            Assert.Equal("0", System.Text.Encoding.ASCII.GetString(members.Single(m => m.Name == "000000000.cls").Data)); // cat/…
            string rootKey = index.Samples.Single(s => s.Label == -1).Key; // root-image.png has no class: no .cls member
            Assert.Contains(members, m => m.Name == rootKey + ".json");
            Assert.DoesNotContain(members, m => m.Name == rootKey + ".cls");
        }

        var tar = Process.Start(new ProcessStartInfo("tar", ["-tvf", dataset.ShardPath(0)]) { RedirectStandardOutput = true, RedirectStandardError = true });
        if (tar is null) return; // no GNU tar here: TarReader above is the check
        string listing = tar.StandardOutput.ReadToEnd();
        tar.WaitForExit();
        Assert.Equal(0, tar.ExitCode);
        Assert.Contains("000000009.l3", listing);
        Assert.Equal(10 * 2 + 9, listing.Trim().Split('\n').Length);
    }

    [Fact]
    public void A_destination_of_other_input_or_options_is_refused()
    {
        TestTrees.MakeTree(PathOf("src"), 10);
        Convert(PathOf("src"), PathOf("ds"), Options());
        var other = Assert.Throws<DatasetException>(() => Convert(PathOf("src"), PathOf("ds"), Options() with { PatchSize = 32 }));
        Assert.Contains("other options", other.Message);
        var dense = Assert.Throws<DatasetException>(() => Convert(PathOf("src"), PathOf("ds"), Options() with { Mode = L3CodingMode.Dense }));
        Assert.Contains("CodingMode = rows", dense.Message);
        TestTrees.Write(PathOf("src"), "cat/new.png", TestTrees.Encode(1, 1, 1, [5]));
        Assert.Contains("other input", Assert.Throws<DatasetException>(() => Convert(PathOf("src"), PathOf("ds"), Options())).Message);
    }

    [Fact]
    public void A_folder_left_by_a_part_starting_at_the_same_time_is_joined_and_an_unrelated_folder_refused()
    {
        TestTrees.MakeTree(PathOf("src"), 10);
        Convert(PathOf("src"), PathOf("one"), Options());

        // what a concurrent part may have made before its plan is published: its folders and the plan's temporary file
        Directory.CreateDirectory(PathOf("joined/shards"));
        Directory.CreateDirectory(PathOf("joined/parts"));
        TestTrees.Write(PathOf("joined"), ".plan.json.host-1-0.tmp", [1, 2, 3]);
        Convert(PathOf("src"), PathOf("joined"), Options());
        File.Delete(PathOf("joined/.plan.json.host-1-0.tmp")); // another process's file: its owner removes it
        TestTrees.AssertSameFiles(PathOf("one"), PathOf("joined"));

        TestTrees.Write(PathOf("unrelated"), "notes.txt", [1]);
        Directory.CreateDirectory(PathOf("unrelated/shards"));
        var refused = Assert.Throws<DatasetException>(() => Convert(PathOf("src"), PathOf("unrelated"), Options()));
        Assert.Contains("not an L3 dataset conversion", refused.Message);
        Assert.Equal(["notes.txt", "shards"], Directory.EnumerateFileSystemEntries(PathOf("unrelated")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_tar_of_images_and_a_list_give_the_same_samples_as_the_tree()
    {
        TestTrees.MakeTree(PathOf("src"), 15);
        Convert(PathOf("src"), PathOf("from-tree"), Options());
        TarFile.CreateFromDirectory(PathOf("src"), PathOf("src.tar"), includeBaseDirectory: false);
        Convert(PathOf("src.tar"), PathOf("from-tar"), Options());
        // the shards are the same; the plan and manifest name the source kind, so they differ there only
        foreach (var name in Directory.GetFiles(PathOf("from-tree/shards")).Select(Path.GetFileName))
            Assert.Equal(File.ReadAllBytes(PathOf("from-tree/shards/" + name)), File.ReadAllBytes(PathOf("from-tar/shards/" + name)));

        var names = Directory.GetFiles(PathOf("src"), "*.png", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(PathOf("src"), f).Replace('\\', '/')).Where(n => !n.StartsWith('.'))
            .OrderByDescending(n => n, StringComparer.Ordinal).ToList();
        File.WriteAllLines(PathOf("src/list.txt"), names.Select(n => n.Contains('/') ? $"{n}\t{n[..n.IndexOf('/')]}" : n));
        Convert(PathOf("src/list.txt"), PathOf("from-list"), Options());
        using var dataset = L3Dataset.Open(PathOf("from-list"));
        Assert.Equal(names, Enumerable.Range(0, 15).Select(i => dataset.GetSource(i))); // a list keeps its order
        Assert.Equal(["cat", "dog", "zebra"], dataset.Classes);
    }
}
