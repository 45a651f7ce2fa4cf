namespace L3.Imaging;

/// <summary>An image file that cannot be read or written as asked; the message is one line that
/// says why (the CLI prints it and exits 1).</summary>
public sealed class ImageFileException(string message) : Exception(message);
