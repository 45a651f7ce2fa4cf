namespace L3;

/// <summary>
/// The one exception for input that is not a valid L3 file (or not a valid image to encode):
/// <see cref="Reason"/> says what is wrong, and <see cref="Offset"/> at which byte, when that is
/// known; the message is the reason followed by " (at byte N)".
/// </summary>
public sealed class L3FormatException : Exception
{
    /// <summary>Byte offset in the file where the problem was found, or -1.</summary>
    public long Offset { get; }

    /// <summary>What is wrong, without the offset (e.g. to prefix with the file's name).</summary>
    public string Reason { get; }

    public L3FormatException(string reason, long offset = -1)
        : base(offset >= 0 ? $"{reason} (at byte {offset})" : reason)
    {
        Reason = reason;
        Offset = offset;
    }
}
