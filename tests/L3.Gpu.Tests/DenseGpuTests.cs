using ILGPU;
using ILGPU.Runtime;
using L3.Hostile;
using L3.Kernels;
using L3.TestSupport;

namespace L3.Gpu.Tests;

/// <summary>
/// Dense files (coding mode 1) through the GPU codec on ILGPU's CPU accelerator emulating a CUDA
/// warp of 32: bit-exact against the scalar reference on every patch size and channel count, edge
/// patches included, in one batch; a corrupt stream is refused exactly when the reference refuses it.
/// </summary>
[Collection("gpu")]
public sealed class DenseGpuTests(CodecFixture fixture)
{
    private static byte[] Dense(byte[] pixels, int w, int h, int c, int n) =>
        L3Codec.Encode(pixels, w, h, c, new L3EncodeOptions { PatchSize = n, Mode = L3CodingMode.Dense });

    [Theory]
    [InlineData(8)] [InlineData(16)] [InlineData(32)] [InlineData(64)]
    public void Dense_files_decode_bit_exactly_against_the_scalar_reference(int n)
    {
        var rng = new Random(n);
        foreach (int channels in new[] { 1, 3, 4 })
        {
            // two images of one shape (one launch, images side by side in warps), with edge patches
            int w = n + 1 + rng.Next(2 * n), h = n / 2 + rng.Next(2 * n);
            var pixels = new[] { CodecFixture.RandomImage(rng, w, h, channels), SyntheticImages.Make(Pattern.SmoothNoise, w, h, channels, n) };
            var files = pixels.Select(p => (ReadOnlyMemory<byte>)Dense(p, w, h, channels, n)).ToArray();
            var decoded = fixture.Codec.Decode(files);
            for (int i = 0; i < files.Length; i++)
                Assert.True(pixels[i].AsSpan().SequenceEqual(decoded[i].Pixels), $"N={n} C={channels} image {i} is not bit-exact");
        }
    }

    [Fact]
    public void A_real_image_crop_decodes_bit_exactly()
    {
        var image = TestData.Read("photo-coffee.png");
        int w = 150, h = 97;
        var crop = new byte[w * h * 3];
        for (int y = 0; y < h; y++) image.Pixels.AsSpan((y * image.Width) * 3, w * 3).CopyTo(crop.AsSpan(y * w * 3));
        var file = Dense(crop, w, h, 3, 64);
        Assert.Equal(crop, fixture.Codec.Decode(file).Pixels);
    }

    [Fact]
    public void Corrupt_streams_are_refused_exactly_when_the_reference_refuses_them()
    {
        var pixels = SyntheticImages.Make(Pattern.SmoothNoise, 24, 12, 3, 5);
        var valid = Dense(pixels, 24, 12, 3, 8);
        var header = L3Codec.ReadHeader(valid);
        var rng = new Random(3);
        int refused = 0;
        for (int k = 0; k < 16; k++) // each a launch on the (slow) CPU accelerator
        {
            var file = (byte[])valid.Clone();
            int at = header.PayloadStart + header.TablesLength + rng.Next(header.PayloadLength - header.TablesLength);
            file[at] ^= (byte)(1 << rng.Next(8));
            file = HostileSet.Reseal(file);
            var cpu = Record.Exception(() => L3Codec.Decode(file));
            var gpu = Record.Exception(() => fixture.Codec.Decode(file));
            Assert.True(cpu is null or L3FormatException, $"CPU: {cpu}");
            Assert.True(gpu is null or L3FormatException, $"GPU: {gpu}");
            Assert.Equal(cpu is null, gpu is null);
            if (cpu is null) Assert.Equal(L3Codec.Decode(file).Pixels, fixture.Codec.Decode(file).Pixels);
            else refused++;
        }
        Assert.True(refused > 8, $"only {refused} of 16 flips were refused");
    }

