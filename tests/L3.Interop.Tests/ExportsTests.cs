using System.Text;
using L3.Interop;

namespace L3.Interop.Tests;

/// <summary>The C ABI as a foreign caller sees it: status codes and the library's messages.</summary>
public sealed unsafe class ExportsTests
{
    private static string LastError()
    {
        var buffer = new byte[1024];
        fixed (byte* p = buffer)
        {
            int length = ((delegate* unmanaged<byte*, int, int>)&Exports.LastError)(p, buffer.Length);
            return Encoding.UTF8.GetString(buffer, 0, length);
        }
    }

    [Fact]
    public void A_bad_file_is_a_format_error_with_the_library_message()
    {
        byte[] file = L3Codec.Encode(new byte[12 * 10 * 3], 12, 10, 3);
        byte[] truncated = file[..20];
        string expected = Assert.Throws<L3FormatException>(() => L3Codec.ReadHeader(truncated)).Message;
        var shape = new int[4];
        fixed (byte* f = truncated)
        fixed (int* s = shape)
        {
            int status = ((delegate* unmanaged<byte*, long, int*, int>)&Exports.Header)(f, truncated.Length, s);
            Assert.Equal((int)NativeStatus.FormatError, status);
        }
        Assert.Equal(expected, LastError());
    }

    [Fact]
    public void Encode_and_decode_round_trip_and_bad_arguments_are_argument_errors()
    {
        var pixels = Enumerable.Range(0, 9 * 7 * 4).Select(i => (byte)(i * 37)).ToArray();
        byte* output = null;
        long length = 0;
        var encode = (delegate* unmanaged<byte*, long, int, int, int, int, int, byte**, long*, int>)&Exports.Encode;
        fixed (byte* p = pixels)
        {
            Assert.Equal(0, encode(p, pixels.Length, 9, 7, 4, 8, 1, &output, &length));
            var decoded = new byte[pixels.Length];
            fixed (byte* d = decoded)
                Assert.Equal(0, ((delegate* unmanaged<byte*, long, byte*, long, int, int>)&Exports.Decode)(output, length, d, decoded.Length, 1));
            ((delegate* unmanaged<void*, void>)&Exports.Free)(output);
            Assert.Equal(pixels, decoded);
            // the pixel count does not match the shape
            Assert.Equal((int)NativeStatus.InvalidArgument, encode(p, pixels.Length - 1, 9, 7, 4, 8, 1, &output, &length));
            Assert.Contains("expected 252 bytes", LastError());
        }
    }

    [Fact]
    public void Loader_settings_are_checked_with_the_library_message()
    {
        var settings = Encoding.UTF8.GetBytes("{\"source\": \"/nonexistent/l3\", \"dtype\": \"int7\"}\0");
        IntPtr loader;
        fixed (byte* s = settings)
        {
            int status = ((delegate* unmanaged<byte*, byte*, IntPtr*, int>)&Exports.LoaderCreate)(s, null, &loader);
            Assert.Equal((int)NativeStatus.InvalidArgument, status);
        }
        Assert.Contains("int7", LastError());
    }
}
