namespace CompiledNets;

/// <summary>
/// The base of losses over a float target of the input's shape whose loss is a function of each element pair
/// (<see cref="MSELoss"/>, <see cref="L1Loss"/>, <see cref="HuberLoss"/>, <see cref="SmoothL1Loss"/>, <see cref="BCELoss"/>,
/// <see cref="BCEWithLogitsLoss"/>). <see cref="Reduction.Mean"/> divides by the number of elements.
/// </summary>
/// <remarks>
/// Input and target: the same shape, e.g. <c>[batch]</c> or <c>[batch, k]</c>; <c>[batch, 1]</c> with <c>[batch]</c> is taken element
/// for element (PyTorch would broadcast that pair to <c>[batch, batch]</c> with a warning). <see cref="Reduction.None"/> gives one loss per
/// element, shaped as the input. On an input on a device with <see cref="Reduction.Mean"/> or <see cref="Reduction.Sum"/>,
/// the losses, their sum and the gradient are computed there (the input is not checked for NaN or the loss's domain there).
/// </remarks>
public abstract partial class ElementwiseLoss : LossFunction
{
    private float[] _input = [];
    private float[] _target = [];
    private int _count;
    private int _lastDim;

    private protected ElementwiseLoss(Reduction reduction) : base(reduction)
    {
    }

    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/>.</summary>
    /// <param name="input">The model output, e.g. <c>[batch, k]</c>.</param>
    /// <param name="target">The target, same shape (or <c>[batch]</c> for an input <c>[batch, 1]</c>).</param>
    /// <exception cref="ArgumentException">The shapes do not fit, the input is empty, a value is NaN or infinite, or out of the loss's domain.</exception>
    public Loss Forward(Tensor input, Tensor target)
    {
        string name = GetType().Name;
        CheckFloatTarget(name, input, target);
        if (input.Device.IsIlgpu && Reduction != Reduction.None)
        {
            return ForwardOnDevice(input, target); // ElementwiseLoss.Device.cs
        }
        ReadOnlySpan<float> x = input.AsSpan(), t = target.AsSpan();
        CheckFinite(name, "input", x, input.Shape);
        CheckFinite(name, "target", t, target.Shape);
        int n = x.Length;
        int lastDim = input.Size(-1);
        CheckShape(input, lastDim);
        if (_input.Length < n)
        {
            _input = new float[n];
            _target = new float[n];
        }
        x.CopyTo(_input);
        t.CopyTo(_target);
        _count = n;
        _lastDim = lastDim;
        Span<float> elements = ElementBuffer(n);
        for (int i = 0; i < n; i++)
        {
            elements[i] = Value(x[i], t[i], i % lastDim, i);
        }
        return Record(input, input.Shape, n);
    }

    /// <summary>Checks loss-specific shapes (e.g. of a weight) against the input; <paramref name="lastDim"/> is its last dimension.</summary>
    private protected virtual void CheckShape(Tensor input, int lastDim)
    {
    }

    /// <summary>The loss of element <paramref name="index"/> (input <paramref name="x"/>, target <paramref name="t"/>, position <paramref name="column"/> in the last dimension).</summary>
    private protected abstract float Value(float x, float t, int column, int index);

    /// <summary>The derivative of <see cref="Value"/> with respect to <paramref name="x"/>.</summary>
    private protected abstract float Derivative(float x, float t, int column, int index);

    private protected sealed override void ComputeGrad(Span<float> grad)
    {
        for (int i = 0; i < _count; i++)
        {
            grad[i] = Derivative(_input[i], _target[i], i % _lastDim, i) * Upstream(i);
        }
    }
}

/// <summary>Mean squared error, <c>ℓᵢ = (xᵢ − yᵢ)²</c>, averaged over all elements by default (PyTorch: <c>nn.MSELoss</c>); gradient <c>2(xᵢ − yᵢ)</c>.</summary>
public sealed class MSELoss : ElementwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/>.</param>
    public MSELoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override float Value(float x, float t, int column, int index) => (x - t) * (x - t);

    private protected override float Derivative(float x, float t, int column, int index) => 2f * (x - t);
}

