namespace L3.Kernels;

/// <summary>
/// The reference encoder's choices (docs/FORMAT.md, end of section 3), written once for the scalar,
/// vector and GPU encoders so that their files stay byte-identical: per row and plane the cheapest
/// predictor (the lowest on a tie), per patch the colour transform when it makes the R and B
/// blocks no larger, and which coded plane fills each channel block. A decoder needs none of this.
/// </summary>
/// <remarks>
/// Coded planes are numbered as the encoders hold them: 0..C−1 the channels, then, for 3 or 4
/// channels, <see cref="RedMinusGreen"/> = C and <see cref="BlueMinusGreen"/> = C + 1.
/// </remarks>
internal static class EncoderPolicy
{
    /// <summary>Planes an encoder codes per patch: the channels, and R−G, B−G where the colour
    /// transform is allowed (<see cref="PatchLayout.AreValidFlags"/>).</summary>
    public static int PlaneCount(int channels) => channels + (CanTransform(channels) ? 2 : 0);

    /// <summary>Whether the colour transform is tried: it needs R, G and B.</summary>
    public static bool CanTransform(int channels) => channels >= 3;

    /// <summary>The coded plane R−G, and B−G.</summary>
    public static int RedMinusGreen(int channels) => channels;
    public static int BlueMinusGreen(int channels) => channels + 1;

    /// <summary>The channel coded plane <paramref name="plane"/> is made from (R for R−G, B for B−G).</summary>
    public static int SourceChannel(int plane, int channels) =>
        plane < channels ? plane : plane == RedMinusGreen(channels) ? PatchLayout.Red : PatchLayout.Blue;

    /// <summary>Whether coded plane <paramref name="plane"/> is a channel minus G.</summary>
    public static bool IsDecorrelated(int plane, int channels) => plane >= channels;

    /// <summary>
    /// Where it can be (<see cref="CanTransform"/>), the colour transform is used when the R−G and
    /// B−G blocks together take no more bytes than the R and B blocks (the transform wins a tie).
    /// </summary>
    public static bool UseColorTransform(int redBytes, int blueBytes, int redMinusGreenBytes, int blueMinusGreenBytes) =>
        redMinusGreenBytes + blueMinusGreenBytes <= redBytes + blueBytes;

    /// <summary>The coded plane written as channel block <paramref name="channel"/>: the channel
    /// itself, or R−G for R and B−G for B under the transform.</summary>
    public static int BlockPlane(int channel, bool transform, int channels) =>
        !transform ? channel
        : channel == PatchLayout.Red ? RedMinusGreen(channels)
        : channel == PatchLayout.Blue ? BlueMinusGreen(channels)
        : channel;

    /// <summary>
    /// What a row costs under a predictor, in bits: 0 for a zero row (every code 0), else its
    /// groups' bytes and its width nibbles, 8·Σb + 4·G. For a row of the patch G is fixed, so the
    /// cheapest predictor is the one with the fewest group bytes.
    /// </summary>
    public static int RowBits(int groupBytes, int groupsPerRow) => groupBytes == 0 ? 0 : 8 * groupBytes + 4 * groupsPerRow;

    /// <summary>
    /// A row's cost under <paramref name="predictor"/> as one key: the cheapest predictor has the
    /// smallest key, and of equal costs the lowest predictor does (the tie rule). Any order of
    /// comparing keys gives the same choice, so a vector or GPU encoder may take their minimum.
    /// </summary>
    public static int PredictorKey(int rowBits, int predictor) => rowBits * RowCoding.PredictorCount + predictor;

    /// <summary>The cost a key (<see cref="PredictorKey"/>) was made from.</summary>
    public static int CostOfKey(int key) => key / RowCoding.PredictorCount;

    /// <summary>The predictor a key (<see cref="PredictorKey"/>) stands for.</summary>
    public static int PredictorOfKey(int key) => key & (RowCoding.PredictorCount - 1);

    /// <summary>
    /// Dense mode (1): what a code is taken to cost when the encoder picks a row's predictor and a
    /// patch's colour transform, 2·bitlength + 1, a stand-in for its entropy-coded bits that needs no
    /// tables yet. The cheapest predictor wins, the lowest on a tie; the transform wins a tie.
    /// </summary>
    public static int DenseCodeCost(int code) => 2 * RowCoding.WidthOf(code) + 1;

    /// <summary>Dense mode: a row's cost, the sum of <see cref="DenseCodeCost"/> over its
    /// <paramref name="width"/> codes, from the sum of their bit lengths.</summary>
    public static int DenseRowCost(int bitLengthSum, int width) => 2 * bitLengthSum + width;
}
