namespace CompiledNets;

/// <summary>
/// The value of a loss and the handle that runs the backward pass (PyTorch: the tensor a loss returns,
/// with <c>item()</c> and <c>backward()</c>).
/// </summary>
/// <remarks>
/// A struct: computing a loss allocates nothing. With <see cref="Reduction.Mean"/> or <see cref="Reduction.Sum"/>
/// it is a scalar (<see cref="Item"/>, <see cref="Backward()"/>); with <see cref="Reduction.None"/> it holds one loss
/// per element (<see cref="ToTensor"/>) and backpropagates a gradient of that shape (<see cref="Backward(Tensor)"/>),
/// as PyTorch's unreduced losses do.
/// </remarks>
public readonly struct Loss
{
    private readonly LossFunction? _owner;
    private readonly int _version;
    private readonly float _value;
    // A loss computed on a device: its sum stays there until the value is first read (Loss.Device.cs).
    private readonly DeviceLossValue? _onDevice;

    internal Loss(DeviceLossValue onDevice, LossFunction owner, int version)
        : this(float.NaN, owner, version)
    {
        _onDevice = onDevice;
    }

    internal Loss(float value, LossFunction owner, int version)
    {
        _value = value;
        _owner = owner;
        _version = version;
    }

    /// <summary>The loss value (the mean or the sum over the batch).</summary>
    /// <exception cref="InvalidOperationException">The loss was computed with <see cref="Reduction.None"/>: it holds one value per element (see <see cref="ToTensor"/>).</exception>
    public float Value
    {
        get
        {
            if (_owner?.Reduction == Reduction.None)
            {
                throw new InvalidOperationException(
                    $"This {_owner.GetType().Name} has reduction None: it holds one loss per element, not one value (PyTorch: \"a Tensor with " +
                    "more than one element cannot be converted to Scalar\"). Read them with ToTensor(), or use Reduction.Mean or Sum.");
            }
            return _onDevice?.Resolve() ?? _value;
        }
    }

    /// <summary>The loss value (PyTorch: <c>loss.item()</c>).</summary>
    /// <exception cref="InvalidOperationException">The loss was computed with <see cref="Reduction.None"/>.</exception>
    public float Item() => Value;

    /// <summary>
    /// A copy of the loss as a tensor: a zero-dimensional tensor for <see cref="Reduction.Mean"/> and <see cref="Reduction.Sum"/>;
    /// for <see cref="Reduction.None"/> one loss per element: <c>[batch]</c> for <see cref="CrossEntropyLoss"/> and <see cref="NLLLoss"/>,
    /// the input's shape for the element-wise losses.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loss function has computed another loss since.</exception>
    public Tensor ToTensor()
    {
        if (_owner is null)
        {
            return new Tensor();
        }
        return _owner.ToTensor(_version, _onDevice?.Resolve() ?? _value);
    }

    /// <summary>
    /// Computes the gradient of this loss and runs the model's generated backward pass, adding to every
    /// parameter's <see cref="Parameter.Grad"/> (PyTorch: <c>loss.backward()</c>). When the model's input was
    /// another model's output, the backward pass continues into that model too.
    /// </summary>
    /// <remarks>
    /// A loss backpropagates once, as in PyTorch (whose second call raises "Trying to backward through the
    /// graph a second time"): to accumulate gradients over several batches, run a Forward and a Backward for each.
    /// </remarks>
    /// <exception cref="InvalidOperationException">
    /// Backward was already called on this loss, the loss function has computed another loss since, a model
    /// ran another forward since, the input was not a model's output, or the loss has <see cref="Reduction.None"/>
    /// (pass the gradient of its elements to <see cref="Backward(Tensor)"/>).
    /// </exception>
    public void Backward()
    {
        if (_owner is null)
        {
            throw new InvalidOperationException("This Loss was default-constructed; it has nothing to differentiate.");
        }
        _owner.Backward(_version, null);
    }

    /// <summary>
    /// Backpropagates <paramref name="gradient"/>, the gradient of some scalar with respect to this loss (PyTorch:
    /// <c>loss.backward(gradient)</c>): for <see cref="Reduction.None"/> one value per element (e.g. per-sample weights),
    /// shaped as <see cref="ToTensor"/>; otherwise a single value that scales the gradient.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="gradient"/> has another number of elements, or holds a NaN or infinity.</exception>
    /// <exception cref="InvalidOperationException">As for <see cref="Backward()"/>.</exception>
    public void Backward(Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (_owner is null)
        {
            throw new InvalidOperationException("This Loss was default-constructed; it has nothing to differentiate.");
        }
        _owner.Backward(_version, gradient);
    }

    /// <summary>The value, invariant culture; for <see cref="Reduction.None"/> the tensor of values (or a note when a later loss overwrote them).</summary>
    public override string ToString()
    {
        if (_owner?.Reduction != Reduction.None)
        {
            return (_onDevice?.Resolve() ?? _value).ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);
        }
        return _owner.IsCurrent(_version) ? ToTensor().ToString() : $"<{_owner.GetType().Name} losses overwritten by a later Forward>";
    }
}

