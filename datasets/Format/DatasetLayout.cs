using System.Globalization;
using System.Reflection;

namespace L3.Datasets;

/// <summary>Where each file of a dataset lives and how its members are named (docs/DATASET.md §1):
/// the one place these names are made, used by the writer, the reader and the converter.</summary>
public static class DatasetLayout
{
    /// <summary>The manifest, written once every shard is complete.</summary>
    public const string ManifestFile = "dataset.json";

    /// <summary>The conversion plan: the first process of a conversion writes it, every later or
    /// concurrent one checks that it is converting the same input with the same options.</summary>
    public const string PlanFile = "plan.json";

    /// <summary>The failure report of the whole dataset (written with the manifest).</summary>
    public const string FailureReportFile = "failures.txt";

    public const string ShardFolder = "shards";
    public const string PartFolder = "parts";

    /// <summary>Member suffixes of one sample in a shard (WebDataset: KEY.SUFFIX).</summary>
    public const string ImageSuffix = ".l3", LabelSuffix = ".cls", MetadataSuffix = ".json";

    /// <summary>Digits of a shard number in its file name (more when a dataset has more shards).</summary>
    public const int ShardDigits = 6;

    /// <summary>Digits of a sample key: the input's ordinal, zero-padded (more when needed).</summary>
    public const int KeyDigits = 9;

    /// <summary>Suffix of every temporary file; a file with it is never part of a dataset.</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>Whether a top-level entry of a folder can belong to a conversion in progress (its
    /// own files and folders, or a temporary file being published): a folder holding anything
    /// else is not converted into, since a conversion would mix with files that are not its own.</summary>
    public static bool IsConversionEntry(string name) =>
        name is ManifestFile or PlanFile or FailureReportFile or ShardFolder or PartFolder
        || (name.StartsWith('.') && name.EndsWith(TemporarySuffix, StringComparison.Ordinal));

    public static string ShardName(int shard) => $"shard-{shard.ToString(CultureInfo.InvariantCulture).PadLeft(ShardDigits, '0')}";

    /// <summary>Path of a shard's tar, relative to the dataset (with '/').</summary>
    public static string ShardTarPath(int shard) => $"{ShardFolder}/{ShardName(shard)}.tar";

    /// <summary>Path of a shard's index, relative to the dataset (with '/').</summary>
    public static string ShardIndexPath(int shard) => $"{ShardFolder}/{ShardName(shard)}.idx";

    public static string PartReportPath(int part, int parts) =>
        $"{PartFolder}/part-{part.ToString(CultureInfo.InvariantCulture)}-of-{parts.ToString(CultureInfo.InvariantCulture)}.failures.txt";

    /// <summary>The key of the sample converted from input number <paramref name="ordinal"/>.</summary>
    public static string Key(long ordinal) => ordinal.ToString(CultureInfo.InvariantCulture).PadLeft(KeyDigits, '0');

    /// <summary>Resolves a dataset-relative path (always written with '/').</summary>
    public static string Resolve(string datasetDirectory, string relativePath) =>
        Path.Combine(datasetDirectory, relativePath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The tool that wrote a dataset: recorded in the plan and the manifest, since only
    /// the same tool is promised to write the same bytes.</summary>
    public static string ToolVersion { get; } =
        "l3 " + (typeof(DatasetLayout).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0");
}
