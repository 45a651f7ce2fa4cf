namespace L3;

/// <summary>
/// The one exception for input that is not a valid L3 file (or not a valid image to encode):
/// the message says what is wrong, and <see cref="Offset"/> at which byte, when that is known.
/// </summary>
public sealed class L3FormatException : Exception
{
    /// <summary>Byte offset in the file where the problem was found, or -1.</summary>
    public long Offset { get; }

    public L3FormatException(string message, long offset = -1)
        : base(offset >= 0 ? $"{message} (at byte {offset})" : message)
    {
        Offset = offset;
    }
}
