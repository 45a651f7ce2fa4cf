using L3;
using L3.Gpu;

/// <summary>Encode figures (filled in once the GPU encoder exists).</summary>
static class GpuEncodeBench
{
    public static (string Row, bool Exact)? Run(L3GpuCodec codec, L3Image[] raws, byte[][] files, int batchSize, double copyGBs) => null;
}
