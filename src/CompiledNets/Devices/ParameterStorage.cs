namespace CompiledNets;

/// <summary>
/// A model's flat parameter block (values and gradients) on a device, next to its host arrays: whichever side was
/// last handed out for writing is the current one, and the other is refreshed from it on its next use, so host code
/// (<see cref="Parameter.Data"/>, state dicts, initialisation) and device code (the generated GPU path, optimizers)
/// can both reach the parameters without a stale read. Copies are bit-exact.
/// </summary>
internal sealed class ParameterStorage : IDisposable
{
    private readonly float[] _hostData;
    private readonly float[] _hostGrad;
    private readonly int _start;
    private readonly int _length;
    private DeviceBuffer<float>? _data;
    private DeviceBuffer<float>? _grad;
    // Which side is current for the values and the gradients: true when the device holds the newest copy.
    private bool _dataOnDevice;
    private bool _gradOnDevice;
    private bool _dataOnHost = true;
    private bool _gradOnHost = true;

    public ParameterStorage(DeviceContext context, float[] hostData, float[] hostGrad, int start, int length)
    {
        Context = context;
        _hostData = hostData;
        _hostGrad = hostGrad;
        _start = start;
        _length = length;
        _data = context.Allocate<float>(Math.Max(length, 1));
        try
        {
            _grad = context.Allocate<float>(Math.Max(length, 1));
        }
        catch
        {
            _data.Dispose(); // out of memory for the gradients: free the values too, the model stays on the host
            throw;
        }
        PushData();
        PushGrad();
    }

    /// <summary>The device the block lives on.</summary>
    public DeviceContext Context { get; }

    /// <summary>The host arrays the block mirrors (the parameters' <c>DataArray</c>).</summary>
    public float[] HostData => _hostData;

    /// <summary>The start of the block in the host arrays.</summary>
    public int Start => _start;

    /// <summary>The values of <c>[offset, offset + length)</c> of the host arrays on the device, marked as written there.</summary>
    public DeviceSpan<float> DeviceData(int offset, int length)
    {
        if (!_dataOnDevice)
        {
            PushData();
        }
        _dataOnHost = false;
        return _data!.Slice(offset - _start, length);
    }

    /// <summary>The gradients of <c>[offset, offset + length)</c> on the device, marked as written there.</summary>
    public DeviceSpan<float> DeviceGrad(int offset, int length)
    {
        if (!_gradOnDevice)
        {
            PushGrad();
        }
        _gradOnHost = false;
        return _grad!.Slice(offset - _start, length);
    }

    /// <summary>Makes the host values current (downloading them when the device wrote last) and marks them as written on the host.</summary>
    public void SyncDataToHost()
    {
        if (!_dataOnHost)
        {
            _data!.Slice(0, _length).CopyToHost(_hostData.AsSpan(_start, _length));
            _dataOnHost = true;
        }
        _dataOnDevice = false;
    }

    /// <summary>As <see cref="SyncDataToHost"/> for the gradients.</summary>
    public void SyncGradToHost()
    {
        if (!_gradOnHost)
        {
            _grad!.Slice(0, _length).CopyToHost(_hostGrad.AsSpan(_start, _length));
            _gradOnHost = true;
        }
        _gradOnDevice = false;
    }

    private void PushData()
    {
        if (_length > 0)
        {
            _data!.Slice(0, _length).CopyFromHost(_hostData.AsSpan(_start, _length));
        }
        _dataOnDevice = true;
    }

    private void PushGrad()
    {
        if (_length > 0)
        {
            _grad!.Slice(0, _length).CopyFromHost(_hostGrad.AsSpan(_start, _length));
        }
        _gradOnDevice = true;
    }

    /// <summary>
    /// Raised at the start of <see cref="Dispose"/> (the model leaves the device): optimizers holding state for the block
    /// on the device bring it back and free it, so <c>net.Cpu()</c> frees the optimizer's device memory too.
    /// </summary>
    public event Action? Releasing;

    /// <summary>Brings both to the host and frees the device memory (and, through <see cref="Releasing"/>, the optimizers' state).</summary>
    public void Dispose()
    {
        if (_data is null)
        {
            return;
        }
        var releasing = Releasing;
        Releasing = null;
        releasing?.Invoke();
        SyncDataToHost();
        SyncGradToHost();
        _data.Dispose();
        _grad!.Dispose();
        _data = null;
        _grad = null;
    }
}
