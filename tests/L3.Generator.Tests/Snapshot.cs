using System.Runtime.CompilerServices;
using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Xunit.Sdk;

namespace L3.Generator.Tests;

/// <summary>
/// Snapshot assertions over committed files (Snapshots/NAME.cs.txt beside this file), with a
/// line diff from DiffPlex when they differ. Verify.Xunit was the first choice, but its core package
/// cannot be restored from the registry reachable here; Snapshooter.Xunit restores but stores JSON,
/// which makes generated C# unreadable in review, so this small helper keeps the source as it is.
/// A missing snapshot is written and the test fails, so that a new one is always looked at; set
/// L3_UPDATE_SNAPSHOTS=1 to rewrite the ones that differ.
/// </summary>
internal static class Snapshot
{
    public static void Match(string name, string actual, [CallerFilePath] string callerFile = "")
    {
        string directory = Path.Combine(Path.GetDirectoryName(callerFile)!, "Snapshots");
        string path = Path.Combine(directory, name + ".cs.txt");
        actual = Normalize(actual.Replace("\r\n", "\n"));
        bool update = Environment.GetEnvironmentVariable("L3_UPDATE_SNAPSHOTS") == "1";
        if (!File.Exists(path) || update)
        {
            Directory.CreateDirectory(directory);
            string? previous = File.Exists(path) ? File.ReadAllText(path) : null;
            File.WriteAllText(path, actual);
            if (previous is null)
                throw new XunitException($"snapshot {path} did not exist; it has been written: review it and run again");
            if (previous.Replace("\r\n", "\n") == actual) return;
            throw new XunitException($"snapshot {path} was rewritten (L3_UPDATE_SNAPSHOTS=1):\n{Diff(previous, actual)}");
        }
        string expected = File.ReadAllText(path).Replace("\r\n", "\n");
        if (expected != actual)
            throw new XunitException($"generated source differs from snapshot {path} (- snapshot, + generated; L3_UPDATE_SNAPSHOTS=1 accepts it):\n{Diff(expected, actual)}");
    }

    /// <summary>The generator's version in [GeneratedCode] as a placeholder, so that a version bump
    /// does not rewrite every snapshot.</summary>
    private static string Normalize(string source) =>
        System.Text.RegularExpressions.Regex.Replace(source, "GeneratedCode\\(\"L3\\.Generator\", \"[^\"]*\"\\)",
            "GeneratedCode(\"L3.Generator\", \"VERSION\")");

    /// <summary>The changed lines with two lines of context, as a unified-style diff.</summary>
    public static string Diff(string expected, string actual)
    {
        var model = InlineDiffBuilder.Diff(expected, actual, ignoreWhiteSpace: false);
        var lines = model.Lines;
        var text = new StringBuilder();
        int shown = 0;
        for (int i = 0; i < lines.Count && shown < 200; i++)
        {
            bool near = false;
            for (int j = Math.Max(0, i - 2); j <= Math.Min(lines.Count - 1, i + 2); j++)
                near |= lines[j].Type != ChangeType.Unchanged;
            if (!near) continue;
            char mark = lines[i].Type switch { ChangeType.Inserted => '+', ChangeType.Deleted => '-', _ => ' ' };
            text.Append(mark).Append(' ').Append(lines[i].Position?.ToString() ?? "").Append('\t').AppendLine(lines[i].Text);
            shown++;
        }
        return text.ToString();
    }
}
