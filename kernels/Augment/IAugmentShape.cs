using System.Runtime.CompilerServices;

namespace L3.Kernels;

/// <summary>
/// The output an output-stage kernel (<see cref="AugmentKernel.Augment{TOutput}"/>) is specialized
/// to, as <see cref="IPatchShape"/> is for the decoders: members read on <c>default(TOutput)</c>, so
/// the JIT and ILGPU fold a member that returns a literal into a constant. A generated
/// <c>[L3Profile]</c> that declares an output emits one; <see cref="AnyOutput"/> fixes nothing
/// (every value is the launch's <see cref="AugmentOutput"/> and type argument).
/// </summary>
public interface IAugmentShape
{
    /// <summary>Output width and height in pixels; 0 for the launch's.</summary>
    int Width { get; }
    int Height { get; }

    /// <summary>Output channels, 1, 3 or 4; 0 for the launch's.</summary>
    int Channels { get; }

    /// <summary>The element type (<see cref="AugmentMath.UInt8"/>, <see cref="AugmentMath.Float32"/>,
    /// <see cref="AugmentMath.Float16"/>, <see cref="AugmentMath.BFloat16"/>); −1 for the launch's.</summary>
    int Type { get; }

    /// <summary>1 channels last (NHWC), 0 channels first (NCHW); −1 for the launch's.</summary>
    int ChannelsLast { get; }

    /// <summary>Whether the means and scales below are fixed (else the launch's are used).</summary>
    bool FixesNormalization { get; }

    /// <summary>Per channel: 255·mean and 1 / (255·std), each rounded once to float (<see cref="AugmentMath.Normalize"/>).</summary>
    float Mean0 { get; }
    float Mean1 { get; }
    float Mean2 { get; }
    float Mean3 { get; }
    float Scale0 { get; }
    float Scale1 { get; }
    float Scale2 { get; }
    float Scale3 { get; }
}

/// <summary>The generic output: it fixes nothing, every value is the launch's.</summary>
public readonly struct AnyOutput : IAugmentShape
{
    public int Width => 0;
    public int Height => 0;
    public int Channels => 0;
    public int Type => -1;
    public int ChannelsLast => -1;
    public bool FixesNormalization => false;
    public float Mean0 => 0f;
    public float Mean1 => 0f;
    public float Mean2 => 0f;
    public float Mean3 => 0f;
    public float Scale0 => 0f;
    public float Scale1 => 0f;
    public float Scale2 => 0f;
    public float Scale3 => 0f;
}

/// <summary>The values the output-stage kernel reads off an output shape: the shape's constant when
/// it fixes one, else the launch's value (the identity for <see cref="AnyOutput"/>).</summary>
public static class AugmentShape
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Width<TOutput>(int launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).Width != 0 ? default(TOutput).Width : launch;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Height<TOutput>(int launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).Height != 0 ? default(TOutput).Height : launch;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Channels<TOutput>(int launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).Channels != 0 ? default(TOutput).Channels : launch;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Type<TOutput>(int launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).Type >= 0 ? default(TOutput).Type : launch;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool ChannelsLast<TOutput>(int launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).ChannelsLast >= 0 ? default(TOutput).ChannelsLast != 0 : launch != 0;

    /// <summary>Channel <paramref name="c"/>'s mean (255·mean).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Mean<TOutput>(int c, AugmentOutput launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).FixesNormalization
            ? (c == 0 ? default(TOutput).Mean0 : c == 1 ? default(TOutput).Mean1 : c == 2 ? default(TOutput).Mean2 : default(TOutput).Mean3)
            : (c == 0 ? launch.Mean0 : c == 1 ? launch.Mean1 : c == 2 ? launch.Mean2 : launch.Mean3);

    /// <summary>Channel <paramref name="c"/>'s scale (1 / (255·std)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale<TOutput>(int c, AugmentOutput launch) where TOutput : struct, IAugmentShape =>
        default(TOutput).FixesNormalization
            ? (c == 0 ? default(TOutput).Scale0 : c == 1 ? default(TOutput).Scale1 : c == 2 ? default(TOutput).Scale2 : default(TOutput).Scale3)
            : (c == 0 ? launch.Scale0 : c == 1 ? launch.Scale1 : c == 2 ? launch.Scale2 : launch.Scale3);
}
