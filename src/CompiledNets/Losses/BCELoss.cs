namespace CompiledNets;

/// <summary>
/// Binary cross-entropy over probabilities (PyTorch 1.13: <c>nn.BCELoss</c>):
/// <c>ℓᵢ = −wᵢ·(yᵢ·log xᵢ + (1 − yᵢ)·log(1 − xᵢ))</c>, each log clamped to ≥ −100 as PyTorch does; gradient
/// <c>wᵢ·(xᵢ − yᵢ) / max((1 − xᵢ)·xᵢ, 1e−12)</c> (PyTorch's <c>binary_cross_entropy_backward</c>).
/// </summary>
/// <remarks>
/// Inputs must be probabilities in [0, 1], e.g. after a <see cref="Sigmoid"/> layer; <see cref="BCEWithLogitsLoss"/> on the
/// logits is the numerically stable form. Targets are usually 0 or 1 (any value in [0, 1] works).
/// </remarks>
public sealed partial class BCELoss : ElementwiseLoss
{
    private readonly BroadcastWeight _weight;

    /// <summary>Creates the loss.</summary>
    /// <param name="weight">
    /// Optional rescaling weight (PyTorch: <c>weight</c>): of the input's shape, or a vector as long as the input's last dimension
    /// (broadcast over the rows); default none. Copied.
    /// </param>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is empty or holds a NaN or infinity.</exception>
    public BCELoss(Tensor? weight = null, Reduction reduction = Reduction.Mean) : base(reduction)
    {
        _weight = new BroadcastWeight(weight, nameof(weight), "BCELoss");
    }

    private protected override void CheckShape(Tensor input, int lastDim)
    {
        _weight.Check(input, lastDim);
        foreach (float v in input.AsSpan())
        {
            if (!(v >= 0f && v <= 1f))
            {
                throw new ArgumentException($"BCELoss input has a value {v} outside [0, 1] (PyTorch: \"all elements of input should be between 0 and 1\"); " +
                    "apply a Sigmoid layer first, or use BCEWithLogitsLoss on the logits.", nameof(input));
            }
        }
    }

    private protected override float Value(float x, float t, int column, int index)
    {
        float logX = MathF.Max(MathF.Log(x), -100f), log1mX = MathF.Max(MathF.Log(1f - x), -100f);
        return -_weight.At(column, index) * (t * logX + (1f - t) * log1mX);
    }

    private protected override float Derivative(float x, float t, int column, int index) =>
        _weight.At(column, index) * (x - t) / MathF.Max((1f - x) * x, 1e-12f);
}

/// <summary>
/// Binary cross-entropy from logits, a sigmoid and <see cref="BCELoss"/> in one stable step (PyTorch 1.13:
/// <c>nn.BCEWithLogitsLoss</c>): with <c>lᵢ = (p − 1)·yᵢ + 1</c> for the positive-class weight <c>p</c> (1 without one),
/// <c>ℓᵢ = wᵢ·[(1 − yᵢ)·xᵢ + lᵢ·(log(1 + e^(−|xᵢ|)) + max(−xᵢ, 0))]</c>, PyTorch's <c>binary_cross_entropy_with_logits</c>;
/// gradient <c>wᵢ·[lᵢ·σ(xᵢ) − p·yᵢ]</c> (<c>σ(xᵢ) − yᵢ</c> without weights).
/// </summary>
/// <remarks>Multi-label: input and target <c>[batch, classes]</c>, one independent binary problem per column; <c>posWeight[c] = negatives/positives</c> of class <c>c</c> balances them.</remarks>
public sealed partial class BCEWithLogitsLoss : ElementwiseLoss
{
    private readonly BroadcastWeight _weight;
    private readonly float[]? _posWeight;

    /// <summary>Creates the loss.</summary>
    /// <param name="weight">
    /// Optional rescaling weight (PyTorch: <c>weight</c>): of the input's shape, or a vector as long as the input's last dimension; default none. Copied.
    /// </param>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/>.</param>
    /// <param name="posWeight">
    /// Optional weight of the positive examples of each class (PyTorch: <c>pos_weight</c>): a vector as long as the input's last
    /// dimension (the number of classes), or of length 1; default none. Copied.
    /// </param>
    /// <exception cref="ArgumentException">A weight is not a non-empty vector or holds a NaN or infinity.</exception>
    public BCEWithLogitsLoss(Tensor? weight = null, Reduction reduction = Reduction.Mean, Tensor? posWeight = null) : base(reduction)
    {
        _weight = new BroadcastWeight(weight, nameof(weight), "BCEWithLogitsLoss");
        _posWeight = CopyWeight(posWeight, nameof(posWeight));
    }

    private protected override void CheckShape(Tensor input, int lastDim)
    {
        _weight.Check(input, lastDim);
        if (_posWeight is not null && _posWeight.Length != 1 && _posWeight.Length != lastDim)
        {
            throw new ArgumentException(
                $"BCEWithLogitsLoss has a pos_weight of length {_posWeight.Length} but the input {Tensor.ShapeString(input.Shape)} has {lastDim} classes in its last dimension; " +
                "pos_weight needs one value per class (or one for all).");
        }
    }

    private float LogWeight(float t, int column) =>
        _posWeight is null ? 1f : (_posWeight[_posWeight.Length == 1 ? 0 : column] - 1f) * t + 1f;

    private protected override float Value(float x, float t, int column, int index)
    {
        // log(1 + e^(−|x|)) in float64: for large |x| the float32 1 + e^(−|x|) would round to 1.
        double e = Math.Exp(-Math.Abs((double)x));
        double softplus = (e < 1e-5 ? e - e * e / 2 : Math.Log(1 + e)) + Math.Max(-(double)x, 0);
        return (float)(_weight.At(column, index) * ((1.0 - t) * x + LogWeight(t, column) * softplus));
    }

    private protected override float Derivative(float x, float t, int column, int index)
    {
        float sigmoid = 1f / (1f + MathF.Exp(-x));
        float p = _posWeight is null ? 1f : _posWeight[_posWeight.Length == 1 ? 0 : column];
        return _weight.At(column, index) * (LogWeight(t, column) * sigmoid - p * t);
    }
}

/// <summary>A weight of the input's shape or of its last dimension (broadcast over rows), as BCE's <c>weight</c>.</summary>
internal sealed partial class BroadcastWeight
{
    private readonly float[]? _values;
    private readonly int[] _shape = [];
    private readonly string _loss;
    private bool _full;

    public BroadcastWeight(Tensor? weight, string name, string loss)
    {
        _loss = loss;
        if (weight is null)
        {
            return;
        }
        if (weight.Numel == 0)
        {
            throw new ArgumentException($"{loss}: {name} is empty.", name);
        }
        _values = weight.AsSpan().ToArray();
        _shape = weight.Shape.ToArray();
        foreach (float v in _values)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException($"{loss}: {name} holds a non-finite value {v}.", name);
            }
        }
    }

    public void Check(Tensor input, int lastDim)
    {
        if (_values is null)
        {
            return;
        }
        if (input.Shape.SequenceEqual(_shape))
        {
            _full = true;
        }
        else if (_shape.Length == 1 && _shape[0] == lastDim)
        {
            _full = false;
        }
        else
        {
            throw new ArgumentException(
                $"{_loss} has a weight of shape {Tensor.ShapeString(_shape)}, which fits neither the input {Tensor.ShapeString(input.Shape)} nor its last dimension [{lastDim}].");
        }
    }

    public float At(int column, int index) => _values is null ? 1f : _values[_full ? index : column];
}
