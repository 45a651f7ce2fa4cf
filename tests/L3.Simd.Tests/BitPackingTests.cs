using L3.Cpu;
using L3.Kernels;

namespace L3.Simd.Tests;

/// <summary>The pdep/pext-free group (un)packing used where BMI2 is missing (Arm, DOTNET_EnableAVX2=0)
/// agrees with RowCoding's slot rules for every width.</summary>
public class BitPackingTests
{
    [Fact]
    public void PortableUnpackAndPackMatchRowCoding()
    {
        var rng = new Random(3);
        for (int width = 0; width <= 8; width++)
            for (int trial = 0; trial < 2000; trial++)
            {
                ulong bits = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63);
                ulong codes = SimdPatchDecoder.UnpackGroupPortable(bits, width);
                ulong packed = 0;
                for (int slot = 0; slot < 8; slot++)
                {
                    int code = RowCoding.UnpackSlot(bits, width, slot);
                    Assert.Equal(code, (int)(codes >> (8 * slot)) & 0xFF);
                    packed = RowCoding.PackSlot(packed, width, slot, code);
                }
                Assert.Equal(packed, SimdPatchEncoder.PackGroupPortable(codes, width));
                Assert.Equal(codes, SimdPatchDecoder.UnpackGroup(bits, width));
            }
    }
}
