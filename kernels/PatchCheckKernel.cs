using ILGPU;
using ILGPU.Runtime;

namespace L3.Kernels;

/// <summary>
/// Checks a list of patches on the device before they are decoded (<see cref="PatchCheck"/>, the
/// rule the CPU validation runs), so that a loader's host threads only read bytes: one thread per
/// patch. A bad patch's task is switched off (width and height 0: <see cref="GpuDecodeKernel.DecodePatchList"/>
/// then reads nothing past its flags byte and writes nothing) and the launch's first bad task is
/// recorded, for the host to name the sample and state the fault with the CPU validation.
/// </summary>
public static class PatchCheckKernel
{
    /// <summary>
    /// Checks tasks [0, <paramref name="taskCount"/>) of <paramref name="tasks"/>, patches of
    /// <paramref name="channels"/> channels whose bytes lie at [Start, Start + Length) of
    /// <paramref name="dataWords"/> (checked on the host). <paramref name="firstBad"/>[0] becomes the
    /// smallest index of a bad task (it must hold <see cref="int.MaxValue"/> before).
    /// </summary>
    public static void CheckPatchList(Index1D index, ArrayView<uint> dataWords, ArrayView<PatchTask> tasks, int taskCount,
        int channels, ArrayView<int> firstBad)
    {
        int i = index;
        if (i >= taskCount) return;
        var task = tasks[i];
        if (IsValid(dataWords, task, channels)) return;
        task.Width = 0;
        task.Height = 0;
        tasks[i] = task;
        Atomic.Min(ref firstBad[0], i);
    }

    /// <summary>Whether the patch of <paramref name="task"/> (its bytes inside <paramref name="dataWords"/>) keeps the rule.</summary>
    internal static bool IsValid(ArrayView<uint> dataWords, PatchTask task, int channels) =>
        PatchCheck.Check(new DeviceBytes(dataWords, task.Start, task.Length), task.Width, task.Height, channels).IsValid;

    /// <summary>Whether the mode-1 patch of <paramref name="task"/> keeps the dense structure rule (<see cref="DensePatchCheck"/>).</summary>
    internal static bool IsValidDense(ArrayView<uint> dataWords, PatchTask task, int channels) =>
        DensePatchCheck.Check(new DeviceBytes(dataWords, task.Start, task.Length), task.Width, task.Height, channels, out _).IsValid;

    /// <summary>A patch in device memory, read a 32-bit word at a time (the data is 4-byte aligned).</summary>
    private readonly struct DeviceBytes(ArrayView<uint> words, int start, int length) : IPatchBytes
    {
        public int Length => length;

        public uint Byte(int at)
        {
            int offset = start + at;
            return (words[offset >> 2] >> ((offset & 3) << 3)) & 0xFF;
        }

        public ulong Bytes(int at, int count)
        {
            ulong value = 0;
            for (int i = count - 1; i >= 0; i--) value = (value << 8) | Byte(at + i);
            return value;
        }
    }
}
