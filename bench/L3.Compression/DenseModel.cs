using L3;
using L3.Imaging;
using L3.Kernels;

/// <summary>
/// Candidates for coding mode 1 (dense): the same patches, predictors and zero rows as v1, the
/// residual codes entropy-coded by rANS with per-image tables and contexts a GPU lane can compute
/// before it decodes (the row's predictor, the codes of the row above). The size counts every byte:
/// patch flags, zero-row masks, predictor arrays, the lanes' final states, the word streams rounded
/// to 16 bits, and the tables as the format would store them (a 4-bit length and the bits below
/// the leading one for each frequency up to the last used symbol).
/// </summary>
static class DenseModel
{
    public record Candidate(string Name, int ProbabilityBits, Func<int, int, int, int, int, int, int> Context, int ContextsPerPlane,
        int Lanes = 32, bool EntropyChoice = false, bool PerPatchTables = false, bool Tokens = false, bool SharedPlanes = false);

    // context inputs: predictor, row (0 = first), above[x-1], above[x], above[x+1] (zigzag codes), x
    static int Bits(int code) => RowCoding.WidthOf(code);
    static int Bucket6(int m) => m switch { 0 => 0, 1 => 1, 2 => 2, 3 => 3, 4 => 4, _ => 5 };

    static int Ctx8(int p, int r, int a, int b, int c, int x) => r == 0 ? 7 : Math.Min(6, Bits((a + 2 * b + c) >> 1));
    static int Ctx12(int p, int r, int a, int b, int c, int x) => r == 0 ? 11 : Math.Min(10, Fine(a + 2 * b + c));

    static int Log2Bucket(int s, int clamp) { if (s < 2) return s; int b = Bits(s); return Math.Min(clamp, 2 * b - 2 + ((s >> (b - 2)) & 1)); }

    public static readonly Candidate[] Candidates =
    [
        new("order 0, one table per channel block, 11-bit, 32 lanes", 11, (p, r, a, b, c, x) => 0, 1, EntropyChoice: true),
        new("ctx8: bits of (aL + 2a + aR)/2, 11-bit, 32 lanes", 11, Ctx8, 8, EntropyChoice: true),
        new("ctx8, 11-bit, 8 lanes (a lane per group of 8)", 11, Ctx8, 8, Lanes: 8, EntropyChoice: true),
        new("ctx8, 10-bit, 8 lanes", 10, Ctx8, 8, Lanes: 8, EntropyChoice: true),
        new("ctx8, 12-bit, 8 lanes", 12, Ctx8, 8, Lanes: 8, EntropyChoice: true),
        new("ctx12, 12-bit, 8 lanes", 12, Ctx12, 12, Lanes: 8, EntropyChoice: true),
        new("ctx12, 12-bit, 8 lanes, tables shared by the planes", 12, Ctx12, 12, Lanes: 8, EntropyChoice: true, SharedPlanes: true),
        new("ctx12, 12-bit, 8 lanes, 24 tokens + raw bits", 12, Ctx12, 12, Lanes: 8, EntropyChoice: true, Tokens: true),
        new("ctx12, 10-bit, 8 lanes, 24 tokens + raw bits", 10, Ctx12, 12, Lanes: 8, EntropyChoice: true, Tokens: true),
        new("**mode 1**: 16 contexts (log2 half-steps of aL + 2a + aR, first row), 10-bit, 8 lanes, 24 tokens + raw bits", 10, (p, r, a, b, c, x) => r == 0 ? 15 : Log2Bucket(a + 2 * b + c, 14), 16, Lanes: 8, EntropyChoice: true, Tokens: true),
    ];

    /// <summary>A code as a token (0..23) and its raw bits: codes below 16 are their own token; above,
    /// the bit length and the bit below the leading one make the token, the rest are raw.</summary>
    public static (int Token, int RawBits) Tokenize(int code)
    {
        if (code < 16) return (code, 0);
        int bits = Bits(code); // 5..8
        return (16 + 2 * (bits - 5) + ((code >> (bits - 2)) & 1), bits - 2);
    }

    static int Fine(int s) => s switch { 0 => 0, 1 => 1, 2 => 2, <= 4 => 3, <= 6 => 4, <= 9 => 5, <= 14 => 6, <= 22 => 7, <= 36 => 8, <= 64 => 9, _ => 10 };