/// <summary>How a loss combines the per-element losses (PyTorch: <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean over the batch (PyTorch's default, <c>'mean'</c>); a loss with class weights divides by the sum of the weights used.</summary>
    Mean,

    /// <summary>The sum (<c>'sum'</c>).</summary>
    Sum,

    /// <summary>No reduction (<c>'none'</c>): one loss per element; see <see cref="Loss.ToTensor"/> and <see cref="Loss.Backward(Tensor)"/>.</summary>
    None,
}

/// <summary>
/// The base of loss functions: keeps the per-element losses and the gradient buffer (grown once, then reused),
/// and the link to the model whose output was scored.
/// </summary>
/// <remarks>
/// A loss writes its per-element losses with <see cref="ElementBuffer"/>, then calls <see cref="Record"/> with the
/// divisor of the mean; its gradient reads the weight of each element's upstream gradient from <see cref="Upstream"/>
/// (<c>1/divisor</c>, <c>1</c>, or the gradient given to <see cref="Loss.Backward(Tensor)"/>).
/// </remarks>
public abstract partial class LossFunction
{
    private float[] _grad = [];
    private float[] _elements = [];
    private int[] _elementShape = [];
    private float[] _upstream = [];
    private float _uniformUpstream;
    private double _divisor;
    private Tensor? _input;
    private int _version;
    private int _backwardVersion;

    /// <summary>The reduction over the batch.</summary>
    public Reduction Reduction { get; }

    /// <summary>Creates the loss with the given reduction.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not a defined value.</exception>
    protected LossFunction(Reduction reduction)
    {
        if (!Enum.IsDefined(reduction))
        {
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Expected Reduction.Mean, Sum or None.");
        }
        Reduction = reduction;
    }

    /// <summary>
    /// The gradient of the last loss with respect to its input (for <see cref="Reduction.None"/>: of the sum of its
    /// elements). Recomputed on each call: the model's backward pass works in place on the buffer
    /// <see cref="Loss.Backward()"/> hands it (e.g. a last Softmax or Dropout layer), so after a backward that
    /// buffer no longer holds this gradient.
    /// </summary>
    internal ReadOnlySpan<float> InputGrad => InputGradFor(null);

    /// <summary>As <see cref="InputGrad"/>, with the upstream gradient <see cref="Loss.Backward(Tensor)"/> would take (null: as <see cref="Loss.Backward()"/>, or ones for <see cref="Reduction.None"/>).</summary>
    internal ReadOnlySpan<float> InputGradFor(Tensor? gradient)
    {
        if (_input is null)
        {
            return default;
        }
        if (gradient is not null)
        {
            CheckGradient(gradient);
        }
        SetUpstream(gradient);
        Span<float> grad = GradBuffer(_input.Numel);
        if (!TryDeviceGradToHost(grad, _uniformUpstream))
        {
            ComputeGrad(grad);
        }
        return grad;
    }

    /// <summary>The buffer for the per-element losses of the current forward, <paramref name="length"/> values.</summary>
    private protected Span<float> ElementBuffer(int length)
    {
        if (_elements.Length < length)
        {
            _elements = new float[length];
        }
        return _elements.AsSpan(0, length);
    }

