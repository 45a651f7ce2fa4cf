using L3.Gpu;

namespace L3.Hostile;

/// <summary>
/// The GPU codec against the CPU codec on the hostile set. With the payload checksum checked, the
/// GPU must refuse (on the host, before any launch, with L3FormatException) exactly the files the
/// CPU refuses. Without it, every file whose structure passes reaches the kernel, even random bits
/// behind a wrong checksum: the GPU must decode it to the bytes the CPU's region decoder (which
/// skips the checksum too) gives, alone and in one batch with all the others.
/// </summary>
public static class GpuAgreement
{
    /// <summary>Returns the disagreements (empty when none) and how many files reached the kernel.</summary>
    public static (List<string> Disagreements, int Launched) Check(L3GpuCodec codec, IReadOnlyList<HostileCase> cases, bool eachAlone = true)
    {
        var disagreements = new List<string>();
        var accepted = new List<(HostileCase Case, byte[] Expected)>();
        foreach (var c in cases)
        {
            string? cpu = Error(() => L3Codec.Decode(c.File));
            string? gpuHost = Error(() => codec.Prepare([c.File]).Dispose());
            if ((cpu is null) != (gpuHost is null))
                disagreements.Add($"{c.Name}: the CPU says \"{cpu ?? "valid"}\", the GPU host checks \"{gpuHost ?? "valid"}\"");

            // without the payload checksum: what the structure allows reaches the kernel
            byte[]? expected = null;
            string? cpuStructure = Error(() =>
            {
                var h = L3Codec.ReadHeader(c.File);
                expected = L3Codec.DecodeRegion(c.File, 0, 0, h.Width, h.Height, verifyChecksum: false).Pixels;
            });
            string? gpuStructure = Error(() => codec.Prepare([c.File], verifyChecksum: false).Dispose());
            if ((cpuStructure is null) != (gpuStructure is null))
                disagreements.Add($"{c.Name} (no checksum): the CPU says \"{cpuStructure ?? "valid"}\", the GPU \"{gpuStructure ?? "valid"}\"");
            else if (expected is not null)
                accepted.Add((c, expected));
        }

        if (eachAlone)
            foreach (var (c, expected) in accepted)
                Compare(c.Name + " (alone)", codec.Decode([c.File], verifyChecksum: false)[0].Pixels, expected, disagreements);
        if (accepted.Count > 0)
        {
            var batch = codec.Decode(accepted.Select(a => (ReadOnlyMemory<byte>)a.Case.File).ToList(), verifyChecksum: false);
            for (int i = 0; i < accepted.Count; i++)
                Compare(accepted[i].Case.Name + " (in the batch)", batch[i].Pixels, accepted[i].Expected, disagreements);
        }
        return (disagreements, accepted.Count);
    }

    private static void Compare(string name, byte[] gpu, byte[] cpu, List<string> disagreements)
    {
        if (!gpu.AsSpan().SequenceEqual(cpu)) disagreements.Add($"{name}: the GPU's pixels differ from the CPU's");
    }

    private static string? Error(Action action)
    {
        try { action(); return null; }
        catch (L3FormatException e) { return e.Message; }
    }
}