    public static void Run(string[] paths)
    {
        var images = paths.Select(p => (Name: Path.GetFileNameWithoutExtension(p), Image: ImageFiles.Read(p))).ToList();
        var png = images.Select(i => (double)ImageFiles.EncodePng(i.Image).Length).ToArray();
        var mode0 = images.Select(i => (double)L3Codec.Encode(i.Image).Length).ToArray();
        double Geo(IEnumerable<double> xs) => Math.Exp(xs.Average(Math.Log));
        Console.WriteLine($"| candidate | {string.Join(" | ", images.Select(i => i.Name))} | geo. mean | worst vs mode 0 |");
        Console.WriteLine($"| --- |{string.Concat(images.Select(_ => " ---: |"))} ---: | ---: |");
        Console.WriteLine($"| mode 0 (v1) | {string.Join(" | ", mode0.Select((m, k) => (m / png[k]).ToString("F3")))} | **{Geo(mode0.Select((m, k) => m / png[k])):F3}** | 1.000 |");
        var dense = images.Select(i => (double)L3Codec.Encode(i.Image, new L3EncodeOptions { Mode = L3CodingMode.Dense }).Length).ToArray();
        Console.WriteLine($"| mode 1, the real encoder | {string.Join(" | ", dense.Select((m, k) => (m / png[k]).ToString("F3")))} | **{Geo(dense.Select((m, k) => m / png[k])):F3}** | {dense.Select((m, k) => m / mode0[k]).Max():F3} |");
        foreach (var cand in Candidates)
        {
            var sizes = images.Select(i => FileBytes(i.Image, cand)).ToArray();
            var ratios = sizes.Select((s, k) => s / png[k]).ToArray();
            double worst = sizes.Select((s, k) => s / mode0[k]).Max();
            Console.WriteLine($"| {cand.Name} | {string.Join(" | ", ratios.Select(r => r.ToString("F3")))} | **{Geo(ratios):F3}** | {worst:F3} |");
        }
    }

    /// <summary>The coded planes of a patch as the row coder makes them: per channel block, per row
    /// the predictor and the w zigzag codes.</summary>
    record struct Row(int Predictor, byte[] Codes, bool Zero);

    static double FileBytes(L3Image image, Candidate cand)
    {
        int n = 64, ch = image.Channels, ctxCount = cand.ContextsPerPlane * (cand.SharedPlanes ? 1 : ch);
        double rawBits = 0;
        var counts = new long[ctxCount, 256];
        var symbolContexts = new List<(int Ctx, int Code)>();
        double fixedBytes = 40 + 4.0 * (((image.Width + n - 1) / n) * ((image.Height + n - 1) / n) + 1);
        double patchTableBytes = 0;
        for (int y0 = 0; y0 < image.Height; y0 += n)
            for (int x0 = 0; x0 < image.Width; x0 += n)
            {
                int w = Math.Min(n, image.Width - x0), h = Math.Min(n, image.Height - y0);
                var blocks = CodePatch(image, x0, y0, w, h, cand.EntropyChoice);
                int coded = 0;
                fixedBytes += 1;
                var local = cand.PerPatchTables ? new long[ctxCount, 256] : counts;
                for (int c = 0; c < ch; c++)
                {
                    fixedBytes += RowCoding.ZeroMaskBytes(h) + RowCoding.PredictorBytes(h);
                    var rows = blocks[c];
                    for (int r = 0; r < h; r++)
                    {
                        if (rows[r].Zero) continue;
                        coded++;
                        for (int x = 0; x < w; x++)
                        {
                            int a = 0, b = 0, cc = 0;
                            if (r > 0) { var up = rows[r - 1].Codes; a = up[Math.Max(0, x - 1)]; b = up[x]; cc = up[Math.Min(w - 1, x + 1)]; }
                            int ctx = (cand.SharedPlanes ? 0 : c) * cand.ContextsPerPlane + cand.Context(rows[r].Predictor, r, a, b, cc, x);
                            int symbol = rows[r].Codes[x];
                            if (cand.Tokens) { var (t, raw) = Tokenize(symbol); symbol = t; rawBits += raw; }
                            local[ctx, symbol]++;
                        }
                    }
                }
                if (coded > 0) fixedBytes += 4 * Math.Min(cand.Lanes == 8 ? (w + 7) / 8 : w, cand.Lanes) + 1; // states, half a word of rounding
                if (cand.PerPatchTables) patchTableBytes += CodedBits(local, cand.ProbabilityBits) / 8;
            }
        return fixedBytes + rawBits / 8 + (cand.PerPatchTables ? patchTableBytes : CodedBits(counts, cand.ProbabilityBits) / 8);
    }

