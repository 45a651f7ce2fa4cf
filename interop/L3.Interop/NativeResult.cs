using System.Runtime.InteropServices;
using System.Text;
using L3.Imaging;

namespace L3.Interop;

/// <summary>
/// How an entry point reports its outcome across the C ABI: a status code (the Python package maps
/// each to an exception class) and, on failure, the .NET exception's message, kept per thread for
/// <see cref="Exports.LastError"/>.
/// </summary>
public enum NativeStatus
{
    Ok = 0,
    /// <summary><see cref="L3FormatException"/>: a bad L3 file or dataset sample.</summary>
    FormatError = 1,
    /// <summary>An argument or option the library refuses (<see cref="ArgumentException"/>, bad JSON).</summary>
    InvalidArgument = 2,
    /// <summary>Any other failure (I/O, a stalled reader, a GPU error).</summary>
    Failure = 3,
    /// <summary>A file or folder that does not exist.</summary>
    NotFound = 4,
    /// <summary><see cref="ImageFileException"/>: an image file (PNG, JPEG, …) that cannot be read.</summary>
    ImageError = 5,
}

internal static class NativeResult
{
    [ThreadStatic] private static string? _lastError;

    public static string LastError => _lastError ?? "";

    /// <summary>Records <paramref name="error"/> for the caller and classifies it.</summary>
    public static int Fail(Exception error)
    {
        _lastError = error.Message;
        return (int)(error switch
        {
            L3FormatException => NativeStatus.FormatError,
            ImageFileException => NativeStatus.ImageError,
            FileNotFoundException or DirectoryNotFoundException => NativeStatus.NotFound,
            ArgumentException or System.Text.Json.JsonException => NativeStatus.InvalidArgument,
            _ => NativeStatus.Failure,
        });
    }

    public static int Ok()
    {
        _lastError = null;
        return (int)NativeStatus.Ok;
    }

    /// <summary>A NUL-terminated UTF-8 string from the caller (null pointer: null).</summary>
    public static unsafe string? Utf8(byte* text) => text is null ? null : Marshal.PtrToStringUTF8((IntPtr)text);

    /// <summary>A NUL-terminated UTF-8 copy in native memory, freed by the caller through <see cref="Exports.Free"/>.</summary>
    public static unsafe byte* NativeUtf8(string text)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        var copy = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(text, new Span<byte>(copy, length));
        copy[length] = 0;
        return copy;
    }

    /// <summary>A copy of <paramref name="bytes"/> in native memory, freed by the caller through <see cref="Exports.Free"/>.</summary>
    public static unsafe byte* NativeCopy(ReadOnlySpan<byte> bytes)
    {
        var copy = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
        bytes.CopyTo(new Span<byte>(copy, bytes.Length));
        return copy;
    }

    /// <summary>The object behind a handle given out by <see cref="Handle"/>; a stale or foreign handle is an argument error.</summary>
    public static T Target<T>(IntPtr handle) where T : class
    {
        if (handle == IntPtr.Zero) throw new ArgumentException("null handle");
        return GCHandle.FromIntPtr(handle).Target as T ?? throw new ArgumentException($"the handle is not a {typeof(T).Name}");
    }

    public static IntPtr Handle(object target) => GCHandle.ToIntPtr(GCHandle.Alloc(target));

    public static T Release<T>(IntPtr handle) where T : class
    {
        var target = Target<T>(handle);
        GCHandle.FromIntPtr(handle).Free();
        return target;
    }
}
