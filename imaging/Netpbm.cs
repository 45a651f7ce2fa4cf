using System.Text;

namespace L3.Imaging;

/// <summary>Binary netpbm: P5 (gray), P6 (RGB) and P7 (PAM: GRAYSCALE, RGB, RGB_ALPHA), maxval 255
/// (16-bit samples, maxval above 255, are refused: they cannot be stored exactly).</summary>
internal static class Netpbm
{
    public static L3Image Read(ReadOnlySpan<byte> bytes, ImageReadOptions options)
    {
        int at = 2;
        char kind = (char)bytes[1];
        int width, height, channels;
        if (kind == '7')
        {
            width = height = channels = -1;
            int maxval = -1;
            while (true)
            {
                string line = ReadLine(bytes, ref at);
                if (line.Length == 0 || line[0] == '#') continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts[0] == "ENDHDR") break;
                if (parts.Length < 2) throw new ImageFileException($"PAM header line '{line}' is malformed");
                switch (parts[0])
                {
                    case "WIDTH": width = ParseInt(parts[1]); break;
                    case "HEIGHT": height = ParseInt(parts[1]); break;
                    case "DEPTH": channels = ParseInt(parts[1]); break;
                    case "MAXVAL": maxval = ParseInt(parts[1]); break;
                    case "TUPLTYPE": break;
                    default: throw new ImageFileException($"PAM header field '{parts[0]}' is unknown");
                }
            }
            if (maxval != 255) throw new ImageFileException($"PAM maxval {maxval} is not supported: 255 only (16-bit samples cannot be stored exactly)");
            if (channels is not (1 or 3 or 4)) throw new ImageFileException($"PAM depth {channels} is not 1, 3 or 4");
        }
        else
        {
            width = ParseInt(NextToken(bytes, ref at));
            height = ParseInt(NextToken(bytes, ref at));
            int maxval = ParseInt(NextToken(bytes, ref at));
            if (maxval != 255) throw new ImageFileException($"netpbm maxval {maxval} is not supported: 255 only (16-bit samples cannot be stored exactly)");
            at++; // the single whitespace byte after maxval
            channels = kind == '5' ? 1 : 3;
        }
        ImageLimits.CheckDeclaredSize("netpbm", width, height, options);
        long size = (long)width * height * channels;
        if (bytes.Length - (long)at < size) throw new ImageFileException("netpbm file is truncated");
        return new L3Image(width, height, channels, bytes.Slice(at, (int)size).ToArray());
    }

    public static byte[] Write(L3Image image, bool pam)
    {
        string header = pam
            ? $"P7\nWIDTH {image.Width}\nHEIGHT {image.Height}\nDEPTH {image.Channels}\nMAXVAL 255\nTUPLTYPE {(image.Channels switch { 1 => "GRAYSCALE", 3 => "RGB", _ => "RGB_ALPHA" })}\nENDHDR\n"
            : $"P{(image.Channels == 1 ? 5 : 6)}\n{image.Width} {image.Height}\n255\n";
        var head = Encoding.ASCII.GetBytes(header);
        var file = new byte[head.Length + image.Pixels.Length];
        head.CopyTo(file, 0);
        image.Pixels.CopyTo(file, head.Length);
        return file;
    }

    private static int ParseInt(string s) =>
        int.TryParse(s, out int v) && v >= 0 ? v : throw new ImageFileException($"netpbm header value '{s}' is not a number");

    private static string ReadLine(ReadOnlySpan<byte> bytes, ref int at)
    {
        int start = at;
        while (at < bytes.Length && bytes[at] != '\n') at++;
        if (at >= bytes.Length) throw new ImageFileException("netpbm header is truncated");
        return Encoding.ASCII.GetString(bytes[start..at++]).Trim();
    }

    private static string NextToken(ReadOnlySpan<byte> bytes, ref int at)
    {
        while (true)
        {
            while (at < bytes.Length && char.IsWhiteSpace((char)bytes[at])) at++;
            if (at < bytes.Length && bytes[at] == '#') { while (at < bytes.Length && bytes[at] != '\n') at++; continue; }
            break;
        }
        int start = at;
        while (at < bytes.Length && !char.IsWhiteSpace((char)bytes[at])) at++;
        if (start == at) throw new ImageFileException("netpbm header is truncated");
        return Encoding.ASCII.GetString(bytes[start..at]);
    }
}