    /// <summary>Bits of the tables plus the symbols coded with them.</summary>
    static double CodedBits(long[,] counts, int probabilityBits)
    {
        double bits = 0;
        for (int k = 0; k < counts.GetLength(0); k++)
        {
            var row = Enumerable.Range(0, 256).Select(s => counts[k, s]).ToArray();
            long total = row.Sum();
            if (total == 0) { bits += 8; continue; }
            var freq = Normalize(row, 1 << probabilityBits);
            int last = Array.FindLastIndex(freq, f => f > 0);
            bits += 8;
            for (int s = 0; s <= last; s++) bits += 4 + Math.Max(0, RowCoding.WidthOf(freq[s]) - 1);
            for (int s = 0; s < 256; s++)
                if (row[s] > 0) bits += row[s] * -Math.Log2(freq[s] / (double)(1 << probabilityBits));
        }
        return bits;
    }

    public static int[] Normalize(long[] counts, int total)
    {
        long sum = counts.Sum();
        var freq = new int[counts.Length];
        int assigned = 0;
        for (int s = 0; s < counts.Length; s++)
        {
            if (counts[s] == 0) continue;
            freq[s] = (int)Math.Max(1, counts[s] * total / sum);
            assigned += freq[s];
        }
        // hand out the rest, or take back the excess, one at a time where it costs least
        while (assigned != total)
        {
            int best = -1; double bestGain = double.NegativeInfinity;
            for (int s = 0; s < counts.Length; s++)
            {
                if (counts[s] == 0 || (assigned > total && freq[s] == 1)) continue;
                double gain = assigned < total ? counts[s] * Math.Log2((freq[s] + 1.0) / freq[s]) : -counts[s] * Math.Log2(freq[s] / (freq[s] - 1.0));
                if (gain > bestGain) { bestGain = gain; best = s; }
            }
            int step = assigned < total ? 1 : -1;
            freq[best] += step; assigned += step;
        }
        return freq;
    }

    /// <summary>Codes a patch's planes as v1 (transform chosen per patch by the cost proxy).</summary>
    static Row[][] CodePatch(L3Image image, int x0, int y0, int w, int h, bool entropyChoice)
    {
        int ch = image.Channels;
        Row[] Plane(int channel, int minus)
        {
            var plane = new byte[w * h];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int i = ((y0 + y) * image.Width + x0 + x) * ch;
                    int v = image.Pixels[i + channel];
                    plane[y * w + x] = (byte)(minus < 0 ? v : ColorTransform.Decorrelate(v, image.Pixels[i + minus]));
                }
            var rows = new Row[h];
            var top = new int[w];
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++) top[x] = y == 0 ? 0 : plane[(y - 1) * w + x];
                long bestCost = long.MaxValue;
                for (int p = 0; p < 4; p++)
                {
                    var codes = new byte[w];
                    int previous = 0;
                    for (int x = 0; x < w; x++)
                    {
                        int baseValue = RowCoding.Base(p, top[x], top[Math.Min(x + 1, w - 1)], top[0]);
                        int offset = plane[y * w + x] - baseValue;
                        codes[x] = (byte)RowCoding.Zigzag(RowCoding.Residual(p, offset, previous));
                        previous = offset;
                    }
                    long cost = entropyChoice ? codes.Sum(c => (long)Cost(c)) : V1Cost(codes, w);
                    if (cost < bestCost) { bestCost = cost; rows[y] = new Row(p, codes, codes.All(c => c == 0)); }
                }
            }
            return rows;
        }
        long Size(Row[] rows) => rows.Sum(r => r.Zero ? 0 : (long)r.Codes.Sum(c => Cost(c)));
        var blocks = new Row[ch][];
        for (int c = 0; c < ch; c++) blocks[c] = Plane(c, -1);
        if (ch >= 3)
        {
            var rg = Plane(0, 1); var bg = Plane(2, 1);
            if (Size(rg) + Size(bg) <= Size(blocks[0]) + Size(blocks[2])) { blocks[0] = rg; blocks[2] = bg; }
        }
        return blocks;
    }

    // a proxy for a code's entropy-coded bits: its bit length, plus one
    static int Cost(int code) => 2 * RowCoding.WidthOf(code) + 1;

    static long V1Cost(byte[] codes, int w)
    {
        long bytes = 0;
        for (int g = 0; g * 8 < w; g++)
        {
            int or = 0;
            for (int s = g * 8; s < Math.Min(w, g * 8 + 8); s++) or |= codes[s];
            bytes += RowCoding.WidthOf(or);
        }
        return bytes == 0 ? 0 : 8 * bytes + 4 * ((w + 7) / 8);
    }
}
