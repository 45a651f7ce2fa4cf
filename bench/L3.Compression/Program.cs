// Measures format candidates for docs/COMPRESSION.md: for each variant, the exact number of bytes
// a row coder of that shape needs on each image (every header bit counted), as a ratio to PNG-6.
// The "v1" variant is the format as shipped; its size is checked against the real encoder's.
//   dotnet run -c Release --project bench/L3.Compression -- IMAGES...
using L3;
using L3.Imaging;
using L3.Kernels;

if (args.Length > 0 && args[0] == "--dense") { DenseModel.Run(args[1..]); return; }

var variants = new Variant[]
{
    new("prototype-like: top, min-base, one width per row, byte rows", Transform.Never, [RowCoding.Top], 64, Residuals.MinBase, 64, RowAligned: true),
    new("+ R-G, B-G", Transform.Always, [RowCoding.Top], 64, Residuals.MinBase, 64, RowAligned: true),
    new("+ zigzag instead of min-base", Transform.Always, [RowCoding.Top], 64, Residuals.Zigzag, 64, RowAligned: true),
    new("+ groups of 8 with 4-bit widths", Transform.Always, [RowCoding.Top], 8, Residuals.Zigzag, 64),
    new("+ gradient instead of top", Transform.Always, [RowCoding.Gradient], 8, Residuals.Zigzag, 64),
    new("+ 2-bit predictor per row (4 predictors)", Transform.Always, [0, 1, 2, 3], 8, Residuals.Zigzag, 64),
    new("+ transform chosen per patch", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 64),
    new("+ zero-row mask (1 bit a row; a zero row stores no widths) = **v1**, N=64", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 64, ZeroRowFlag: true),
    new("v1 but groups of 4", Transform.PerPatch, [0, 1, 2, 3], 4, Residuals.Zigzag, 64, ZeroRowFlag: true),
    new("v1 but groups of 16", Transform.PerPatch, [0, 1, 2, 3], 16, Residuals.Zigzag, 64, ZeroRowFlag: true),
    new("v1 but min-base groups of 8", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.MinBase, 64, ZeroRowFlag: true),
    new("v1 but 2 predictors (top, gradient)", Transform.PerPatch, [RowCoding.Top, RowCoding.Gradient], 8, Residuals.Zigzag, 64, ZeroRowFlag: true),
    new("v1 but no colour transform", Transform.Never, [0, 1, 2, 3], 8, Residuals.Zigzag, 64, ZeroRowFlag: true),
    new("v1 but bit-packed groups (no byte alignment)", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 64, BitPacked: true, ZeroRowFlag: true),
    new("v1 with a zero-group mask instead (1 bit a group; only non-zero groups store a width)", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 64, ZeroGroupMask: true),
    new("v1, N=32", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 32, ZeroRowFlag: true),
    new("v1, N=16", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 16, ZeroRowFlag: true),
    new("v1, N=8", Transform.PerPatch, [0, 1, 2, 3], 8, Residuals.Zigzag, 8, ZeroRowFlag: true),
};

var images = args.Select(p => (Name: Path.GetFileNameWithoutExtension(p), Image: ImageFiles.Read(p))).ToList();
var png = images.Select(i => (double)ImageFiles.EncodePng(i.Image).Length).ToArray();

// The model must agree with the real encoder on v1.
var v1 = variants.Single(v => v.Name.Contains("**v1**"));
foreach (var (name, image) in images)
{
    long model = Model.FileBytes(image, v1);
    long real = L3Codec.Encode(image).Length;
    if (model != real) throw new Exception($"model {model} != encoder {real} on {name}");
}

Console.WriteLine($"| variant | {string.Join(" | ", images.Select(i => i.Name))} | geo. mean | photos | others |");
Console.WriteLine($"| --- |{string.Concat(images.Select(_ => " ---: |"))} ---: | ---: | ---: |");
foreach (var v in variants)
{
    var ratios = images.Select((img, k) => Model.FileBytes(img.Image, v) / png[k]).ToArray();
    double Geo(IEnumerable<double> xs) => xs.Any() ? Math.Exp(xs.Average(Math.Log)) : double.NaN;
    var photos = ratios.Where((_, k) => images[k].Name.StartsWith("photo"));
    var others = ratios.Where((_, k) => !images[k].Name.StartsWith("photo"));
    Console.WriteLine($"| {v.Name} | {string.Join(" | ", ratios.Select(r => r.ToString("F3")))} | **{Geo(ratios):F3}** | {Geo(photos):F3} | {Geo(others):F3} |");
}

enum Transform { Never, Always, PerPatch }
enum Residuals { Zigzag, MinBase }

record Variant(string Name, Transform Transform, int[] Predictors, int GroupSize, Residuals Residuals, int N,
    bool RowAligned = false, bool BitPacked = false, bool ZeroRowFlag = false, bool ZeroGroupMask = false);

