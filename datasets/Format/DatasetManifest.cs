using System.Globalization;
using System.Text.Json;

namespace L3.Datasets;

/// <summary>What a conversion was asked to do: part of the plan and of the manifest.</summary>
public sealed record ConversionSettings(int PatchSize, string ShardSize, string SourceKind, string ReadOptions = "", string CodingMode = "rows");

/// <summary>The input a conversion read: how many files, their bytes, and an XXH64 digest of the
/// sorted list (names, sizes, labels), so two processes can tell they see the same input.</summary>
public sealed record InputSummary(long Files, long Bytes, ulong Digest);

/// <summary>A shape and how many samples have it.</summary>
public sealed record ShapeCount(int Width, int Height, int Channels, long Samples);

/// <summary>One shard as the manifest lists it.</summary>
public sealed record ShardInfo(
    int Number, string Tar, string Index, long FirstSample, int Samples, int Failures,
    long TarBytes, ulong TarChecksum, long IndexBytes, ulong IndexChecksum, long L3Bytes, long SourceBytes);

/// <summary>
/// `dataset.json` (docs/DATASET.md §4): counts, shapes, classes, the shards with their checksums,
/// and the tool and options that wrote them. Written once every shard is complete; its bytes are a
/// function of the shards alone, so whoever writes it writes the same file.
/// </summary>
public sealed class DatasetManifest
{
    public const string FormatName = "l3-dataset";
    public const int CurrentVersion = 1;

    public required string Tool { get; init; }
    public required ConversionSettings Settings { get; init; }
    public required InputSummary Input { get; init; }
    public required long Samples { get; init; }
    public required long Failures { get; init; }
    public required long SourceBytes { get; init; }
    public required long L3Bytes { get; init; }
    public required long DecodedBytes { get; init; }
    public required IReadOnlyList<string> Classes { get; init; }
    /// <summary>Samples per class (by label), then the unlabelled ones.</summary>
    public required IReadOnlyList<long> LabelCounts { get; init; }
    public required long Unlabelled { get; init; }
    public required IReadOnlyDictionary<int, long> ChannelCounts { get; init; }
    public required IReadOnlyList<ShapeCount> Shapes { get; init; }
    public required IReadOnlyList<ShardInfo> Shards { get; init; }

    public static string Hex(ulong checksum) => checksum.ToString("x16", CultureInfo.InvariantCulture);