    [Fact]
    public void Crafted_dense_tables_and_streams_are_refused_or_decoded_exactly_as_the_reference_does()
    {
        // states below L (the kernel's exact steps), streams cut or left over, tables the stream cannot
        // use; N = 8 only, to keep the CPU accelerator's launches few
        var valid = DenseHostileSet.ValidAdversarial().Where(v => v.Name.Contains("-n8-c3-noise-")).ToList();
        var crafted = DenseHostileSet.Crafted(valid).ToList();
        Assert.Contains(crafted, c => c.Name.Contains("state0-below-L"));
        var (disagreements, decoded) = DenseGpuAgreement.Check(fixture.Codec, crafted, batch: false);
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
        Assert.True(decoded < crafted.Count, "every crafted file decoded: the set tries nothing");
    }

    [Fact]
    public void A_ballot_gives_every_lane_the_bits_of_its_warp()
    {
        // the kernel's word reads rank lanes by the ballot's bits below theirs: on the CPU accelerator
        // (and any non-CUDA one) the ballot is built from shuffles; on CUDA it is one vote.sync (the
        // GPU bench's dense sweep checks that path against the scalar reference)
        var accelerator = fixture.Codec.Accelerator;
        var kernel = accelerator.LoadKernel<ArrayView<int>, ArrayView<uint>>(BallotOfEachLane);
        var rng = new Random(7);
        var predicates = Enumerable.Range(0, 128).Select(i => i < 32 ? 0 : i < 64 ? 1 : rng.Next(2)).ToArray();
        using var input = accelerator.Allocate1D(predicates);
        using var output = accelerator.Allocate1D<uint>(predicates.Length);
        kernel(accelerator.DefaultStream, new KernelConfig(2, 64), input.View, output.View);
        accelerator.Synchronize();
        var masks = output.GetAsArray1D();
        for (int i = 0; i < predicates.Length; i++)
        {
            uint expected = 0;
            for (int lane = 0; lane < 32; lane++) expected |= (uint)predicates[i / 32 * 32 + lane] << lane;
            Assert.Equal(expected, masks[i]);
        }
    }

    private static void BallotOfEachLane(ArrayView<int> predicates, ArrayView<uint> masks)
    {
        int i = Grid.GlobalIndex.X;
        masks[i] = GpuDenseDecodeKernel.Ballot(predicates[i] != 0);
    }

    [Fact]
    public void A_kernel_table_entry_holds_every_token_field_of_the_format()
    {
        var entry = new uint[GpuDenseDecodeKernel.EntryWords];
        uint[] states = [DenseLayout.StateLow, DenseLayout.StateLow + 777, 0x12345678, uint.MaxValue];
        for (int token = 0; token < DenseLayout.TokenCount; token++)
            foreach (int frequency in new[] { 1, 2, 511, 1023, DenseLayout.ProbabilityTotal })
                foreach (int cumulative in new[] { 0, 1, DenseLayout.ProbabilityTotal - frequency })
                {
                    if (cumulative + frequency > DenseLayout.ProbabilityTotal) continue; // no table has it
                    GpuDenseDecodeKernel.WriteEntry(entry, token, frequency, cumulative);
                    // the kernel's state after the token: f × (x >> 10) + slot + (−cum), for a slot of the token
                    foreach (uint high in states)
                        foreach (int slot in new[] { cumulative, cumulative + frequency - 1 })
                        {
                            uint state = (high & ~(uint)(DenseLayout.ProbabilityTotal - 1)) | (uint)slot;
                            Assert.Equal(DenseCoding.AfterToken(state, slot, frequency, cumulative), AfterToken(entry, state));
                        }
                    int rawBits = DenseCoding.RawBitCount(token);
                    Assert.Equal(rawBits, RawBitsOf(entry));
                    for (int raw = 0; raw < 1 << rawBits; raw++)
                        Assert.Equal(DenseCoding.CodeOf(token, raw), (int)(CodeBaseOf(entry) + (uint)raw));
                }
        GpuDenseDecodeKernel.WriteEntry(entry, 3, 0, 100); // a token no symbol has
        Assert.Equal(new uint[GpuDenseDecodeKernel.EntryWords], entry);
    }

