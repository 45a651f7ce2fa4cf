using System.Runtime.ExceptionServices;
using L3.Cpu;
using L3.Dense;
using L3.Kernels;

namespace L3;

/// <summary>
/// The entry point: encode pixels to an L3 file, decode a file or a rectangle of it, read its
/// header. Bad input always ends in <see cref="L3FormatException"/>.
/// </summary>
public static class L3Codec
{
    /// <summary>Encodes interleaved 8-bit pixels (<paramref name="channels"/> = 1, 3 or 4).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels, L3EncodeOptions? options = null)
    {
        options ??= L3EncodeOptions.Default;
        int n = options.PatchSize;
        L3Header.ValidateShape(width, height, channels, n);
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"expected {expected} bytes of pixels for {width}x{height}x{channels}, got {pixels.Length}", nameof(pixels));
        if (options.Mode == L3CodingMode.Dense) return DenseEncoder.Encode(pixels, width, height, channels, options);
        if (options.Mode != L3CodingMode.Rows) throw new ArgumentOutOfRangeException(nameof(options), $"coding mode {options.Mode} is not known");

        int patchesX = (width + n - 1) / n, patchesY = (height + n - 1) / n;
        var patches = new ArraySegment<byte>[patchesX * patchesY];
        int stride = width * channels;
        // each patch row is coded into one pooled buffer; Assemble copies the patches out of them
        var rowBuffers = new byte[patchesY][];
        try
        {
            if (options.MaxDegreeOfParallelism <= 1)
            {
                for (int py = 0; py < patchesY; py++) EncodePatchRow(pixels, py);
            }
            else
            {
                unsafe
                {
                    // a span cannot cross into the worker lambdas: pin the pixels and pass the address
                    fixed (byte* p = pixels)
                    {
                        nint address = (nint)p;
                        int length = pixels.Length;
                        Parallel.For(0, patchesY, new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism },
                            py => EncodePatchRow(new ReadOnlySpan<byte>((byte*)address, length), py));
                    }
                }
            }
            return L3Header.Assemble(width, height, channels, n, patches);
        }
        finally
        {
            foreach (var buffer in rowBuffers)
                if (buffer is not null) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        void EncodePatchRow(ReadOnlySpan<byte> source, int py)
        {
            var path = CpuPaths.Resolve(options.Path);
            var simd = path == CpuPath.Scalar ? null : SimdPatchEncoder.ForThread(n, channels, path);
            var encoder = simd is null ? new PatchEncoder(n, channels) : null;
            int y = py * n, h = Math.Min(n, height - y);
            var buffer = rowBuffers[py] = System.Buffers.ArrayPool<byte>.Shared.Rent(patchesX * PatchLayout.MaxPatchBytes(n, h, channels));
            int at = 0;
            for (int px = 0; px < patchesX; px++)
            {
                int x = px * n, w = Math.Min(n, width - x);
                var output = buffer.AsSpan(at, PatchLayout.MaxPatchBytes(w, h, channels));
                var patchPixels = source[(y * stride + x * channels)..];
                int length = simd is not null
                    ? simd.Encode(patchPixels, stride, w, h, output)
                    : encoder!.Encode(patchPixels, stride, w, h, output);
                patches[py * patchesX + px] = new ArraySegment<byte>(buffer, at, length);
                at += length;
            }
        }
    }

    public static byte[] Encode(L3Image image, L3EncodeOptions? options = null) =>
        Encode(image.Pixels, image.Width, image.Height, image.Channels, options);

    /// <summary>Reads and validates the header and patch table (not the payload).</summary>
    public static L3Header ReadHeader(ReadOnlySpan<byte> file) => L3Header.Read(file);

    /// <summary>Decodes a whole file, after checking both checksums and every patch's structure.</summary>
    public static L3Image Decode(ReadOnlySpan<byte> file) => Decode(file, L3DecodeOptions.Default);

    /// <summary>Decodes a whole file, after checking both checksums and every patch's structure;
    /// <paramref name="options"/> may spread the patches over several threads.</summary>
    public static L3Image Decode(ReadOnlySpan<byte> file, L3DecodeOptions? options)
    {
        options ??= L3DecodeOptions.Default;
        var header = L3Header.Read(file);
        // the pixels are allocated only once the file has proved them (docs/FORMAT.md, "Memory bound")
        var tables = Validate(file, header, options.MaxDegreeOfParallelism);
        // every byte is written by the patches (they tile the image) before the array is returned
        var pixels = GC.AllocateUninitializedArray<byte>(checked((int)header.DecodedBytes));
        DecodeValidated(file, header, tables, pixels, options);
        return new L3Image(header.Width, header.Height, header.Channels, pixels);
    }

    /// <summary>Decodes a whole file into <paramref name="pixels"/> (width × height × channels bytes).
    /// Nothing is written unless the whole file is valid.</summary>
    public static L3Header Decode(ReadOnlySpan<byte> file, Span<byte> pixels) => Decode(file, pixels, L3DecodeOptions.Default);

    /// <summary>Decodes a whole file into <paramref name="pixels"/> (width × height × channels bytes).
    /// Nothing is written unless the whole file is valid.</summary>
    public static L3Header Decode(ReadOnlySpan<byte> file, Span<byte> pixels, L3DecodeOptions? options)
    {
        var header = L3Header.Read(file);
        if (pixels.Length < header.DecodedBytes)
            throw new ArgumentException($"the destination holds {pixels.Length} bytes; the image needs {header.DecodedBytes}", nameof(pixels));
        options ??= L3DecodeOptions.Default;
        var tables = Validate(file, header, options.MaxDegreeOfParallelism);
        DecodeValidated(file, header, tables, pixels, options);
        return header;
    }

    /// <summary>
    /// Decodes many files, image-parallel on up to <paramref name="maxDegreeOfParallelism"/> threads
    /// (-1 = all cores), each image on one thread. Results are in input order. When files are
    /// invalid, the L3FormatException of the first invalid file in input order is thrown as is
    /// (never an AggregateException), however many fail and on however many threads.
    /// </summary>
    public static L3Image[] DecodeMany(IReadOnlyList<ReadOnlyMemory<byte>> files, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(files);
        var results = new L3Image[files.Count];
        if (maxDegreeOfParallelism == 1)
        {
            for (int i = 0; i < files.Count; i++) results[i] = Decode(files[i].Span);
            return results;
        }
        var failures = new L3FormatException?[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i =>
        {
            try { results[i] = Decode(files[i].Span); }
            catch (L3FormatException e) { failures[i] = e; }
        });
        foreach (var failure in failures)
            if (failure is not null) ExceptionDispatchInfo.Throw(failure);
        return results;
    }

    /// <summary>
    /// Decodes the rectangle (x, y, width, height) from only the patches it touches. The header
    /// checksum is always checked; the payload checksum covers the whole file, so it is checked
    /// only when <paramref name="verifyChecksum"/> is set.
    /// </summary>
    public static L3Image DecodeRegion(ReadOnlySpan<byte> file, int x, int y, int width, int height, bool verifyChecksum = false)
    {
        var header = L3Header.Read(file);
        if (x < 0 || y < 0 || width < 1 || height < 1 || (long)x + width > header.Width || (long)y + height > header.Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"region {x},{y} {width}x{height} is not inside the {header.Width}x{header.Height} image");
        if (verifyChecksum) header.VerifyPayload(file);

        int n = header.PatchSize, channels = header.Channels;
        int px0 = x / n, px1 = (x + width - 1) / n, py0 = y / n, py1 = (y + height - 1) / n;
        var tables = header.Mode == L3CodingMode.Dense ? DenseFileDecoder.ReadTables(file, header) : null;
        for (int py = py0; py <= py1; py++)
            for (int px = px0; px <= px1; px++)
                PatchFormat.ValidatePatch(file, header, py * header.PatchesX + px);

        var pixels = new byte[(long)width * height * channels];
        var patchPixels = new byte[n * n * channels];
        for (int py = py0; py <= py1; py++)
            for (int px = px0; px <= px1; px++)
            {
                int index = py * header.PatchesX + px;
                var rect = header.PatchRect(index);
                var (start, length) = header.PatchRange(index);
                if (tables is not null)
                    DenseFileDecoder.DecodePatch(file, header, tables, index, patchPixels, rect.Width * channels);
                else
                    unsafe
                    {
                        fixed (byte* f = file)
                        fixed (byte* d = patchPixels)
                            CpuDecoder.DecodePatchTo(f + header.PayloadStart + start, length, file.Length - header.PayloadStart - start,
                                rect.Width, rect.Height, channels, d, rect.Width * channels, CpuPath.Auto);
                    }
                // copy the part of the patch inside the region
                int cx0 = Math.Max(x, rect.X), cx1 = Math.Min(x + width, rect.X + rect.Width);
                int cy0 = Math.Max(y, rect.Y), cy1 = Math.Min(y + height, rect.Y + rect.Height);
                for (int row = cy0; row < cy1; row++)
                    patchPixels.AsSpan(((row - rect.Y) * rect.Width + (cx0 - rect.X)) * channels, (cx1 - cx0) * channels)
                        .CopyTo(pixels.AsSpan(((row - y) * width + (cx0 - x)) * channels));
            }
        return new L3Image(width, height, channels, pixels);
    }

    /// <summary>Checks both checksums and every patch's structure, then decodes each patch into one
    /// patch-sized buffer (the image is never held whole); throws L3FormatException.</summary>
    public static L3Header Verify(ReadOnlySpan<byte> file)
    {
        var header = L3Header.Read(file);
        var tables = Validate(file, header, maxDegreeOfParallelism: 1);
        int n = header.PatchSize, channels = header.Channels;
        var patchPixels = new byte[n * n * channels];
        if (tables is not null)
        {
            for (int index = 0; index < header.PatchCount; index++)
                DenseFileDecoder.DecodePatch(file, header, tables, index, patchPixels, header.PatchRect(index).Width * channels);
            return header;
        }
        unsafe
        {
            fixed (byte* f = file)
            fixed (byte* d = patchPixels)
                for (int index = 0; index < header.PatchCount; index++)
                {
                    var rect = header.PatchRect(index);
                    var (start, length) = header.PatchRange(index);
                    CpuDecoder.DecodePatchTo(f + header.PayloadStart + start, length, file.Length - header.PayloadStart - start,
                        rect.Width, rect.Height, channels, d, rect.Width * channels, CpuPath.Auto);
                }
        }
        return header;
    }

    /// <summary>
    /// Which decoder <see cref="Decode(ReadOnlySpan{byte}, Span{byte}, L3DecodeOptions?)"/> runs on a
    /// file with this header: "profile NAME (PATH)" when a registered profile matches it, else
    /// "generic PATH", PATH the CPU instruction set (e.g. "Vector512 (AVX-512)"). It is the very
    /// choice Decode makes (both resolve it in one place), not a separate lookup.
    /// </summary>
    public static string DescribeDecoder(L3Header header, L3DecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (header.Mode == L3CodingMode.Dense)
        {
            var path = CpuPaths.Resolve((options ?? L3DecodeOptions.Default).Path);
            return DenseSimdDecoder.Serves(path) ? $"dense {CpuPaths.Describe(path)}" : "dense scalar";
        }
        return DecoderChoice.Resolve(header, options ?? L3DecodeOptions.Default).ToString();
    }

    /// <summary>Which decoder serves <paramref name="file"/> (see <see cref="DescribeDecoder(L3Header, L3DecodeOptions?)"/>);
    /// reads and checks its header.</summary>
    public static string DescribeDecoder(ReadOnlySpan<byte> file, L3DecodeOptions? options = null) =>
        DescribeDecoder(L3Header.Read(file), options);

    /// <summary>
    /// Decodes a file of the shape <typeparamref name="TShape"/> with the library's decoder
    /// instantiated with that shape (what a generated profile's <c>Decode</c> calls): the same
    /// checks first as <see cref="Decode(ReadOnlySpan{byte}, Span{byte}, L3DecodeOptions?)"/>; nothing
    /// is written unless the whole file is valid.
    /// </summary>
    /// <exception cref="L3FormatException">the file is not a valid L3 file</exception>
    /// <exception cref="ArgumentException">the file is not of the shape, or <paramref name="pixels"/> is too small</exception>
    public static L3Header Decode<TShape>(ReadOnlySpan<byte> file, Span<byte> pixels, L3DecodeOptions? options = null)
        where TShape : struct, IPatchShape
    {
        options ??= L3DecodeOptions.Default;
        var header = ReadAndValidate<TShape>(file, options.MaxDegreeOfParallelism, out var tables);
        if (pixels.Length < header.DecodedBytes)
            throw new ArgumentException($"the destination holds {pixels.Length} bytes; the image needs {header.DecodedBytes}", nameof(pixels));
        if (tables is not null) { DecodeDense(file, header, tables, pixels, options); return header; }
        FileDecoder.For<TShape>().Decode(file, header, pixels, CpuPaths.Resolve(options.Path), options.MaxDegreeOfParallelism);
        return header;
    }

    /// <summary>Decodes a file of the shape <typeparamref name="TShape"/> into a new image (see
    /// <see cref="Decode{TShape}(ReadOnlySpan{byte}, Span{byte}, L3DecodeOptions?)"/>).</summary>
    public static L3Image Decode<TShape>(ReadOnlySpan<byte> file, L3DecodeOptions? options = null) where TShape : struct, IPatchShape
    {
        options ??= L3DecodeOptions.Default;
        var header = ReadAndValidate<TShape>(file, options.MaxDegreeOfParallelism, out var tables);
        var pixels = GC.AllocateUninitializedArray<byte>(checked((int)header.DecodedBytes));
        if (tables is not null) { DecodeDense(file, header, tables, pixels, options); return new L3Image(header.Width, header.Height, header.Channels, pixels); }
        FileDecoder.For<TShape>().Decode(file, header, pixels, CpuPaths.Resolve(options.Path), options.MaxDegreeOfParallelism);
        return new L3Image(header.Width, header.Height, header.Channels, pixels);
    }

    /// <summary>Whether a file with this header is of the shape <typeparamref name="TShape"/>.</summary>
    public static bool IsOfShape<TShape>(L3Header header) where TShape : struct, IPatchShape
    {
        ArgumentNullException.ThrowIfNull(header);
        var shape = default(TShape);
        return (shape.N == 0 || header.PatchSize == shape.N) && (shape.Width == 0 || header.Width == shape.Width)
            && (shape.Height == 0 || header.Height == shape.Height) && (shape.Channels == 0 || header.Channels == shape.Channels);
    }

    /// <summary>The checks every decode makes, in order: header and table, the shape, the payload
    /// checksum, then every patch's structure. Used by the CPU and the GPU entry points of a shape.
    /// <paramref name="tables"/>: a dense file's tables, read in the checks (null for mode 0).</summary>
    internal static L3Header ReadAndValidate<TShape>(ReadOnlySpan<byte> file, int maxDegreeOfParallelism, out DenseTables? tables)
        where TShape : struct, IPatchShape
    {
        var header = L3Header.Read(file);
        if (!IsOfShape<TShape>(header))
            throw new ArgumentException(
                $"the file is N = {header.PatchSize}, {header.Width}x{header.Height}x{header.Channels}; this decoder is specialized to {ShapeText<TShape>()} (use L3Codec.Decode)",
                nameof(file));
        tables = Validate(file, header, maxDegreeOfParallelism);
        return header;
    }

    /// <summary>"N = 16, Width = 2048" (with Height and Channels when the shape fixes them).</summary>
    private static string ShapeText<TShape>() where TShape : struct, IPatchShape
    {
        var s = default(TShape);
        return $"N = {s.N}, Width = {s.Width}" + (s.Height != 0 ? $", Height = {s.Height}" : "") + (s.Channels != 0 ? $", Channels = {s.Channels}" : "");
    }

    /// <summary>The checks after the header: the payload checksum, then every patch. Returns a dense
    /// file's tables, read and checked there once for the decode that follows (null for mode 0).</summary>
    private static DenseTables? Validate(ReadOnlySpan<byte> file, L3Header header, int maxDegreeOfParallelism)
    {
        header.VerifyPayload(file);
        if (header.Mode == L3CodingMode.Dense) return DenseFileDecoder.Validate(file, header);
        PatchFormat.ValidatePatches(file, header, maxDegreeOfParallelism);
        return null;
    }

    /// <summary>Decodes a file that <see cref="Validate"/> accepted: a registered profile that matches
    /// it decodes it (the same decoder, its shape's facts folded in), else the generic instantiation.</summary>
    private static void DecodeValidated(ReadOnlySpan<byte> file, L3Header header, DenseTables? tables, Span<byte> pixels, L3DecodeOptions options)
    {
        if (tables is not null) DecodeDense(file, header, tables, pixels, options);
        else DecoderChoice.Resolve(header, options).Decode(file, header, pixels, options.MaxDegreeOfParallelism);
    }

    /// <summary>Decodes a validated dense file. Its streams are checked as they are decoded, so on a
    /// fault the destination is cleared before the exception leaves: nothing decoded is left there.</summary>
    private static void DecodeDense(ReadOnlySpan<byte> file, L3Header header, DenseTables tables, Span<byte> pixels, L3DecodeOptions options)
    {
        try
        {
            DenseFileDecoder.DecodeAll(file, header, tables, pixels, options.MaxDegreeOfParallelism, options.Path);
        }
        catch (L3FormatException)
        {
            pixels[..checked((int)header.DecodedBytes)].Clear();
            throw;
        }
    }
}
