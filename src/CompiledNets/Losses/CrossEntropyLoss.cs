using System.Numerics.Tensors;

namespace CompiledNets;

/// <summary>
/// Cross-entropy from logits: <c>ℓᵣ = −log softmax(xᵣ)[yᵣ] = logsumexp(xᵣ) − xᵣ[yᵣ]</c>, averaged over
/// the batch by default (PyTorch: <c>nn.CrossEntropyLoss</c>, i.e. <c>log_softmax</c> + <c>nll_loss</c>).
/// </summary>
/// <remarks>
/// Stable for large logits (the row maximum is subtracted before <c>exp</c>). Softmax and
/// cross-entropy are fused: the softmax kept from the forward gives the input gradient
/// <c>(softmax(x) − onehot(y)) / batch</c> in one pass.
/// </remarks>
public sealed class CrossEntropyLoss : LossFunction
{
    private float[] _probs = [];
    private int[] _labels = [];
    private int _batch;
    private int _classes;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default) or <see cref="Reduction.Sum"/> over the batch.</param>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    /// <summary>The loss of <paramref name="input"/> logits against <paramref name="target"/> class indices.</summary>
    /// <param name="input">Logits, <c>[batch, classes]</c> (no softmax applied).</param>
    /// <param name="target">Class indices in [0, classes), <c>[batch]</c>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, a logit is NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes).</exception>
    public Loss Forward(Tensor input, IntTensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Rank != 2 || target.Rank != 1 || target.Size(0) != input.Size(0) || input.Size(0) == 0)
        {
            throw new ArgumentException(
                $"CrossEntropyLoss expects input [batch, classes] and target [batch] with batch ≥ 1; got {Tensor.ShapeString(input.Shape)} and {Tensor.ShapeString(target.Shape)}.");
        }
        int batch = input.Size(0), classes = input.Size(1);
        ReadOnlySpan<float> x = input.AsSpan();
        ReadOnlySpan<int> y = target.AsSpan();
        for (int r = 0; r < batch; r++)
        {
            if ((uint)y[r] >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(target), y[r], $"Label {y[r]} at row {r} is outside [0, {classes}).");
            }
        }
        if (_probs.Length < x.Length)
        {
            _probs = new float[x.Length];
        }
        if (_labels.Length < batch)
        {
            _labels = new int[batch];
        }
        y.CopyTo(_labels);
        _batch = batch;
        _classes = classes;
        double total = 0;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> row = x.Slice(r * classes, classes);
            Span<float> p = _probs.AsSpan(r * classes, classes);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, p);
            TensorPrimitives.Exp(p, p);
            float sum = TensorPrimitives.Sum(p);
            float logSumExp = max + MathF.Log(sum);
            total += logSumExp - row[y[r]];
            TensorPrimitives.Divide(p, sum, p);
        }
        if (!double.IsFinite(total))
        {
            int bad = TensorPrimitives.IndexOfMaxMagnitude(x);
            for (int i = 0; i < x.Length; i++)
            {
                if (!float.IsFinite(x[i]))
                {
                    bad = i;
                    break;
                }
            }
            throw new ArgumentException($"CrossEntropyLoss input has a non-finite logit {x[bad]} at [{bad / classes}, {bad % classes}].", nameof(input));
        }
        float value = (float)(Reduction == Reduction.Mean ? total / batch : total);
        return Record(input, value);
    }

    private protected override void ComputeGrad(Span<float> grad)
    {
        float scale = Reduction == Reduction.Mean ? 1f / _batch : 1f;
        ReadOnlySpan<float> p = _probs.AsSpan(0, _batch * _classes);
        TensorPrimitives.Multiply(p, scale, grad);
        for (int r = 0; r < _batch; r++)
        {
            grad[r * _classes + _labels[r]] -= scale;
        }
    }
}
