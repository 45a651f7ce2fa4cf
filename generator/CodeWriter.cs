using System.Text;

namespace L3.Generator;

/// <summary>A string builder that indents with braces.</summary>
internal sealed class CodeWriter
{
    /// <summary>The [GeneratedCode] attribute every emitted type and member carries, with this
    /// generator's assembly version.</summary>
    public static readonly string GeneratedCodeAttribute =
        $"[global::System.CodeDom.Compiler.GeneratedCode(\"L3.Generator\", \"{typeof(CodeWriter).Assembly.GetName().Version}\")]";

    private readonly StringBuilder _text = new();
    private int _depth;

    public void Line(string line = "")
    {
        if (line.Length > 0) _text.Append(' ', 4 * _depth).Append(line);
        _text.Append('\n');
    }

    /// <summary>Lines of a comment, each prefixed with <paramref name="prefix"/> ("// " or "/// ").</summary>
    public void Comment(string prefix, params string[] lines)
    {
        foreach (var line in lines) Line(line.Length == 0 ? prefix.TrimEnd() : prefix + line);
    }

    public void GeneratedCode() => Line(GeneratedCodeAttribute);

    public void Open(string? header = null)
    {
        if (header is not null) Line(header);
        Line("{");
        _depth++;
    }

    /// <summary>One level less, without a brace (for an initializer closed by "};").</summary>
    public void Dedent() => _depth--;

    public void Close()
    {
        _depth--;
        Line("}");
    }

    public override string ToString() => _text.ToString();
}
