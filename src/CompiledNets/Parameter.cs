using System.Runtime.CompilerServices;

namespace CompiledNets;

/// <summary>
/// A trainable tensor with its gradient (PyTorch: <c>nn.Parameter</c> and its <c>.grad</c>).
/// </summary>
/// <remarks>
/// The values and the gradient live in storage that the owning model may move once, on first use,
/// into one contiguous buffer for all its parameters (so an optimizer step is one SIMD loop); always
/// reach them through <see cref="Data"/> and <see cref="Grad"/> rather than keeping the spans.
/// Gradients accumulate across backward passes until <see cref="Optimizer.ZeroGrad"/>, as in PyTorch.
/// </remarks>
public sealed class Parameter
{
    private readonly int[] _shape;
    private float[] _data;
    private float[] _grad;
    private int _offset;
    private int _version;

    /// <summary>Creates a zero-filled parameter of the given shape.</summary>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public Parameter(params int[] shape)
    {
        _shape = (int[])shape.Clone();
        Numel = (int)Tensor.Product(_shape, nameof(shape));
        _data = new float[Numel];
        _grad = new float[Numel];
    }

    /// <summary>The shape, e.g. <c>[out_features, in_features]</c> for <see cref="Linear.Weight"/>.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    internal int[] ShapeArray => _shape;

    /// <summary>
    /// Whether the parameter is trained (PyTorch: <c>requires_grad</c>); <see langword="true"/> after construction.
    /// When <see langword="false"/> (frozen), the generated backward pass skips its gradient (which stays as it was, zero
    /// after <c>ZeroGrad</c>) and optimizers leave its values bit for bit unchanged, as PyTorch skips parameters
    /// whose <c>grad</c> is <c>None</c>. Set it for a whole sub-module with <see cref="Module.RequiresGrad"/>.
    /// </summary>
    /// <remarks>The backward pass still computes the gradient that flows through a frozen layer into the layers before it.</remarks>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (_requiresGrad != value)
            {
                _requiresGrad = value;
                Interlocked.Increment(ref s_requiresGradEpoch);
            }
        }
    }

    private bool _requiresGrad = true;
    private static int s_requiresGradEpoch;

    /// <summary>
    /// Changes whenever any parameter's <see cref="RequiresGrad"/> changes: generated backward passes keep which of their
    /// layers are frozen and recompute it only when this moved (one comparison per step instead of a walk over the layers).
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public static int RequiresGradEpoch => Volatile.Read(ref s_requiresGradEpoch);

    /// <summary>The number of elements (PyTorch: <c>numel()</c>).</summary>
    public int Numel { get; }

    /// <summary>The values, row-major; on a model moved to a device, a host copy brought up to date first.</summary>
    /// <remarks>
    /// Reading this property outside a model's forward counts as a change of the values (see <see cref="Version"/>):
    /// inference keeps large weights packed between forwards until they change. Take the span again for each write
    /// rather than keeping one across a <c>Forward</c>: a write through a span taken before a forward is not seen.
    /// </remarks>
    public Span<float> Data
    {
        get
        {
            Storage?.SyncDataToHost();
            if (!Kernels.Cpu.PackedWeightCache.InForward)
            {
                _version++;
            }
            return _data.AsSpan(_offset, Numel);
        }
    }

    /// <summary>
    /// For generated code: the values, read-only, for a model's own forward and backward passes; unlike <see cref="Data"/>,
    /// reading them is not counted as a change (<see cref="Version"/> stays), and no thread-static is consulted. On a
    /// model moved to a device, a host copy brought up to date first.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public ReadOnlySpan<float> ReadOnlyData
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Storage?.SyncDataToHost();
            return new ReadOnlySpan<float>(_data, _offset, Numel);
        }
    }

    /// <summary>
    /// Changes whenever the values may have changed: on each read of <see cref="Data"/> outside a model's forward,
    /// each optimizer step and each load of a state dict.
    /// </summary>
    internal int Version => _version;

    /// <summary>Records a change made without <see cref="Data"/> (an optimizer's flat update).</summary>
    internal void MarkChanged() => _version++;

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Data"/>, same layout (PyTorch: <c>.grad</c>); on a device, a host copy brought up to date first.</summary>
    public Span<float> Grad
    {
        get
        {
            Storage?.SyncGradToHost();
            return _grad.AsSpan(_offset, Numel);
        }
    }

    /// <summary>The device this parameter's values live on: <see cref="Device.Cpu"/> unless its model was moved with <see cref="Module.To"/>.</summary>
    public Device Device => Storage?.Context.Device ?? Device.Cpu;

    /// <summary>For generated code and optimizers: the values on the model's device.</summary>
    /// <exception cref="InvalidOperationException">The parameter is on the CPU.</exception>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public DeviceSpan<float> DeviceData => (Storage ?? throw NotOnDevice()).DeviceData(_offset, Numel);

    /// <summary>For generated code and optimizers: the gradient on the model's device.</summary>
    /// <exception cref="InvalidOperationException">The parameter is on the CPU.</exception>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public DeviceSpan<float> DeviceGrad => (Storage ?? throw NotOnDevice()).DeviceGrad(_offset, Numel);

    private static InvalidOperationException NotOnDevice() =>
        new("This parameter lives on the CPU; move its model with To(device) first.");

    /// <summary>The device block the parameter's model was moved into, or null on the CPU.</summary>
    internal ParameterStorage? Storage { get; set; }

    internal float[] DataArray => _data;

    internal float[] GradArray => _grad;

    internal int Offset => _offset;

    /// <summary>Moves values and gradient into the given arrays at <paramref name="offset"/> (copying them).</summary>
    internal void Rebind(float[] data, float[] grad, int offset)
    {
        if (Storage is not null)
        {
            throw new InvalidOperationException(
                $"A parameter of shape [{string.Join(", ", _shape)}] on {Storage.Context.Device} cannot join its model's parameter block: a sub-module was moved on its own " +
                "(e.g. net.inner.To(device)) while the model it belongs to is elsewhere. Move the whole model (net.To(device)), or bring " +
                "the sub-module back with Cpu() first.");
        }
        _version++;
        Data.CopyTo(data.AsSpan(offset, Numel));
        Grad.CopyTo(grad.AsSpan(offset, Numel));
        _data = data;
        _grad = grad;
        _offset = offset;
    }

    /// <summary>A copy of the values as a tensor of <see cref="Shape"/>.</summary>
    public Tensor ToTensor() => Tensor.From(Data, _shape);

    /// <summary>A copy of the gradient as a tensor of <see cref="Shape"/>.</summary>
    public Tensor GradToTensor() => Tensor.From(Grad, _shape);

    /// <summary>PyTorch's layout: <c>Parameter containing:</c> and the values.</summary>
    public override string ToString() => "Parameter containing:\n" + ToTensor();
}