static class Model
{
    public static long FileBytes(L3Image image, Variant v)
    {
        int n = v.N, c = image.Channels;
        int px = (image.Width + n - 1) / n, py = (image.Height + n - 1) / n;
        long total = 40 + 4L * (px * py + 1);
        var plane = new byte[n * n];
        for (int y0 = 0; y0 < image.Height; y0 += n)
            for (int x0 = 0; x0 < image.Width; x0 += n)
            {
                int w = Math.Min(n, image.Width - x0), h = Math.Min(n, image.Height - y0);
                long Plane(int channel, int minus)
                {
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                        {
                            int i = ((y0 + y) * image.Width + x0 + x) * c;
                            int value = image.Pixels[i + channel];
                            plane[y * w + x] = (byte)(minus < 0 ? value : ColorTransform.Decorrelate(value, image.Pixels[i + minus]));
                        }
                    return PlaneBits(plane, w, h, v);
                }
                long bits = 8; // patch flags
                long plain = 0, transformed = 0;
                for (int ch = 0; ch < c; ch++)
                {
                    long b = Plane(ch, -1);
                    bits += b;
                    if (c >= 3 && ch != 1 && ch != 3) { plain += b; transformed += Plane(ch, 1); }
                }
                bool useTransform = c >= 3 && (v.Transform == Transform.Always || (v.Transform == Transform.PerPatch && transformed <= plain));
                if (useTransform) bits += transformed - plain;
                total += (bits + 7) / 8;
            }
        return total;
    }

    /// <summary>Bits of one plane's block (byte-rounded arrays, as the format stores them).</summary>
    private static long PlaneBits(byte[] plane, int w, int h, Variant v)
    {
        int g = v.GroupSize, groups = (w + g - 1) / g;
        int predictorBits = v.Predictors.Length switch { 1 => 0, 2 => 1, _ => 2 };
        int widthHeaderBits = v.Residuals == Residuals.MinBase ? 8 + 4 : 4;
        long headers = ((long)h * predictorBits + 7) / 8 * 8 + ((long)h * groups * widthHeaderBits + 7) / 8 * 8;
        long payload = 0, zeroRows = 0, zeroGroups = 0;
        var top = new int[w];
        var codes = new int[w];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++) top[x] = y == 0 ? 0 : plane[(y - 1) * w + x];
            long best = long.MaxValue, bestCost = long.MaxValue, bestZero = 0;
            foreach (int p in v.Predictors)
            {
                int previous = 0;
                for (int x = 0; x < w; x++)
                {
                    int baseValue = RowCoding.Base(p, top[x], top[Math.Min(x + 1, w - 1)], top[0]);
                    int offset = plane[y * w + x] - baseValue;
                    codes[x] = RowCoding.Residual(p, offset, previous);
                    previous = offset;
                }
                long rowBits = 0, rowZeroGroups = 0;
                for (int k = 0; k < groups; k++)
                {
                    int end = Math.Min(g, w - k * g);
                    int width;
                    if (v.Residuals == Residuals.Zigzag)
                    {
                        int or = 0;
                        for (int s = 0; s < end; s++) or |= RowCoding.Zigzag(codes[k * g + s]);
                        width = RowCoding.WidthOf(or);
                    }
                    else
                    {
                        int min = 255, max = 0;
                        for (int s = 0; s < end; s++) { int r = (sbyte)(codes[k * g + s] & 0xFF); min = Math.Min(min, r); max = Math.Max(max, r); }
                        width = RowCoding.WidthOf(Math.Max(0, max - min));
                    }
                    if (width == 0) rowZeroGroups++;
                    // byte-aligned groups of 8 take 8 slots even when the last group is partial
                    rowBits += v.BitPacked || v.RowAligned || g != 8 ? (long)end * width : 8L * width;
                }
                if (v.RowAligned) rowBits = (rowBits + 7) / 8 * 8;
                // as the encoder: a zero row costs nothing, another its groups plus its widths
                long cost = v.ZeroRowFlag ? (rowBits == 0 ? 0 : rowBits + 4L * groups) : rowBits;
                if (cost < bestCost || (cost == bestCost && v.ZeroGroupMask && rowZeroGroups > bestZero)) { best = rowBits; bestCost = cost; bestZero = rowZeroGroups; }
            }
            payload += best;
            if (best == 0) zeroRows++;
            zeroGroups += bestZero;
        }
        if (v.ZeroRowFlag)
            headers = (h + 7) / 8 * 8 + ((long)h * predictorBits + 7) / 8 * 8 + ((h - zeroRows) * groups * widthHeaderBits + 7) / 8 * 8;
        if (v.ZeroGroupMask)
            headers = ((long)h * predictorBits + 7) / 8 * 8 + ((long)h * groups + 7) / 8 * 8 + (((long)h * groups - zeroGroups) * widthHeaderBits + 7) / 8 * 8;
        return headers + (v.BitPacked || g != 8 ? (payload + 7) / 8 * 8 : payload);
    }
}
