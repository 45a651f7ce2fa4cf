using System.Buffers.Binary;
using System.IO.Hashing;
using L3.Kernels;
using L3.TestSupport;

namespace L3.Tests;

public class FormatTests
{
    [Fact]
    public void The_example_in_FORMAT_md_is_byte_exact()
    {
        // docs/FORMAT.md, section 5: a 1x1 gray image of value 200, N = 8
        var file = L3Codec.Encode([200], 1, 1, 1, new L3EncodeOptions { PatchSize = 8 });
        Assert.Equal(59, file.Length);
        Assert.Equal(59, FileLayout.PayloadStart(1) + 11);
        Assert.Equal("L3IF"u8.ToArray(), file[FileLayout.MagicOffset..(FileLayout.MagicOffset + 4)]);
        Assert.Equal(FileLayout.Magic, BinaryPrimitives.ReadUInt32LittleEndian(file));
        Assert.Equal(1, file[FileLayout.VersionOffset]);
        Assert.Equal(0, file[FileLayout.ModeOffset]);
        Assert.Equal(1, file[FileLayout.ChannelsOffset]);
        Assert.Equal(8, file[FileLayout.PatchSizeOffset]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(FileLayout.WidthOffset)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(FileLayout.HeightOffset)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(FileLayout.FlagsOffset)));
        Assert.Equal(11u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(FileLayout.PayloadLengthOffset)));
        Assert.Equal(XxHash64.HashToUInt64(file.AsSpan(48)), BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(FileLayout.PayloadChecksumOffset)));
        // the literal bytes of the example, as the page writes them
        Assert.Equal(new byte[] { 1, 0, 1, 8, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0 }, file[4..24]);
        Assert.Equal(FileLayout.FixedSize, FileLayout.TableEntryOffset(0));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 11, 0, 0, 0 }, file[32..40]);
        Assert.Equal(40, FileLayout.TableEnd(1));
        Assert.Equal(XxHash64.HashToUInt64(file.AsSpan(0, 40)), BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(40)));
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x07, 0x6F, 0, 0, 0, 0, 0, 0 }, file[48..]);
        Assert.Equal(11, PatchLayout.FlagsSize + RowCoding.ZeroMaskBytes(1) + RowCoding.PredictorBytes(1) + RowCoding.WidthBytes(1, 1) + 7);
    }

    [Fact]
    public void Colour_transform_wins_a_tie_on_every_path()
    {
        // with G = 0, R−G and B−G are R and B: the blocks tie, and the policy takes the transform
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 40, 24, 3, 3);
        for (int i = 1; i < pixels.Length; i += 3) pixels[i] = 0;
        foreach (var path in L3.Cpu.CpuPaths.Supported)
        {
            var file = L3Codec.Encode(pixels, 40, 24, 3, new L3EncodeOptions { PatchSize = 8, Path = path });
            var header = L3Codec.ReadHeader(file);
            for (int p = 0; p < header.PatchCount; p++)
                Assert.Equal(PatchLayout.ColorTransformFlag, file[header.PayloadStart + header.PatchRange(p).Start]);
        }
    }

    [Fact]
    public void Header_reports_the_shape_and_patch_geometry()
    {
        var file = L3Codec.Encode(new byte[70 * 33 * 4], 70, 33, 4, new L3EncodeOptions { PatchSize = 32 });
        var header = L3Codec.ReadHeader(file);
        Assert.Equal((70, 33, 4, 32, 3, 2), (header.Width, header.Height, header.Channels, header.PatchSize, header.PatchesX, header.PatchesY));
        Assert.Equal((64, 32, 6, 1), header.PatchRect(5));
        Assert.Equal(file.Length, header.FileLength);
    }

    [Fact]
    public void Zigzag_is_a_bijection_on_bytes_and_widths_fit()
    {
        var seen = new HashSet<int>();
        for (int r = -128; r < 128; r++)
        {
            int code = RowCoding.Zigzag(r);
            Assert.InRange(code, 0, 255);
            Assert.Equal(r, RowCoding.Unzigzag(code));
            Assert.True(seen.Add(code));
            Assert.Equal(RowCoding.Zigzag(r), RowCoding.Zigzag(r + 256)); // residuals are mod 256
        }
        Assert.Equal(0, RowCoding.WidthOf(0));
        Assert.Equal(1, RowCoding.WidthOf(1));
        Assert.Equal(7, RowCoding.WidthOf(127));
        Assert.Equal(8, RowCoding.WidthOf(255));
    }

    [Fact]
    public void Group_packing_round_trips_for_every_width()
    {
        var random = new Random(5);
        for (int width = 1; width <= 8; width++)
        {
            var codes = Enumerable.Range(0, 8).Select(_ => random.Next(1 << width)).ToArray();
            ulong bits = 0;
            for (int s = 0; s < 8; s++) bits = RowCoding.PackSlot(bits, width, s, codes[s]);
            Assert.True(width == 8 || bits >> (8 * width) == 0, "a group of width b must fit b bytes");
            for (int s = 0; s < 8; s++) Assert.Equal(codes[s], RowCoding.UnpackSlot(bits, width, s));
        }
    }

    [Fact]
    public void Every_predictor_reconstructs_what_the_encoder_subtracted()
    {
        var random = new Random(9);
        for (int trial = 0; trial < 200; trial++)
        {
            int w = random.Next(1, 65);
            var top = Enumerable.Range(0, w).Select(_ => random.Next(256)).ToArray();
            var row = Enumerable.Range(0, w).Select(_ => random.Next(256)).ToArray();
            for (int p = 0; p < RowCoding.PredictorCount; p++)
            {
                int previous = 0, running = 0;
                for (int x = 0; x < w; x++)
                {
                    int b = RowCoding.Base(p, top[x], top[Math.Min(x + 1, w - 1)], top[0]);
                    int residual = RowCoding.Unzigzag(RowCoding.Zigzag(RowCoding.Residual(p, row[x] - b, previous)));
                    previous = row[x] - b;
                    running = RowCoding.Accumulate(p, running, residual);
                    Assert.Equal(row[x], RowCoding.Reconstruct(b, running));
                }
            }
        }
    }
}

public class ZeroRowTests
{
    [Fact]
    public void Flat_images_are_coded_as_zero_rows()
    {
        var pixels = SyntheticImages.Make(Pattern.Constant, 256, 256, 1, 1);
        Assert.NotEqual(0, pixels[0]);
        var file = L3Codec.Encode(pixels, 256, 256, 1);
        var header = L3Codec.ReadHeader(file);
        var (start, length) = header.PatchRange(5);
        // row 0 of each plane is coded (its row above is zero); rows 1..63 repeat it: mask 0xFE, then 0xFF
        Assert.Equal(0xFE, file[header.PayloadStart + start + 1]);
        Assert.All(file.AsSpan(header.PayloadStart + start + 2, 7).ToArray(), b => Assert.Equal(0xFF, b));
        Assert.True(length < 40, $"a flat 64x64 patch took {length} bytes");
        var rgba = SyntheticImages.Make(Pattern.Constant, 256, 256, 4, 1);
        var rgbaFile = L3Codec.Encode(rgba, 256, 256, 4);
        Assert.True(rgbaFile.Length < 16 * 4 * 40 + 200, $"a flat 256x256 RGBA image took {rgbaFile.Length} bytes");
        Assert.Equal(rgba, L3Codec.Decode(rgbaFile).Pixels);
        Assert.Equal(pixels, L3Codec.Decode(file).Pixels);
    }
}
