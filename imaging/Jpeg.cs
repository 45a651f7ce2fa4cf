using System.Buffers.Binary;

namespace L3.Imaging;

/// <summary>What a JPEG's markers say before it is decoded: the frame's size, sample precision and
/// component count (4 is CMYK, or YCCK by the Adobe marker's transform), read from the SOF segment.</summary>
internal readonly record struct Jpeg(int Width, int Height, int Precision, int Components, int AdobeTransform)
{
    /// <summary>Walks the marker segments up to the first SOF (or SOS); null when the file ends first.</summary>
    public static Jpeg? Read(ReadOnlySpan<byte> bytes)
    {
        int adobeTransform = -1;
        for (int at = 2; at + 4 <= bytes.Length;)
        {
            if (bytes[at] != 0xFF) { at++; continue; } // stray bytes before a marker: skipped, as libjpeg does
            byte marker = bytes[at + 1];
            if (marker == 0xFF) { at++; continue; } // fill byte
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { at += 2; continue; } // markers without a length
            int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[(at + 2)..]);
            if (length < 2) throw new ImageFileException($"JPEG segment at byte {at} has length {length}");
            var segment = bytes.Slice(at + 4, Math.Min(length - 2, bytes.Length - (at + 4)));
            if (marker == 0xEE && segment.Length >= 12 && segment.StartsWith("Adobe"u8)) adobeTransform = segment[11];
            bool startOfFrame = marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);
            if (startOfFrame && segment.Length >= 6)
                return new Jpeg(BinaryPrimitives.ReadUInt16BigEndian(segment[3..]), BinaryPrimitives.ReadUInt16BigEndian(segment[1..]),
                    segment[0], segment[5], adobeTransform);
            if (marker == 0xDA) return null; // scan data before a frame header: left to the decoder
            at += 2 + length;
        }
        return null;
    }

    public bool IsCmyk => Components == 4;

    /// <summary>"CMYK" or "YCCK" (Adobe transform 2: YCbCr plus K).</summary>
    public string ColourModel => AdobeTransform == 2 ? "YCCK" : "CMYK";
}
