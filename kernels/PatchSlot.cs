namespace L3.Kernels;

/// <summary>
/// Where patch slot s of a batched launch lies, as the GPU decode and encode kernels number their
/// work: images back to back, each image's patches row-major (docs/FORMAT.md, section 1). A slot
/// past the last patch is inactive: image and patch 0, width and height 0.
/// </summary>
internal struct PatchSlot
{
    public bool Active;
    /// <summary>The image, and the patch's index in it.</summary>
    public int Image, Index;
    /// <summary>The patch's column and row of patches.</summary>
    public int Px, Py;
    /// <summary>The patch's width and height: N, or what is left at the right and bottom edges.</summary>
    public int Width, Height;

    public static PatchSlot Locate(long slot, int images, int patchCount, int patchesX, int imageWidth, int imageHeight, int n)
    {
        bool active = slot < (long)images * patchCount;
        int image = active ? (int)(slot / patchCount) : 0;
        int index = active ? (int)(slot - (long)image * patchCount) : 0;
        int py = index / patchesX, px = index - py * patchesX;
        return new PatchSlot
        {
            Active = active, Image = image, Index = index, Px = px, Py = py,
            Width = active ? Min(n, imageWidth - px * n) : 0,
            Height = active ? Min(n, imageHeight - py * n) : 0,
        };
    }

    private static int Min(int a, int b) => a < b ? a : b;
}