    public byte[] Serialize()
    {
        var buffer = new MemoryStream();
        using (var w = Json.Writer(buffer))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", CurrentVersion);
            w.WriteString("tool", Tool);
            w.WriteNumber("l3_format_version", L3.Kernels.FileLayout.CurrentVersion);
            Json.WriteSettings(w, Settings);
            Json.WriteInput(w, Input);
            w.WriteNumber("samples", Samples);
            w.WriteNumber("failures", Failures);
            if (Failures > 0) w.WriteString("failure_report", DatasetLayout.FailureReportFile);
            w.WriteNumber("source_bytes", SourceBytes);
            w.WriteNumber("l3_bytes", L3Bytes);
            w.WriteNumber("decoded_bytes", DecodedBytes);
            w.WriteStartArray("classes");
            foreach (var c in Classes) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteStartArray("label_counts");
            foreach (var c in LabelCounts) w.WriteNumberValue(c);
            w.WriteEndArray();
            w.WriteNumber("unlabelled", Unlabelled);
            w.WriteStartObject("channel_counts");
            foreach (var (channels, count) in ChannelCounts.OrderBy(p => p.Key))
                w.WriteNumber(channels.ToString(CultureInfo.InvariantCulture), count);
            w.WriteEndObject();
            w.WriteStartArray("shapes");
            foreach (var s in Shapes)
            {
                w.WriteStartObject();
                w.WriteNumber("width", s.Width);
                w.WriteNumber("height", s.Height);
                w.WriteNumber("channels", s.Channels);
                w.WriteNumber("samples", s.Samples);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("shards");
            foreach (var s in Shards)
            {
                w.WriteStartObject();
                w.WriteNumber("number", s.Number);
                w.WriteString("tar", s.Tar);
                w.WriteString("index", s.Index);
                w.WriteNumber("first_sample", s.FirstSample);
                w.WriteNumber("samples", s.Samples);
                w.WriteNumber("failures", s.Failures);
                w.WriteNumber("tar_bytes", s.TarBytes);
                w.WriteString("tar_xxh64", Hex(s.TarChecksum));
                w.WriteNumber("index_bytes", s.IndexBytes);
                w.WriteString("index_xxh64", Hex(s.IndexChecksum));
                w.WriteNumber("l3_bytes", s.L3Bytes);
                w.WriteNumber("source_bytes", s.SourceBytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Reads a manifest; anything missing or inconsistent is an L3FormatException naming <paramref name="name"/>.</summary>
    public static DatasetManifest Parse(ReadOnlySpan<byte> bytes, string name)
    {
        try
        {
            using var document = Json.Parse(bytes);
            var root = document.RootElement;
            if (root.GetProperty("format").GetString() != FormatName) throw new L3FormatException($"{name} is not an L3 dataset manifest");
            int version = root.GetProperty("version").GetInt32();
            if (version != CurrentVersion) throw new L3FormatException($"{name} has dataset version {version}; this reader knows {CurrentVersion}");

            var shards = root.GetProperty("shards").EnumerateArray().Select(s => new ShardInfo(
                s.GetProperty("number").GetInt32(), s.GetProperty("tar").GetString()!, s.GetProperty("index").GetString()!,
                s.GetProperty("first_sample").GetInt64(), s.GetProperty("samples").GetInt32(), s.GetProperty("failures").GetInt32(),
                s.GetProperty("tar_bytes").GetInt64(), ParseHex(s.GetProperty("tar_xxh64").GetString()),
                s.GetProperty("index_bytes").GetInt64(), ParseHex(s.GetProperty("index_xxh64").GetString()),
                s.GetProperty("l3_bytes").GetInt64(), s.GetProperty("source_bytes").GetInt64())).ToList();

            var manifest = new DatasetManifest
            {
                Tool = root.GetProperty("tool").GetString()!,
                Settings = Json.ReadSettings(root),
                Input = Json.ReadInput(root),
                Samples = root.GetProperty("samples").GetInt64(),
                Failures = root.GetProperty("failures").GetInt64(),
                SourceBytes = root.GetProperty("source_bytes").GetInt64(),
                L3Bytes = root.GetProperty("l3_bytes").GetInt64(),
                DecodedBytes = root.GetProperty("decoded_bytes").GetInt64(),
                Classes = root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToList(),
                LabelCounts = root.GetProperty("label_counts").EnumerateArray().Select(c => c.GetInt64()).ToList(),
                Unlabelled = root.GetProperty("unlabelled").GetInt64(),
                ChannelCounts = root.GetProperty("channel_counts").EnumerateObject()
                    .ToDictionary(p => int.Parse(p.Name, CultureInfo.InvariantCulture), p => p.Value.GetInt64()),
                Shapes = root.GetProperty("shapes").EnumerateArray().Select(s => new ShapeCount(
                    s.GetProperty("width").GetInt32(), s.GetProperty("height").GetInt32(),
                    s.GetProperty("channels").GetInt32(), s.GetProperty("samples").GetInt64())).ToList(),
                Shards = shards,
            };
            manifest.CheckConsistency(name);
            return manifest;
        }
        // ArgumentException: a key twice in channel_counts ("3" and "03"), found by the dataset-read fuzz target
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException
                                       or ArgumentException)
        {
            throw new L3FormatException($"{name} is not a valid dataset manifest: {e.Message}");
        }
    }

    /// <summary>Shards numbered 0.., each starting where the previous ends, adding up to the sample count.</summary>
    private void CheckConsistency(string name)
    {
        long next = 0;
        for (int i = 0; i < Shards.Count; i++)
        {
            var s = Shards[i];
            if (s.Number != i || s.FirstSample != next || s.Samples < 0 || s.TarBytes < 0
                || s.Tar != DatasetLayout.ShardTarPath(i) || s.Index != DatasetLayout.ShardIndexPath(i))
                throw new L3FormatException($"{name}: shard entry {i} is inconsistent");
            next += s.Samples;
        }
        if (next != Samples) throw new L3FormatException($"{name}: the shards hold {next} samples, the manifest says {Samples}");
        if (LabelCounts.Count != Classes.Count) throw new L3FormatException($"{name}: {LabelCounts.Count} label counts for {Classes.Count} classes");
    }

    private static ulong ParseHex(string? hex) =>
        hex is { Length: 16 } ? ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
                              : throw new FormatException($"'{hex}' is not a 16-digit XXH64");

    /// <summary>The JSON conventions of every file of a dataset: indented with two spaces and '\n'
    /// on every system, so the bytes do not depend on where they were written.</summary>
    internal static class Json
    {
        public static Utf8JsonWriter Writer(Stream stream, bool indented = true) =>
            new(stream, new JsonWriterOptions { Indented = indented, NewLine = "\n", Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        /// <summary>Parses a dataset's JSON file. A key given twice is an error (JsonException): which of
        /// the two values counts would otherwise be up to the reader, and a checksum could be shadowed.</summary>
        public static JsonDocument Parse(ReadOnlySpan<byte> bytes) =>
            JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false });

        public static void WriteSettings(Utf8JsonWriter w, ConversionSettings s)
        {
            w.WriteStartObject("options");
            w.WriteNumber("patch_size", s.PatchSize);
            w.WriteString("shard_size", s.ShardSize);
            w.WriteString("source_kind", s.SourceKind);
            w.WriteString("read_options", s.ReadOptions);
            w.WriteString("coding_mode", s.CodingMode);
            w.WriteEndObject();
        }

        public static ConversionSettings ReadSettings(JsonElement root)
        {
            var o = root.GetProperty("options");
            return new ConversionSettings(o.GetProperty("patch_size").GetInt32(), o.GetProperty("shard_size").GetString()!,
                o.GetProperty("source_kind").GetString()!, o.GetProperty("read_options").GetString()!,
                // datasets written before coding modes were recorded are row-coded
                o.TryGetProperty("coding_mode", out var mode) ? mode.GetString()! : "rows");
        }

        public static void WriteInput(Utf8JsonWriter w, InputSummary input)
        {
            w.WriteStartObject("input");
            w.WriteNumber("files", input.Files);
            w.WriteNumber("bytes", input.Bytes);
            w.WriteString("xxh64", Hex(input.Digest));
            w.WriteEndObject();
        }

        public static InputSummary ReadInput(JsonElement root)
        {
            var o = root.GetProperty("input");
            return new InputSummary(o.GetProperty("files").GetInt64(), o.GetProperty("bytes").GetInt64(), ParseHex(o.GetProperty("xxh64").GetString()));
        }
    }
}