/// <summary>Mean absolute error, <c>ℓᵢ = |xᵢ − yᵢ|</c> (PyTorch: <c>nn.L1Loss</c>); gradient <c>sign(xᵢ − yᵢ)</c>, 0 where they are equal (as PyTorch).</summary>
public sealed class L1Loss : ElementwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/>.</param>
    public L1Loss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    private protected override float Value(float x, float t, int column, int index) => MathF.Abs(x - t);

    private protected override float Derivative(float x, float t, int column, int index) => MathF.Sign(x - t);
}

/// <summary>
/// Huber loss (PyTorch 1.13: <c>nn.HuberLoss</c>): with <c>d = xᵢ − yᵢ</c>, <c>ℓᵢ = ½d²</c> when <c>|d| &lt; δ</c>, else
/// <c>δ(|d| − ½δ)</c>; gradient <c>clamp(d, −δ, δ)</c>.
/// </summary>
public sealed class HuberLoss : ElementwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/>.</param>
    /// <param name="delta">δ &gt; 0, where the loss turns from quadratic to linear; default 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not a finite value &gt; 0.</exception>
    public HuberLoss(Reduction reduction = Reduction.Mean, float delta = 1f) : base(reduction)
    {
        if (!(delta > 0f) || !float.IsFinite(delta))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "HuberLoss: delta must be a finite value > 0 (PyTorch: \"huber_loss does not support non-positive values for delta\").");
        }
        Delta = delta;
    }

    /// <summary>δ (PyTorch: <c>delta</c>).</summary>
    public float Delta { get; }

    private protected override float Value(float x, float t, int column, int index)
    {
        float z = MathF.Abs(x - t);
        return z < Delta ? 0.5f * z * z : Delta * (z - 0.5f * Delta);
    }

    private protected override float Derivative(float x, float t, int column, int index) => Math.Clamp(x - t, -Delta, Delta);
}

/// <summary>
/// Smooth L1 loss (PyTorch 1.13: <c>nn.SmoothL1Loss</c>): with <c>d = xᵢ − yᵢ</c>, <c>ℓᵢ = ½d²/β</c> when <c>|d| &lt; β</c>, else
/// <c>|d| − ½β</c>; gradient <c>clamp(d/β, −1, 1)</c>. With β = 0 it is <see cref="L1Loss"/> (but, as in PyTorch 1.13, its gradient at <c>d = 0</c> is −1, not 0). Equals <see cref="HuberLoss"/>/δ for δ = β.
/// </summary>
public sealed class SmoothL1Loss : ElementwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/>.</param>
    /// <param name="beta">β ≥ 0, where the loss turns from quadratic to linear; default 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beta"/> is negative or not finite.</exception>
    public SmoothL1Loss(Reduction reduction = Reduction.Mean, float beta = 1f) : base(reduction)
    {
        if (!(beta >= 0f) || !float.IsFinite(beta))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "SmoothL1Loss: beta must be a finite value ≥ 0 (PyTorch: \"smooth_l1_loss does not support negative values for beta\").");
        }
        Beta = beta;
    }

    /// <summary>β (PyTorch: <c>beta</c>).</summary>
    public float Beta { get; }

    private protected override float Value(float x, float t, int column, int index)
    {
        float z = MathF.Abs(x - t);
        return z < Beta ? 0.5f * z * z / Beta : z - 0.5f * Beta;
    }

    private protected override float Derivative(float x, float t, int column, int index)
    {
        float d = x - t;
        // β = 0: ±1, and −1 at a tie, as PyTorch 1.13's smooth_l1_backward gives (L1Loss gives 0 there).
        return Beta == 0f ? (d > 0f ? 1f : -1f) : d < -Beta ? -1f : d > Beta ? 1f : d / Beta;
    }
}
