using L3.Kernels;

namespace L3.Loading;

/// <summary>
/// A profile's fused kernels as the loader uses them: the patch-list decode specialized to the
/// profile's shape (<see cref="PatchSize"/>, and <see cref="Channels"/> when fixed) and the output
/// stage specialized to its declared output (size, channels, type, layout, normalization). The
/// source generator registers one for each <c>[L3Profile]</c> that declares an output.
/// </summary>
public sealed class LoaderProfileRegistration
{
    private readonly float[] _means, _scales;

    private LoaderProfileRegistration(string name, IPatchShape shape, IAugmentShape output,
        PatchListDecodeKernel decode, DensePatchListDecodeKernel denseDecode, AugmentStageKernel augment)
    {
        Name = name;
        PatchSize = shape.N;
        Channels = shape.Channels == 0 ? null : shape.Channels;
        OutputWidth = output.Width;
        OutputHeight = output.Height;
        OutputChannels = output.Channels;
        Type = (OutputType)output.Type;
        Layout = output.ChannelsLast != 0 ? TensorLayout.ChannelsLast : TensorLayout.ChannelsFirst;
        _means = [output.Mean0, output.Mean1, output.Mean2, output.Mean3];
        _scales = [output.Scale0, output.Scale1, output.Scale2, output.Scale3];
        Decode = decode;
        DenseDecode = denseDecode;
        Augment = augment;
    }

    /// <summary>The profile's name (the generated class's full name).</summary>
    public string Name { get; }
    public int PatchSize { get; }
    /// <summary>The source channel count the profile fixes, or null for any.</summary>
    public int? Channels { get; }
    public int OutputWidth { get; }
    public int OutputHeight { get; }
    public int OutputChannels { get; }
    public OutputType Type { get; }
    public TensorLayout Layout { get; }

    private long _batches;

    /// <summary>Batches the loader's GPU stage has run with this profile's kernels (in this process).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    internal void CountBatch() => Interlocked.Increment(ref _batches);

    /// <summary>The kernels (static methods the generator emitted), loaded by <see cref="FusedStage"/>.</summary>
    internal PatchListDecodeKernel Decode { get; }
    internal DensePatchListDecodeKernel DenseDecode { get; }
    internal AugmentStageKernel Augment { get; }

    internal static LoaderProfileRegistration For<TShape, TOutput>(string name, PatchListDecodeKernel decode, DensePatchListDecodeKernel denseDecode,
        AugmentStageKernel augment)
        where TShape : struct, IPatchShape where TOutput : struct, IAugmentShape =>
        new(name, default(TShape), default(TOutput), decode, denseDecode, augment);

    /// <summary>Whether a launch of <paramref name="patchSize"/> patches of <paramref name="channels"/> channels (either
    /// coding mode: the profile has a decode of each) is one the profile's decodes take.</summary>
    public bool DecodesPatches(int patchSize, int channels) => patchSize == PatchSize && (Channels is not { } c || c == channels);

    /// <summary>
    /// Whether the output stage of <paramref name="options"/> writing <paramref name="width"/> ×
    /// <paramref name="height"/> outputs is the profile's: same size, channels, type and layout, and for
    /// float outputs the same normalization, compared as the kernel takes it (255·mean and 1 / (255·std)
    /// rounded to float, bit for bit). The crop mode and the flip are chosen on the host, so any serves.
    /// </summary>
    public bool WritesOutput(AugmentOptions options, int width, int height)
    {
        if (width != OutputWidth || height != OutputHeight || options.Channels != OutputChannels || options.Type != Type || options.Layout != Layout)
            return false;
        if (Type == OutputType.UInt8) return true;
        for (int c = 0; c < OutputChannels; c++)
        {
            var (mean, scale) = options.Normalization(c);
            if (BitConverter.SingleToInt32Bits(mean) != BitConverter.SingleToInt32Bits(_means[c])
                || BitConverter.SingleToInt32Bits(scale) != BitConverter.SingleToInt32Bits(_scales[c]))
                return false;
        }
        return true;
    }

    public override string ToString() => Name;
}

/// <summary>
/// The profiles whose fused kernels the loader's GPU stage (<see cref="FusedStage"/>) runs: a batch
/// whose every decode launch is of a registered profile's patch size (and channels, when fixed) and
/// whose output is the profile's declared output is decoded and written by that profile's kernels;
/// any other batch by the generic kernels, with the same values. Generated profiles register from
/// their module initializer.
/// </summary>
public static class LoaderProfiles
{
    private static readonly object Gate = new();
    private static LoaderProfileRegistration[] _profiles = [];

    /// <summary>Every registered profile, in registration order.</summary>
    public static IReadOnlyList<LoaderProfileRegistration> All => Volatile.Read(ref _profiles);

    /// <summary>Whether the loader uses registered profiles (true by default); off, every batch takes the
    /// generic kernels — for comparing the two (bench/loader, <c>l3 loader-bench</c>).</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>Registers a profile's fused kernels under <paramref name="name"/> (the generated module
    /// initializers call this). Registering the same name twice keeps the first.</summary>
    /// <exception cref="ArgumentException">the shape or the output is not one the loader can produce</exception>
    public static LoaderProfileRegistration Register<TShape, TOutput>(string name, PatchListDecodeKernel decode, DensePatchListDecodeKernel denseDecode,
        AugmentStageKernel augment)
        where TShape : struct, IPatchShape where TOutput : struct, IAugmentShape
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(denseDecode);
        ArgumentNullException.ThrowIfNull(augment);
        if (!decode.Method.IsStatic || !denseDecode.Method.IsStatic || !augment.Method.IsStatic) throw new ArgumentException("kernels must be static methods");
        var shape = default(TShape);
        var output = default(TOutput);
        if (!FileLayout.IsValidPatchSize(shape.N) || shape.Channels != 0 && !FileLayout.IsValidChannelCount(shape.Channels))
            throw new ArgumentException($"shape {typeof(TShape)} does not fix a valid patch size (and channels, if any)", nameof(TShape));
        if (output.Width is < 1 or > 1 << 14 || output.Height is < 1 or > 1 << 14 || output.Channels is not (1 or 3 or 4)
            || output.Type is < AugmentMath.UInt8 or > AugmentMath.BFloat16 || output.ChannelsLast is not (0 or 1)
            || output.Type != AugmentMath.UInt8 && !output.FixesNormalization)
            throw new ArgumentException($"output {typeof(TOutput)} does not fix a size, channels, type, layout and normalization", nameof(TOutput));
        lock (Gate)
        {
            var current = _profiles;
            foreach (var p in current)
                if (p.Name == name) return p;
            var profile = LoaderProfileRegistration.For<TShape, TOutput>(name, decode, denseDecode, augment);
            Volatile.Write(ref _profiles, [.. current, profile]);
            return profile;
        }
    }

    /// <summary>The profile whose kernels serve a batch of these decode launches and this output
    /// (the first registered), or null for the generic kernels (also when <see cref="Enabled"/> is off).</summary>
    public static LoaderProfileRegistration? Find(IEnumerable<(int PatchSize, int Channels)> launches, AugmentOptions options, int width, int height)
    {
        if (!Enabled) return null;
        var list = launches as IReadOnlyCollection<(int, int)> ?? launches.ToArray();
        foreach (var p in Volatile.Read(ref _profiles))
            if (p.WritesOutput(options, width, height) && list.All(l => p.DecodesPatches(l.Item1, l.Item2)))
                return p;
        return null;
    }
}
