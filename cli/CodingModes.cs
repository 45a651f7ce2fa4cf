namespace L3.Cli;

/// <summary>The `--mode` option of the commands that encode: `rows` (mode 0, the default, fastest to
/// decode) or `dense` (mode 1, entropy-coded, smaller), and the name `info` and `verify` print.</summary>
internal static class CodingModes
{
    public static System.CommandLine.Option<string> Option() => new("--mode")
    {
        Description = "coding mode: rows (mode 0, fastest to decode) or dense (mode 1, entropy-coded, smaller)",
        DefaultValueFactory = _ => Name(L3CodingMode.Rows),
    };

    public static L3CodingMode Parse(string? text) => text?.ToLowerInvariant() switch
    {
        "rows" or "0" => L3CodingMode.Rows,
        "dense" or "1" => L3CodingMode.Dense,
        _ => throw new UsageException($"--mode {text} is not rows or dense"),
    };

    public static string Name(L3CodingMode mode) => mode.ToString().ToLowerInvariant();
}
