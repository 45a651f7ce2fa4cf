namespace L3.Kernels;

/// <summary>
/// The layout of coding mode 1, dense (docs/FORMAT.md, section 6): the probability tables that
/// open the payload and the parts of a dense patch. The one home of its sizes and limits; the
/// coding rules themselves are <see cref="DenseCoding"/>.
/// </summary>
public static class DenseLayout
{
    /// <summary>Probabilities are in units of 1 / <see cref="ProbabilityTotal"/> (10 bits).</summary>
    public const int ProbabilityBits = 10;
    public const int ProbabilityTotal = 1 << ProbabilityBits;

    /// <summary>Tokens a code is coded as (<see cref="DenseCoding.TokenOf"/>).</summary>
    public const int TokenCount = 24;

    /// <summary>Contexts, and so tables, per channel block (<see cref="DenseCoding.Context"/>).</summary>
    public const int ContextsPerChannel = 16;

    /// <summary>The context of every code of a block's first row.</summary>
    public const int FirstRowContext = 15;

    /// <summary>Bits of a table's used-token count, of a frequency's length, and the largest length
    /// (a frequency of <see cref="ProbabilityTotal"/> = 2^10 is 11 bits long).</summary>
    public const int UsedCountBits = 5, LengthBits = 4, MaxLength = ProbabilityBits + 1;

    /// <summary>The coder state's lower bound L: states lie in [L, 2^32) between symbols.</summary>
    public const uint StateLow = 1u << 16;

    /// <summary>Bits of a word of the stream, and bytes of a state and of a word.</summary>
    public const int WordBits = 16, StateBytes = 4, WordBytes = 2;

    /// <summary>Columns a lane (one coder state) owns: the groups of 8 of mode 0.</summary>
    public const int LaneColumns = 8;

    /// <summary>Lanes (coder states) of a patch <paramref name="width"/> pixels wide.</summary>
    public static int Lanes(int width) => (width + LaneColumns - 1) / LaneColumns;

    /// <summary>Tables of an image of <paramref name="channels"/> channels.</summary>
    public static int TableCount(int channels) => channels * ContextsPerChannel;

    /// <summary>Bytes of a patch's flags, masks and predictor arrays: where its states start.</summary>
    public static int PatchHeaderBytes(int height, int channels) =>
        PatchLayout.FlagsSize + channels * (RowCoding.ZeroMaskBytes(height) + RowCoding.PredictorBytes(height));

    /// <summary>The table of context <paramref name="context"/> of channel block <paramref name="channel"/>.</summary>
    public static int TableIndex(int channel, int context) => channel * ContextsPerChannel + context;
}
