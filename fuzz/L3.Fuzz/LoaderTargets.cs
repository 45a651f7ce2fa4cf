using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Nodes;
using L3.Datasets;
using L3.Loading;

namespace L3.Fuzz;

/// <summary>
/// The training input's parsers: the dataset reader (manifest, shard index, tar members, sample
/// metadata, through <see cref="L3Dataset"/> and the loader's <see cref="SampleSource"/>) and the
/// loader's sample path (the reader's header and table check of a file's first bytes, the crop, the
/// touched patches' checks, and the CPU reference of the output stage on the decoded region).
/// </summary>
internal static class LoaderTargets
{
    /// <summary>The dataset input: three sections, each a little-endian u32 length then its bytes:
    /// dataset.json, then shard 0's index; the rest is shard 0's tar.</summary>
    public static byte[] PackDataset(byte[] manifest, byte[] index, byte[] tar)
    {
        var bytes = new byte[8 + manifest.Length + index.Length + tar.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)manifest.Length);
        manifest.CopyTo(bytes, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 + manifest.Length), (uint)index.Length);
        index.CopyTo(bytes, 8 + manifest.Length);
        tar.CopyTo(bytes, 8 + manifest.Length + index.Length);
        return bytes;
    }

    private static readonly string Work = Path.Combine(Path.GetTempPath(), $"l3-fuzz-dataset-{Environment.ProcessId}");

    /// <summary>
    /// Writes the input as a dataset folder and reads every sample (up to 64) as the loader and the CLI
    /// do. Shard 0's entry in the manifest is resealed to the index and tar given (lengths, XXH64, fixed
    /// names), unless the input's last byte is odd, so that mutated indexes get past the checksum.
    /// The promise: <see cref="L3FormatException"/> for anything bad, never another exception or a hang.
    /// </summary>
    public static void ReadDataset(byte[] input)
    {
        if (input.Length < 8) return;
        var span = input.AsSpan();
        uint manifestLength = BinaryPrimitives.ReadUInt32LittleEndian(span);
        if (manifestLength > span.Length - 8) return;
        var manifest = span.Slice(4, (int)manifestLength).ToArray();
        uint indexLength = BinaryPrimitives.ReadUInt32LittleEndian(span[(4 + (int)manifestLength)..]);
        if (indexLength > span.Length - 8 - manifestLength) return;
        var index = span.Slice(8 + (int)manifestLength, (int)indexLength).ToArray();
        var tar = span[(8 + (int)manifestLength + (int)indexLength)..].ToArray();
        if ((input[^1] & 1) == 0) manifest = Reseal(manifest, index, tar);

        if (Directory.Exists(Work)) Directory.Delete(Work, true);
        Directory.CreateDirectory(Path.Combine(Work, "shards"));
        File.WriteAllBytes(Path.Combine(Work, "dataset.json"), manifest);
        File.WriteAllBytes(Path.Combine(Work, DatasetLayout.ShardIndexPath(0)), index);
        File.WriteAllBytes(Path.Combine(Work, DatasetLayout.ShardTarPath(0)), tar);
        try
        {
            using var dataset = L3Dataset.Open(Work);
            long samples = Math.Min(dataset.Count, 64);
            for (long s = 0; s < samples; s++)
            {
                var location = dataset.Locate(s);
                var file = dataset.ReadSample(s);
                if (file.Length != location.Entry.Length) throw new FuzzFinding($"sample {s}: {file.Length} bytes read of {location.Entry.Length}");
                _ = dataset.GetLabel(s);
                _ = dataset.GetSource(s);
            }
            using var source = SampleSource.FromDataset(dataset);
            for (long s = 0; s < samples; s++)
            {
                var bytes = new byte[source.GetLength(s)];
                source.Read(s, 0, bytes);
                _ = source.Describe(s);
                _ = source.GetLabel(s);
            }
            if (dataset.Count <= 64) _ = DatasetVerifier.Verify(dataset, 1);
        }
        catch (L3FormatException) { }
    }

    /// <summary>Shard 0's entry in the manifest made to agree with the given index and tar: lengths, the
    /// index's XXH64, the paths the target writes, and, when the index parses, its sample count and tar
    /// checksum (so a mutated tar gets past the reader's checks; the verifier hashes it). JSON that does
    /// not parse is left as it is.</summary>
    private static byte[] Reseal(byte[] manifest, byte[] index, byte[] tar)
    {
        try
        {
            if (JsonNode.Parse(manifest, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) is not JsonObject root || root["shards"] is not JsonArray { Count: > 0 } shards
                || shards[0] is not JsonObject shard) return manifest;
            shard["tar"] = DatasetLayout.ShardTarPath(0);
            shard["index"] = DatasetLayout.ShardIndexPath(0);
            shard["tar_bytes"] = tar.Length;
            shard["index_bytes"] = index.Length;
            shard["index_xxh64"] = XxHash64.HashToUInt64(index).ToString("x16");
            shard["tar_xxh64"] = XxHash64.HashToUInt64(tar).ToString("x16");
            ShardIndex? parsed = null;
            try { parsed = ShardIndex.Parse(index, "index"); }
            catch (L3FormatException) { }
            if (parsed is not null && shards.Count == 1)
            {
                shard["samples"] = parsed.Samples.Count;
                root["samples"] = parsed.Samples.Count;
                shard["tar_xxh64"] = parsed.TarChecksum.ToString("x16");
            }
            return JsonSerializer.SerializeToUtf8Bytes(root);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // not JSON the resealer can edit (invalid UTF-8 in a string, a key given twice): the reader gets it as it is
            return manifest;
        }
    }

    /// <summary>
    /// The loader's sample path on one L3 file, with an output chosen by the input's hash: the header
    /// and table checked from the first bytes (as the reader does) must agree with the check of the
    /// whole file; the crop lies inside the image; every touched patch is checked; then the CPU
    /// reference on the decoded region equals the reference on the whole decoded image.
    /// </summary>
    public static void SamplePath(byte[] file)
    {
        ulong hash = XxHash64.HashToUInt64(file);
        L3Header header;
        try
        {
            var head = file.AsSpan(0, Math.Min(file.Length, 64 * 1024));
            int needed = L3Header.HeaderLength(head, file.Length);
            header = L3Header.Read(file.AsSpan(0, Math.Min(needed, file.Length)), file.Length);
        }
        catch (L3FormatException e)
        {
            try { L3Header.Read(file); }
            catch (L3FormatException) { return; }
            throw new FuzzFinding($"the reader's header check refuses ({e.Message}) what L3Header.Read of the whole file accepts");
        }

        var crops = new[] { CropMode.RandomResized, CropMode.Center, CropMode.Full };
        var types = new[] { OutputType.UInt8, OutputType.Float32, OutputType.Float16, OutputType.BFloat16 };
        int outputChannels = header.Channels switch { 1 => (hash & 1) == 0 ? 1 : 3, 4 => (hash & 1) == 0 ? 3 : 4, _ => 3 };
        var options = new AugmentOptions
        {
            Crop = crops[(int)((hash >> 1) % 3)], Width = 1 + (int)((hash >> 8) % 24), Height = 1 + (int)((hash >> 16) % 24),
            Channels = outputChannels, Type = types[(int)((hash >> 24) % 4)],
            Layout = (hash >> 28 & 1) == 0 ? TensorLayout.ChannelsFirst : TensorLayout.ChannelsLast,
        };
        if (options.Crop == CropMode.Full && (long)header.Width * header.Height > 1 << 16) return; // the reference is slow on large outputs
        var box = CropBox.Choose(options, header.Width, header.Height, hash, (long)((hash >> 32) % 7), (long)(hash >> 40));
        if (box.X < 0 || box.Y < 0 || box.Width < 1 || box.Height < 1 || box.X + box.Width > header.Width || box.Y + box.Height > header.Height)
            throw new FuzzFinding($"crop {box} lies outside the {header.Width}x{header.Height} image");

        int n = header.PatchSize;
        int px0 = box.X / n, px1 = (box.X + box.Width - 1) / n, py0 = box.Y / n, py1 = (box.Y + box.Height - 1) / n;
        try
        {
            for (int py = py0; py <= py1; py++)
                for (int px = px0; px <= px1; px++)
                    PatchFormat.ValidatePatch(file, header, py * header.PatchesX + px);
        }
        catch (L3FormatException) { return; }

        int regionX = px0 * n, regionY = py0 * n;
        int regionWidth = Math.Min((px1 + 1) * n, header.Width) - regionX, regionHeight = Math.Min((py1 + 1) * n, header.Height) - regionY;
        L3Image region;
        // a dense file's tables and streams are checked only by decoding them (the loader's kernel
        // finds a bad stream, and the host states it with this same decode)
        try { region = L3Codec.DecodeRegion(file, regionX, regionY, regionWidth, regionHeight); }
        catch (L3FormatException) when (header.Mode == L3CodingMode.Dense) { return; }
        var inRegion = box with { X = box.X - regionX, Y = box.Y - regionY };
        var fromRegion = AugmentReference.Apply(region, inRegion, options);

        L3Image whole;
        try { whole = L3Codec.DecodeRegion(file, 0, 0, header.Width, header.Height); }
        catch (L3FormatException) { return; } // a patch the crop does not touch is bad
        if (!fromRegion.AsSpan().SequenceEqual(AugmentReference.Apply(whole, box, options)))
            throw new FuzzFinding($"the reference on the decoded region differs from the reference on the whole image (crop {box})");
    }
}
