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
    private float[] _rowMax = [];
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
        if (_rowMax.Length < batch)
        {
            _rowMax = new float[batch];
        }
        // Shift each row by its maximum, then one vectorised exp over the whole batch (a few classes per row would
        // leave a per-row exp mostly in its scalar tail), then normalise each row.
        Span<float> probs = _probs.AsSpan(0, x.Length);
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> row = x.Slice(r * classes, classes);
            Span<float> p = probs.Slice(r * classes, classes);
            if (classes < 16)
            {
                float max = row[0];
                for (int j = 1; j < row.Length; j++)
                {
                    max = MathF.Max(max, row[j]);
                }
                _rowMax[r] = max;
                for (int j = 0; j < p.Length; j++)
                {
                    p[j] = row[j] - max;
                }
            }
            else
            {
                float max = TensorPrimitives.Max(row);
                _rowMax[r] = max;
                TensorPrimitives.Subtract(row, max, p);
            }
        }
        TensorPrimitives.Exp(probs, probs);
        double total = 0;
        for (int r = 0; r < batch; r++)
        {
            Span<float> p = probs.Slice(r * classes, classes);
            float sum;
            if (classes < 16)
            {
                sum = 0f;
                for (int j = 0; j < p.Length; j++)
                {
                    sum += p[j];
                }
                for (int j = 0; j < p.Length; j++)
                {
                    p[j] /= sum;
                }
            }
            else
            {
                sum = TensorPrimitives.Sum(p);
                TensorPrimitives.Divide(p, sum, p);
            }
            total += _rowMax[r] + MathF.Log(sum) - x[r * classes + y[r]];
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
