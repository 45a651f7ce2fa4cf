using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using L3.Datasets;
using L3.Loading;

namespace L3.Interop;

/// <summary>What one Python <c>l3.Loader</c> holds: the dataset it opened, its sample source and
/// the loader, disposed together.</summary>
internal sealed class LoaderSession : IDisposable
{
    private readonly L3Dataset? _dataset;
    // the CUDA device asked for by number (LoaderRequest.CudaDevice); otherwise the loader picks its own
    private readonly Context? _context;
    private readonly Accelerator? _accelerator;

    public SampleSource Source { get; }
    public L3Loader Loader { get; }
    public AugmentOptions Augment { get; }

    public LoaderSession(LoaderRequest request, LoaderState? resume)
    {
        var options = request.ToOptions();
        string path = request.Source;
        if (path.Length == 0) throw new ArgumentException("no source: give a dataset folder, a folder of .l3 files, a list file or an .l3 file");
        if (L3Dataset.IsDataset(path))
        {
            _dataset = L3Dataset.Open(path);
            Source = SampleSource.FromDataset(_dataset);
        }
        else if (Directory.Exists(path)) Source = SampleSource.FromDirectory(path);
        else if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist");
        else if (path.EndsWith(".l3", StringComparison.OrdinalIgnoreCase)) Source = SampleSource.FromFiles([path]);
        else Source = SampleSource.FromList(path);
        try
        {
            if (Source.Count == 0) throw new ArgumentException($"{path} holds no samples");
            if (request.CudaDevice is int ordinal && !options.ForceCpu)
            {
                // as L3Loader builds its own context, on the device given
                _context = Context.Create(b =>
                {
                    b.Cuda();
                    b.CPU(CPUDeviceKind.Nvidia);
                    b.Optimize(OptimizationLevel.O2);
                });
                var cuda = _context.Devices.Where(d => d.AcceleratorType == AcceleratorType.Cuda).ToList();
                if (ordinal < 0 || ordinal >= cuda.Count)
                    throw new ArgumentException($"CUDA device {ordinal}: this machine has {cuda.Count} CUDA device(s)");
                _accelerator = cuda[ordinal].CreateAccelerator(_context);
            }
            Loader = new L3Loader(Source, options, resume, _accelerator);
        }
        catch
        {
            _accelerator?.Dispose();
            _context?.Dispose();
            Source.Dispose();
            _dataset?.Dispose();
            throw;
        }
        Augment = options.Augment;
    }

    public bool OnCuda => Loader.Accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>The expected bytes of every entry of <paramref name="batch"/>, from the CPU reference
    /// (decode the whole sample, then <see cref="AugmentReference.Apply(L3Image, CropBox, AugmentOptions)"/>).</summary>
    public byte[] Reference(L3DeviceBatch batch)
    {
        var result = new byte[batch.Bytes];
        long each = batch.Bytes / batch.Count;
        Parallel.For(0, batch.Count, k =>
        {
            long sample = batch.Samples[k];
            var file = new byte[Source.GetLength(sample)];
            Source.Read(sample, 0, file);
            AugmentReference.Apply(L3Codec.Decode(file), batch.Crops[k], Augment, result.AsSpan((int)(each * k), (int)each));
        });
        return result;
    }

    public void Dispose()
    {
        Loader.Dispose();
        _accelerator?.Dispose();
        _context?.Dispose();
        Source.Dispose();
        _dataset?.Dispose();
    }
}
