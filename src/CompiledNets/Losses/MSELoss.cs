using System.Numerics.Tensors;

namespace CompiledNets;

/// <summary>
/// Mean squared error, <c>mean((x − y)²)</c> over all elements by default (PyTorch: <c>nn.MSELoss</c>).
/// </summary>
public sealed class MSELoss : LossFunction
{
    private float[] _diff = [];
    private int _count;

    /// <summary>Creates the loss.</summary>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default) or <see cref="Reduction.Sum"/> over all elements.</param>
    public MSELoss(Reduction reduction = Reduction.Mean) : base(reduction)
    {
    }

    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/>; both the same shape, e.g. <c>[batch, features]</c>.</summary>
    /// <exception cref="ArgumentException">The shapes differ, the input is empty, or a value is NaN or infinite.</exception>
    public Loss Forward(Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (!input.Shape.SequenceEqual(target.Shape) || input.Numel == 0)
        {
            throw new ArgumentException(
                $"MSELoss expects input and target of the same non-empty shape; got {Tensor.ShapeString(input.Shape)} and {Tensor.ShapeString(target.Shape)}.");
        }
        int n = input.Numel;
        if (_diff.Length < n)
        {
            _diff = new float[n];
        }
        Span<float> d = _diff.AsSpan(0, n);
        TensorPrimitives.Subtract(input.AsSpan(), target.AsSpan(), d);
        _count = n;
        double sum = TensorPrimitives.SumOfSquares((ReadOnlySpan<float>)d);
        if (!double.IsFinite(sum))
        {
            throw new ArgumentException("MSELoss input or target holds a NaN or infinite value.");
        }
        return Record(input, (float)(Reduction == Reduction.Mean ? sum / n : sum));
    }

    private protected override void ComputeGrad(Span<float> grad)
    {
        float scale = Reduction == Reduction.Mean ? 2f / _count : 2f;
        TensorPrimitives.Multiply(_diff.AsSpan(0, _count), scale, grad);
    }
}