    [Fact]
    public void A_rank_map_gives_every_slot_the_entry_of_its_token()
    {
        // the tables of real dense files (a textured image's, a flat one's: used and unused tables)
        // and the kernel's identity table
        const int channels = 3;
        int used = 0, unused = 0;
        foreach (var pixels in new[] { SyntheticImages.Make(Pattern.SmoothNoise, 96, 64, channels, 7), new byte[96 * 64 * channels] })
            CheckRanks(Dense(pixels, 96, 64, channels, 16), ref used, ref unused);
        Assert.True(used > 0 && unused > 0, "the files have both used and unused tables");
    }

    private static void CheckRanks(byte[] file, ref int used, ref int unused)
    {
        const int channels = 3;
        var tables = L3.Dense.DenseFileDecoder.ReadTables(file, L3Codec.ReadHeader(file));
        var ranks = new byte[DenseKernelTables.RankBytes(channels)];
        var entries = new uint[DenseKernelTables.Entries(channels)];
        DenseKernelTables.Write(tables, ranks, entries);
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(ranks);
        var expected = new uint[GpuDenseDecodeKernel.EntryWords];
        for (int table = 0; table < GpuDenseDecodeKernel.TablesOfFile(channels); table++)
            for (int slot = 0; slot < DenseLayout.ProbabilityTotal; slot++)
            {
                int token = table < DenseLayout.TableCount(channels) ? tables.SlotTokens[table * DenseLayout.ProbabilityTotal + slot] : -1;
                if (token == -1) GpuDenseDecodeKernel.WriteIdentityEntry(expected);
                else if (token == L3.Dense.DenseTables.NoToken) { Array.Clear(expected); unused++; }
                else
                {
                    uint fc = tables.FrequencyCumulative[table * L3.Dense.DenseTables.TokenStride + token];
                    GpuDenseDecodeKernel.WriteEntry(expected, token, (int)(fc & 0xFFFF), (int)(fc >> 16));
                    used++;
                }
                int rank = GpuDenseDecodeKernel.RankOf(words[table * GpuDenseDecodeKernel.RankWordsPerTable + slot / 32], (uint)slot);
                Assert.InRange(rank, 0, GpuDenseDecodeKernel.TokensPerTable - 1);
                int at = (table * GpuDenseDecodeKernel.TokensPerTable + rank) * GpuDenseDecodeKernel.EntryWords;
                Assert.True(expected.AsSpan().SequenceEqual(entries.AsSpan(at, GpuDenseDecodeKernel.EntryWords)), $"table {table} slot {slot}");
            }
    }

    [Fact]
    public void The_identity_entry_keeps_every_state_and_gives_code_zero()
    {
        var entry = new uint[GpuDenseDecodeKernel.EntryWords];
        GpuDenseDecodeKernel.WriteIdentityEntry(entry);
        foreach (uint state in new uint[] { DenseLayout.StateLow, DenseLayout.StateLow + 1, 0x0ABCDEF1, 0x80000000, uint.MaxValue })
            Assert.Equal(state, AfterToken(entry, state));
        Assert.Equal(0, RawBitsOf(entry));
        Assert.Equal(0u, CodeBaseOf(entry));
    }

    // an entry's fields as the kernel reads them (GpuDenseDecodeKernel.Step)
    private static uint FrequencyOf(uint[] entry) => entry[0] & GpuDenseDecodeKernel.FrequencyMask;
    private static int RawBitsOf(uint[] entry) => (int)(entry[0] >> GpuDenseDecodeKernel.RawBitsShift) & 31;
    private static uint CodeBaseOf(uint[] entry) => entry[0] >> GpuDenseDecodeKernel.CodeBaseShift;
    private static uint AfterToken(uint[] entry, uint state) =>
        FrequencyOf(entry) * (state >> DenseLayout.ProbabilityBits) + (state & (DenseLayout.ProbabilityTotal - 1)) + entry[1];

    [Fact]
    public void The_batch_path_refuses_dense_files_instead_of_misreading_them()
    {
        var file = Dense(SyntheticImages.Make(Pattern.SmoothNoise, 20, 20, 1, 1), 20, 20, 1, 8);
        Assert.Throws<L3FormatException>(() => fixture.Codec.Prepare([file]));
    }
}
