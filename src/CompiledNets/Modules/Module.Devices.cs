using System.ComponentModel;

namespace CompiledNets;

// The device half of Module: where a model's parameters and buffers live, and the protocol of the generated GPU path.
public abstract partial class Module
{
    private DeviceContext? _deviceContext;
    private ParameterStorage? _storage;
    private readonly List<DeviceBuffer<float>?> _deviceBuffers = [];
    private DeviceBuffer<float>? _deviceGradOutput;
    private float[] _hostOutput = [];
    private DeviceSpan<float> _pendingOutput; // the device output whose host copy (_hostOutput) has not been made yet
    private Tensor? _deviceInput;
    // Bumped by every module's change of device; a model whose forward saw another count checks its sub-modules once.
    private static int s_deviceMoves;
    private int _deviceMovesChecked;

    /// <summary>
    /// The device the module's parameters and buffers are on (PyTorch: <c>next(net.parameters()).device</c>);
    /// <see cref="Device.Cpu"/> until <see cref="To"/> moves it.
    /// </summary>
    public Device Device => _deviceContext?.Device ?? Device.Cpu;

    /// <summary>
    /// Moves the model to <paramref name="device"/> (PyTorch: <c>net.to(device)</c>): its flat parameter block (values and
    /// gradients, bit for bit) and from then on its activation buffers live there, and <c>Forward</c> runs the model's
    /// generated GPU path, which takes inputs on that device (<see cref="Tensor.To"/>). <see cref="Device.Cpu"/> brings
    /// everything back and frees the device memory. Optimizers follow their parameters at each step, so they may be built
    /// before or after the move. <see cref="Parameter.Data"/>, <see cref="StateDict"/> and <c>Save</c> keep working on a
    /// device model (they copy the block back to the host when the device has changed it).
    /// </summary>
    /// <param name="device">The target device.</param>
    /// <returns>This module.</returns>
    /// <exception cref="NotSupportedException">The model uses an operation that has no GPU kernel yet (named in the message); nothing moved.</exception>
    /// <exception cref="InvalidOperationException">The device does not exist on this machine; nothing moved.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the parameters: what the move allocated is freed and the
    /// model is on the CPU with its values unchanged (where it was, or where a move from another device left it); the device stays usable.</exception>
    public Module To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == Device)
        {
            return this;
        }
        Interlocked.Increment(ref s_deviceMoves);
        if (!device.IsIlgpu)
        {
            ReleaseDevice();
            return this;
        }
        if (DeviceUnsupportedOperation is { } op)
        {
            throw new NotSupportedException(
                $"{TypeName} cannot run on {device}: its operation {op} has no GPU kernel yet (supported: Linear, ReLU, Sigmoid, Tanh, Softmax, " +
                "LogSoftmax, Dropout, +, -, *, constants, Cat and nested [Model]s). " +
                "Keep the model on the CPU (Device.Cpu). Nothing was moved.");
        }
        var context = DeviceContext.For(device);
        ReleaseDevice();
        EnsureContiguousParameters();
        var parameters = CollectParameters();
        if (parameters.Count > 0)
        {
            var first = parameters[0].Parameter;
            var storage = new ParameterStorage(context, first.DataArray, first.GradArray, first.Offset, parameters.Sum(p => p.Parameter.Numel));
            foreach (var (_, p) in parameters)
            {
                p.Storage = storage;
            }
            _storage = storage;
        }
        foreach (var (_, module) in NamedModules())
        {
            module._deviceContext = context;
        }
        return this;
    }

    /// <summary>Moves the model to <c>Device.Cuda(<paramref name="index"/>)</c> (PyTorch: <c>net.cuda()</c>).</summary>
    /// <returns>This module.</returns>
    /// <exception cref="InvalidOperationException">There is no such CUDA device (see <see cref="CompiledNets.Cuda.UnavailableReason"/>).</exception>
    public Module Cuda(int index = 0) => To(Device.Cuda(index));

    /// <summary>
    /// Moves the model back to the CPU and frees its device memory (PyTorch: <c>net.cpu()</c>): parameters, gradients,
    /// activations, and the device state of the optimizers that stepped it (brought back to the host first). Modules are not
    /// <see cref="IDisposable"/>: this is the release (<see cref="DeviceContext.MemoryAllocated"/> counts what is left).
    /// </summary>
    /// <returns>This module.</returns>
    public Module Cpu() => To(Device.Cpu);

    /// <summary>
    /// Whether a module changed device since this model's last check (one comparison per forward; see
    /// <see cref="CheckSubmoduleDevices"/>).
    /// </summary>
    private protected bool DeviceMovesUnchecked => _deviceMovesChecked != Volatile.Read(ref s_deviceMoves);

    /// <summary>
    /// Throws when a sub-module is on another device than this model: it was moved on its own (<c>net.inner.To(device)</c>),
    /// which PyTorch's <c>to</c> never leaves behind (it moves a module with all its children). Without this check the
    /// forward would run where the model is, on parameters whose current copy is elsewhere.
    /// </summary>
    /// <exception cref="InvalidOperationException">A sub-module is on another device (named, with both devices); nothing ran.</exception>
    private protected void CheckSubmoduleDevices()
    {
        int moves = Volatile.Read(ref s_deviceMoves);
        var device = Device;
        foreach (var (name, module) in NamedModules())
        {
            if (module.Device != device)
            {
                throw new InvalidOperationException(
                    $"{TypeName} is on {device} but its sub-module '{name}' ({module.TypeName}) is on {module.Device}: a sub-module was " +
                    $"moved on its own. Move the whole model instead ({TypeName}.To(device) moves every sub-module with it, as in " +
                    "PyTorch), or bring the sub-module back. Nothing ran.");
            }
        }
        _deviceMovesChecked = moves;
    }

    private void ReleaseDevice()
    {
        if (_storage is { } storage)
        {
            storage.Dispose(); // copies values and gradients back first
            foreach (var p in CollectParameters())
            {
                if (ReferenceEquals(p.Parameter.Storage, storage))
                {
                    p.Parameter.Storage = null;
                }
            }
            _storage = null;
        }
        foreach (var (_, module) in NamedModules())
        {
            module.ReleaseBuffers();
        }
    }

    private void ReleaseBuffers()
    {
        PullOutputToHost(); // the latest output stays readable on the host after Cpu()
        foreach (var b in _deviceBuffers)
        {
            b?.Dispose();
        }
        _deviceBuffers.Clear();
        _deviceGradOutput?.Dispose();
        _deviceGradOutput = null;
        _deviceInput = null;
        _deviceContext = null;
    }

    // ---- The protocol of the generated GPU path. Not for direct use. ----

    /// <summary>For generated code: the first operation of the model without a GPU kernel, or null when the whole model can run on a device.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected virtual string? DeviceUnsupportedOperation => "(no generated GPU path)";

    /// <summary>
    /// For generated code: the first operation without a GPU kernel in the nested model <paramref name="nested"/> (held in the
    /// field <paramref name="field"/>), prefixed with the field, or null when it can run on a device.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected static string? NestedDeviceUnsupportedOperation(Module nested, string field)
    {
        ArgumentNullException.ThrowIfNull(nested);
        return nested.DeviceUnsupportedOperation is { } op ? field + "." + op : null;
    }

    /// <summary>For generated code: whether the model is on a device (its forward and backward run the GPU path).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected bool IsOnDevice => _deviceContext is not null;

    /// <summary>For generated code: the context of the device the model is on.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected DeviceContext DeviceContext => _deviceContext ?? throw NotOnDevice();

    private InvalidOperationException NotOnDevice() => new(
        $"{TypeName} ran its last Forward on a device but is now on the CPU, so that forward's backward cannot run: the model " +
        "was moved (Cpu() or To()) between Forward and Backward. Run Forward again where the model is now, then Backward.");

    /// <summary>
    /// For generated code: <paramref name="length"/> floats of the model's device buffer number <paramref name="slot"/>
    /// (grown, never shrunk; contents kept only while the length does not grow).
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected DeviceSpan<float> DeviceBuffer(int slot, int length)
    {
        while (_deviceBuffers.Count <= slot)
        {
            _deviceBuffers.Add(null);
        }
        var buffer = _deviceBuffers[slot];
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = DeviceContext.Allocate<float>(Math.Max(length, 1));
            _deviceBuffers[slot] = buffer;
        }
        return buffer.Slice(0, length);
    }

    /// <summary>For generated code: runs the GPU forward pass on <paramref name="batch"/> rows of <paramref name="input"/> and returns the output on the device.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public virtual DeviceSpan<float> ForwardBatchDevice(DeviceSpan<float> input, int batch)
        => throw new NotSupportedException($"{TypeName} has no GPU forward pass.");

    /// <summary>For generated code: the GPU backward pass (parameter gradients accumulate on the device; the input gradient when <paramref name="gradInput"/> is not empty).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public virtual void BackwardBatchDevice(DeviceSpan<float> gradOutput, DeviceSpan<float> gradInput, int batch)
        => throw new NotSupportedException($"{TypeName} has no GPU backward pass.");

    /// <summary>
    /// For generated code: the device values of an input that <see cref="BeginForward"/> accepted. The module keeps the
    /// input tensor until its next forward (or <see cref="Cpu"/>): the queued kernels and the backward read its device
    /// buffer, which must not be finalized while the caller's <c>x.To(device)</c> temporary is otherwise unreachable
    /// (defensive: not observed on ILGPU's CPU accelerator, whose buffers survived a forced collection in a test).
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected DeviceSpan<float> DeviceInput(Tensor input)
    {
        _deviceInput = input;
        return input.DeviceValues;
    }

    /// <summary>
    /// For generated code: returns the device output as <c>[batch, outFeatures]</c> on the model's device, valid until the
    /// next forward. Its host copy is made when something first reads it on the host (<c>AsSpan</c>, <c>ToArray</c>,
    /// metrics, a loss with <see cref="Reduction.None"/>); losses on the device read the device values, so a training step
    /// copies nothing back but the loss value.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Tensor EndForwardDevice(DeviceSpan<float> output, int batch, int outFeatures)
    {
        int n = batch * outFeatures;
        _hostOutput = Grow(_hostOutput, n);
        _pendingOutput = output;
        return EndForward(new ArraySegment<float>(_hostOutput, 0, n), batch, outFeatures).OnDevice(Device, output, this);
    }

    /// <summary>Copies the latest device output to its host view if it has not been (see <see cref="EndForwardDevice"/>).</summary>
    internal void PullOutputToHost()
    {
        if (_pendingOutput.IsEmpty)
        {
            return;
        }
        var output = _pendingOutput;
        _pendingOutput = default;
        output.CopyToHost(_hostOutput.AsSpan(0, (int)output.Length));
        OutputDownloads++;
    }

    /// <summary>How many times this model's device output was copied to the host (for tests: a device training step makes no copy).</summary>
    internal int OutputDownloads { get; private set; }

    /// <summary>The checks of <see cref="BeginForward"/> for devices: the input must be where the model is.</summary>
    private void CheckInputDevice(Tensor input)
    {
        if (input.Device != Device)
        {
            throw new ArgumentException(
                $"{TypeName} is on {Device} but its input is on {input.Device}: move the input with input.To({DeviceExpression(Device)}) " +
                $"or the model with To({DeviceExpression(input.Device)}) (PyTorch: \"Expected all tensors to be on the same device\").", nameof(input));
        }
    }

    private static string DeviceExpression(Device device) => device.Type switch
    {
        DeviceType.Cpu => "Device.Cpu",
        DeviceType.IlgpuCpu => "Device.IlgpuCpu",
        DeviceType.Cuda => $"Device.Cuda({device.Index})",
        _ => $"Device.Parse(\"{device}\")",
    };

    /// <summary>
    /// The backward from a loss that ran on the device (its gradient <paramref name="gradOutput"/> is there, and the
    /// model's backward may overwrite it).
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="output"/> is not this module's latest output.</exception>
    internal void BackwardFromOutputDevice(Tensor output, DeviceSpan<float> gradOutput)
    {
        if (!ReferenceEquals(output.Producer, this) || !output.IsCurrent)
        {
            throw new InvalidOperationException(
                $"Backward needs the output of {TypeName}'s latest Forward; this tensor was overwritten by a later Forward call.");
        }
        ThrowIfChainedOnDevice();
        ThrowIfNestedForwardsRan();
        BackwardBatchDevice(gradOutput, default, _lastBatch);
    }

    private void ThrowIfChainedOnDevice()
    {
        if (_upstream is not null)
        {
            throw new NotSupportedException(
                $"{TypeName} is on {Device} and its input was another model's output: backward through models chained by hand is not supported on a device yet. " +
                "Declare the models as layers of one [Model], or run them on the CPU. No gradient was changed.");
        }
    }

    /// <summary>The backward on a device from a loss computed on the host: uploads the loss gradient and runs the generated GPU backward.</summary>
    private void BackwardOnDevice(ArraySegment<float> gradOutput)
    {
        ThrowIfChainedOnDevice();
        int n = gradOutput.Count;
        if (_deviceGradOutput is null || _deviceGradOutput.Length < n)
        {
            _deviceGradOutput?.Dispose();
            _deviceGradOutput = DeviceContext.Allocate<float>(Math.Max(n, 1));
        }
        var g = _deviceGradOutput.Slice(0, n);
        g.CopyFromHost(gradOutput);
        BackwardBatchDevice(g, default, _lastBatch);
    }
}