    /// <summary>
    /// Records a new forward whose per-element losses are in <see cref="ElementBuffer"/> (of shape
    /// <paramref name="elementShape"/>) and returns its <see cref="Loss"/>: their sum in float64, divided by
    /// <paramref name="divisor"/> for <see cref="Reduction.Mean"/> (0/0 gives NaN, as in PyTorch).
    /// </summary>
    private protected Loss Record(Tensor input, ReadOnlySpan<int> elementShape, double divisor)
    {
        if (!_elementShape.AsSpan().SequenceEqual(elementShape))
        {
            _elementShape = elementShape.ToArray();
        }
        int n = (int)Tensor.Product(elementShape, nameof(elementShape));
        double sum = SumAsDouble(_elements.AsSpan(0, n));
        _input = input;
        _divisor = divisor;
        ReleaseDeviceScratch(); // a forward on the host keeps no device memory
        float value = Reduction switch
        {
            Reduction.Mean => (float)(sum / divisor),
            Reduction.Sum => (float)sum,
            _ => float.NaN,
        };
        return new Loss(value, this, ++_version);
    }

    /// <summary>
    /// The float64 sum of <paramref name="values"/>: with AVX-512, two partial sums of eight float64 lanes (sixteen values
    /// widened per step), else four interleaved scalar partial sums (a serial chain of float64 adds is the cost at a few
    /// hundred rows); the tail scalar.
    /// </summary>
    internal static double SumAsDouble(ReadOnlySpan<float> values)
    {
        int i = 0;
        double total = 0;
        ref float v = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported && values.Length >= 16)
        {
            var a = System.Runtime.Intrinsics.Vector512<double>.Zero;
            var b = System.Runtime.Intrinsics.Vector512<double>.Zero;
            for (; i + 16 <= values.Length; i += 16)
            {
                a += System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512Double(System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref v, (nuint)i));
                b += System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512Double(System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref v, (nuint)(i + 8)));
            }
            total = System.Runtime.Intrinsics.Vector512.Sum(a + b);
        }
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= values.Length; i += 4)
        {
            s0 += values[i];
            s1 += values[i + 1];
            s2 += values[i + 2];
            s3 += values[i + 3];
        }
        for (; i < values.Length; i++)
        {
            s0 += values[i];
        }
        return total + ((s0 + s1) + (s2 + s3));
    }

    /// <summary>The weight of element <paramref name="index"/>'s upstream gradient: <c>1/divisor</c> (mean), 1 (sum) or the given gradient (none).</summary>
    private protected float Upstream(int index) => Reduction == Reduction.None ? _upstream[index] : _uniformUpstream;

    private void SetUpstream(Tensor? gradient)
    {
        float scale = gradient is null ? 1f : gradient.AsSpan()[0];
        if (Reduction == Reduction.None)
        {
            int n = (int)Tensor.Product(_elementShape, "shape");
            if (_upstream.Length < n)
            {
                _upstream = new float[n];
            }
            if (gradient is null)
            {
                _upstream.AsSpan(0, n).Fill(1f);
            }
            else
            {
                gradient.AsSpan().CopyTo(_upstream);
            }
            return;
        }
        _uniformUpstream = Reduction == Reduction.Mean ? (float)(scale / _divisor) : scale;
    }

    /// <summary>The gradient buffer, at least <paramref name="length"/> values.</summary>
    private protected Span<float> GradBuffer(int length)
    {
        if (_grad.Length < length)
        {
            _grad = new float[length];
        }
        return _grad.AsSpan(0, length);
    }

    /// <summary>
    /// Writes the gradient of the last loss with respect to its input into <paramref name="grad"/>, weighting
    /// element <c>i</c>'s contribution by <see cref="Upstream"/>(<c>i</c>).
    /// </summary>
    private protected abstract void ComputeGrad(Span<float> grad);

    /// <summary>
    /// When the last forward ran on a device: the gradient of the input there, for a uniform upstream gradient
    /// <paramref name="upstream"/> (<c>scale/divisor</c> for the mean), in a buffer the model's backward may overwrite;
    /// empty when the loss ran on the host.
    /// </summary>
    private protected virtual DeviceSpan<float> DeviceInputGrad(float upstream) => DeviceGradOut(upstream);

    /// <summary>Throws a clear error when a float target does not fit the input.</summary>
    /// <remarks>
    /// Accepted: the same shape; or one of them <c>[batch, 1]</c> and the other <c>[batch]</c>, taken element for element
    /// (PyTorch would broadcast those to <c>[batch, batch]</c> with a warning, which is never what a regression meant).
    /// </remarks>
    private protected static void CheckFloatTarget(string loss, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        bool same = input.Shape.SequenceEqual(target.Shape);
        bool column = (input.Rank == 2 && input.Size(1) == 1 && target.Rank == 1 && target.Size(0) == input.Size(0))
            || (target.Rank == 2 && target.Size(1) == 1 && input.Rank == 1 && input.Size(0) == target.Size(0));
        if (!(same || column) || input.Numel == 0)
        {
            throw new ArgumentException(
                $"{loss} expects input and target of the same non-empty shape (or [batch, 1] with [batch]); got " +
                $"{Tensor.ShapeString(input.Shape)} and {Tensor.ShapeString(target.Shape)}.");
        }
    }

    /// <summary>Throws when <paramref name="values"/> holds a NaN or infinity, naming the first one.</summary>
    private protected static void CheckFinite(string loss, string what, ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"{loss} {what} has a non-finite value {values[i]} at flat index {i} (shape {Tensor.ShapeString(shape)}).");
            }
        }
    }

    /// <summary>Checks a weight vector (non-empty, rank 1, finite) and returns a copy; null stays null.</summary>
    private protected static float[]? CopyWeight(Tensor? weight, string name)
    {
        if (weight is null)
        {
            return null;
        }
        if (weight.Rank != 1 || weight.Numel == 0)
        {
            throw new ArgumentException($"{name} must be a non-empty vector [n]; got {Tensor.ShapeString(weight.Shape)}.", name);
        }
        float[] copy = weight.AsSpan().ToArray();
        foreach (float v in copy)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException($"{name} holds a non-finite value {v}.", name);
            }
        }
        return copy;
    }

    internal bool IsCurrent(int version) => version == _version;

    internal Tensor ToTensor(int version, float value)
    {
        if (version != _version)
        {
            throw new InvalidOperationException($"{GetType().Name} has computed another loss since this one; its element losses were overwritten.");
        }
        if (Reduction != Reduction.None)
        {
            var scalar = new Tensor();
            scalar.AsSpan()[0] = value;
            return scalar;
        }
        return Tensor.From(_elements.AsSpan(0, (int)Tensor.Product(_elementShape, "shape")), _elementShape);
    }

    internal void Backward(int version, Tensor? gradient)
    {
        if (version == _backwardVersion)
        {
            throw new InvalidOperationException(
                $"Backward was already called on this {GetType().Name} loss; a loss backpropagates once (PyTorch: \"Trying to backward " +
                "through the graph a second time\"). A second call would add the same gradients again, computed with weights an " +
                "optimizer step may have changed. To accumulate gradients, run Forward and Backward again for each batch.");
        }
        if (version != _version || _input is null)
        {
            throw new InvalidOperationException($"{GetType().Name} has computed another loss since this one; call Backward on the latest loss.");
        }
        if (_input.Producer is null)
        {
            throw new InvalidOperationException("The loss input was not produced by a model's Forward, so there is nothing to backpropagate into.");
        }
        CheckGradient(gradient);
        int n = _input.Numel;
        SetUpstream(gradient);
        if (Reduction != Reduction.None && DeviceInputGrad(_uniformUpstream) is { IsEmpty: false } deviceGrad)
        {
            // The loss ran on the model's device: its gradient is already there.
            _input.Producer.BackwardFromOutputDevice(_input, deviceGrad);
            _backwardVersion = version;
            return;
        }
        Span<float> grad = GradBuffer(n);
        ComputeGrad(grad);
        _input.Producer.BackwardFromOutput(_input, new ArraySegment<float>(_grad, 0, n));
        _backwardVersion = version;
    }

    private void CheckGradient(Tensor? gradient)
    {
        int n = (int)Tensor.Product(_elementShape, "shape");
        if (gradient is null)
        {
            if (Reduction == Reduction.None)
            {
                throw new InvalidOperationException(
                    $"This {GetType().Name} has reduction None: its {n} element losses need a gradient (PyTorch: \"grad can be implicitly " +
                    "created only for scalar outputs\"). Call Backward(gradient) with one value per element, or use Reduction.Mean or Sum.");
            }
            return;
        }
        int expected = Reduction == Reduction.None ? n : 1;
        if (gradient.Numel != expected)
        {
            throw new ArgumentException(
                $"The gradient of this {GetType().Name} loss must have {expected} element(s) (shape {(Reduction == Reduction.None ? Tensor.ShapeString(_elementShape) : "[]")}); " +
                $"got {Tensor.ShapeString(gradient.Shape)}.", nameof(gradient));
        }
        CheckFinite(GetType().Name, "backward gradient", gradient.AsSpan(), gradient.Shape);
    }
}
