namespace CompiledNets;

/// <summary>
/// The scalar value of a loss and the handle that runs the backward pass
/// (PyTorch: the zero-dimensional tensor a loss returns, with <c>item()</c> and <c>backward()</c>).
/// </summary>
/// <remarks>A struct: computing a loss allocates nothing.</remarks>
public readonly struct Loss
{
    private readonly LossFunction? _owner;
    private readonly int _version;

    internal Loss(float value, LossFunction owner, int version)
    {
        Value = value;
        _owner = owner;
        _version = version;
    }

    /// <summary>The loss value.</summary>
    public float Value { get; }

    /// <summary>The loss value (PyTorch: <c>loss.item()</c>).</summary>
    public float Item() => Value;

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
    /// ran another forward since, or the input was not a model's output.
    /// </exception>
    public void Backward()
    {
        if (_owner is null)
        {
            throw new InvalidOperationException("This Loss was default-constructed; it has nothing to differentiate.");
        }
        _owner.Backward(_version);
    }

    /// <summary>The value, invariant culture.</summary>
    public override string ToString() => Value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>How a loss combines the per-element losses (PyTorch: <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean over the batch (PyTorch's default, <c>'mean'</c>).</summary>
    Mean,

    /// <summary>The sum (<c>'sum'</c>).</summary>
    Sum,
}

/// <summary>
/// The base of loss functions: keeps the gradient buffer (grown once, then reused) and the link to
/// the model whose output was scored.
/// </summary>
public abstract class LossFunction
{
    private float[] _grad = [];
    private Tensor? _input;
    private int _version;
    private int _backwardVersion;

    /// <summary>The reduction over the batch.</summary>
    public Reduction Reduction { get; }

    /// <summary>Creates the loss with the given reduction.</summary>
    protected LossFunction(Reduction reduction) => Reduction = reduction;

    /// <summary>
    /// The gradient of the last loss with respect to its input. Recomputed on each call: the model's
    /// backward pass works in place on the buffer <see cref="Loss.Backward"/> hands it (e.g. a last
    /// Softmax or Dropout layer), so after a backward that buffer no longer holds this gradient.
    /// </summary>
    internal ReadOnlySpan<float> InputGrad
    {
        get
        {
            if (_input is null)
            {
                return default;
            }
            Span<float> grad = GradBuffer(_input.Numel);
            ComputeGrad(grad);
            return grad;
        }
    }

    /// <summary>Records a new forward and returns its <see cref="Loss"/>; <paramref name="value"/> is checked for NaN.</summary>
    private protected Loss Record(Tensor input, float value)
    {
        _input = input;
        return new Loss(value, this, ++_version);
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

    /// <summary>Writes the gradient of the last loss with respect to its input into <paramref name="grad"/>.</summary>
    private protected abstract void ComputeGrad(Span<float> grad);

    internal void Backward(int version)
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
        int n = _input.Numel;
        Span<float> grad = GradBuffer(n);
        ComputeGrad(grad);
        _input.Producer.BackwardFromOutput(_input, new ArraySegment<float>(_grad, 0, n));
        _backwardVersion = version;
    }
}
