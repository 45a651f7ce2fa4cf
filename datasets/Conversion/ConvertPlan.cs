using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace L3.Datasets;

/// <summary>
/// How many inputs go into a shard: a count of images ("1000"), or a budget of source bytes
/// ("256MB", "1GiB"): a shard takes inputs in order while their source bytes stay within the
/// budget, and always at least one. Both depend only on the sorted input list, so every process
/// of a conversion cuts the same shards without converting anything.
/// </summary>
public readonly record struct ShardSize(long Images, long SourceBytes)
{
    public static ShardSize Default { get; } = Parse("256MB");

    public static ShardSize Parse(string text)
    {
        string t = text.Trim();
        if (long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long images))
            return images >= 1 ? new ShardSize(images, 0) : throw new FormatException($"--shard-size {text}: at least 1 image");
        (string Suffix, long Scale)[] units =
        [
            ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("KB", 1000), ("MB", 1000_000), ("GB", 1000_000_000),
            ("K", 1000), ("M", 1000_000), ("G", 1000_000_000), ("B", 1),
        ];
        foreach (var (suffix, scale) in units)
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(t[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
                && value * scale >= 1)
                return new ShardSize(0, (long)(value * scale));
        throw new FormatException($"--shard-size {text}: give a number of images (1000) or of source bytes (256MB, 1GiB)");
    }

    public override string ToString() =>
        Images > 0 ? $"{Images.ToString(CultureInfo.InvariantCulture)} images" : $"{SourceBytes.ToString(CultureInfo.InvariantCulture)} source bytes";
}

/// <summary>
/// The conversion plan (`plan.json`, docs/DATASET.md §5): the settings, the input's digest, the
/// classes and each shard's input range. It is a function of the input list and the options, so
/// every part of a conversion computes the same plan; the first to start writes it, the others
/// (and every resumed run) check theirs is identical, so no one adds to a dataset made from
/// other input or other options.
/// </summary>
public sealed class ConvertPlan
{
    public const string FormatName = "l3-dataset-plan";

    public required string Tool { get; init; }
    public required ConversionSettings Settings { get; init; }
    public required InputSummary Input { get; init; }
    public required IReadOnlyList<string> Classes { get; init; }
    /// <summary>Inputs per shard; shard s covers the inputs after those of shards 0..s−1.</summary>
    public required IReadOnlyList<int> ShardInputs { get; init; }

    private long[]? _firsts;

    public int ShardCount => ShardInputs.Count;

    public (long First, int Count) ShardRange(int shard)
    {
        if (_firsts is null)
        {
            var firsts = new long[ShardInputs.Count];
            for (int s = 1; s < firsts.Length; s++) firsts[s] = firsts[s - 1] + ShardInputs[s - 1];
            _firsts = firsts;
        }
        return (_firsts[shard], ShardInputs[shard]);
    }

    /// <summary>Part <paramref name="part"/> of <paramref name="parts"/> owns shards s with s mod parts = part.</summary>
    public static bool IsOwnedBy(int shard, int part, int parts) => shard % parts == part;

    public static ConvertPlan Create(ImageSource source, int patchSize, ShardSize shardSize, string readOptions = "", L3CodingMode mode = L3CodingMode.Rows)
    {
        var items = source.Items;
        var classes = items.Select(i => i.ClassName).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        var labels = classes.Select((name, label) => (name, label)).ToDictionary(p => p.name, p => p.label, StringComparer.Ordinal);

        var digest = new XxHash64();
        Span<byte> number = stackalloc byte[12];
        long bytes = 0;
        foreach (var item in items)
        {
            digest.Append(Encoding.UTF8.GetBytes(item.Name));
            BinaryPrimitives.WriteInt64LittleEndian(number, item.Size);
            BinaryPrimitives.WriteInt32LittleEndian(number[8..], item.ClassName is null ? -1 : labels[item.ClassName]);
            digest.Append([0]);
            digest.Append(number);
            bytes += item.Size;
        }

        var shardInputs = new List<int>();
        int count = 0;
        long shardBytes = 0;
        foreach (var item in items)
        {
            bool full = shardSize.Images > 0 ? count == shardSize.Images : count > 0 && shardBytes + item.Size > shardSize.SourceBytes;
            if (full)
            {
                shardInputs.Add(count);
                count = 0;
                shardBytes = 0;
            }
            count++;
            shardBytes += item.Size;
        }
        if (count > 0) shardInputs.Add(count);

        return new ConvertPlan
        {
            Tool = DatasetLayout.ToolVersion,
            Settings = new ConversionSettings(patchSize, shardSize.Images > 0
                ? shardSize.Images.ToString(CultureInfo.InvariantCulture)
                : shardSize.SourceBytes.ToString(CultureInfo.InvariantCulture) + "B", source.Kind, readOptions,
                mode.ToString().ToLowerInvariant()),
            Input = new InputSummary(items.Count, bytes, digest.GetCurrentHashAsUInt64()),
            Classes = classes,
            ShardInputs = shardInputs,
        };
    }

    /// <summary>The label of a class name (−1 for none).</summary>
    public int LabelOf(string? className)
    {
        if (className is null) return -1;
        _labels ??= Classes.Select((name, label) => (name, label)).ToDictionary(p => p.name, p => p.label, StringComparer.Ordinal);
        return _labels[className];
    }

    private Dictionary<string, int>? _labels;

    public byte[] Serialize()
    {
        var buffer = new MemoryStream();
        using (var w = DatasetManifest.Json.Writer(buffer))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", DatasetManifest.CurrentVersion);
            w.WriteString("tool", Tool);
            DatasetManifest.Json.WriteSettings(w, Settings);
            DatasetManifest.Json.WriteInput(w, Input);
            w.WriteStartArray("classes");
            foreach (var c in Classes) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteStartArray("shard_inputs");
            foreach (var n in ShardInputs) w.WriteNumberValue(n);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    public static ConvertPlan Parse(ReadOnlySpan<byte> bytes, string name)
    {
        try
        {
            using var document = DatasetManifest.Json.Parse(bytes);
            var root = document.RootElement;
            if (root.GetProperty("format").GetString() != FormatName) throw new L3FormatException($"{name} is not a conversion plan");
            var plan = new ConvertPlan
            {
                Tool = root.GetProperty("tool").GetString()!,
                Settings = DatasetManifest.Json.ReadSettings(root),
                Input = DatasetManifest.Json.ReadInput(root),
                Classes = root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToList(),
                ShardInputs = root.GetProperty("shard_inputs").EnumerateArray().Select(c => c.GetInt32()).ToList(),
            };
            if (plan.ShardInputs.Any(n => n < 1) || plan.ShardInputs.Sum(n => (long)n) != plan.Input.Files)
                throw new L3FormatException($"{name}: the shards' inputs do not add up to the input count");
            return plan;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new L3FormatException($"{name} is not a valid conversion plan: {e.Message}");
        }
    }
}
