using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>
/// Functions on tensors for a model's <c>[Forward]</c> method (PyTorch: <c>torch.nn.functional</c> and <c>torch.cat</c>).
/// Called eagerly, each returns a new tensor of shape <c>[batch, features]</c> and computes no gradient; inside a
/// <c>[Forward]</c> method the generator compiles them into the model's forward and backward passes.
/// </summary>
public static class F
{
    /// <summary><c>max(x, 0)</c> element-wise (PyTorch: <c>F.relu</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    public static Tensor Relu(Tensor input)
    {
        var y = Copy(input);
        ActivationKernels.Relu(y.AsSpan());
        return y;
    }

    /// <summary><c>1 / (1 + e⁻ˣ)</c> element-wise (PyTorch: <c>F.sigmoid</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    public static Tensor Sigmoid(Tensor input)
    {
        var y = Copy(input);
        ActivationKernels.Sigmoid(y.AsSpan());
        return y;
    }

    /// <summary><c>tanh(x)</c> element-wise (PyTorch: <c>F.tanh</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    public static Tensor Tanh(Tensor input)
    {
        var y = Copy(input);
        ActivationKernels.Tanh(y.AsSpan());
        return y;
    }

    /// <summary>Softmax over the features of each row of <c>[batch, features]</c> (PyTorch: <c>F.softmax(x, dim)</c>).</summary>
    /// <param name="input">A <c>[batch, features]</c> tensor.</param>
    /// <param name="dim">1 or -1 (the features); default 1.</param>
    /// <exception cref="ArgumentException">The input is not two-dimensional, or <paramref name="dim"/> is not 1 or -1.</exception>
    public static Tensor Softmax(Tensor input, int dim = 1)
    {
        if (dim is not (1 or -1))
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "Softmax works over the features of [batch, features] inputs: dim must be 1 or -1.");
        }
        Check2D(input, "Softmax");
        var y = Copy(input);
        SoftmaxKernels.Forward(y.AsSpan(), input.Size(0), input.Size(1));
        return y;
    }

    /// <summary>
    /// Inverted dropout (PyTorch: <c>F.dropout(x, p, training)</c>): when <paramref name="training"/>, zeroes each value
    /// with probability <paramref name="p"/>, drawing the mask from <see cref="Philox"/> keyed by
    /// <c>(Generator.Default.NextUInt64(), 0, 0)</c> (one draw per call, as <see cref="CompiledNets.Dropout"/>), and scales the others by
    /// <c>1/(1 − p)</c>; otherwise returns a copy. In a <c>[Forward]</c> method pass the model's <c>IsTraining</c>.
    /// </summary>
    /// <param name="input">Any tensor.</param>
    /// <param name="p">Probability of zeroing, in [0, 1]; default 0.5.</param>
    /// <param name="training">Whether to drop; default <see langword="true"/> as in PyTorch.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static Tensor Dropout(Tensor input, float p = 0.5f, bool training = true)
    {
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability has to be between 0 and 1.");
        }
        var y = Copy(input);
        if (training)
        {
            PhiloxDropoutKernels.Forward(y.AsSpan(), new float[y.Numel], p, new PhiloxKey(Generator.Default.NextUInt64(), 0, 0));
        }
        return y;
    }

    /// <summary>
    /// Concatenates <c>[batch, f₁]</c>, <c>[batch, f₂]</c>, … into <c>[batch, f₁ + f₂ + …]</c> along the features
    /// (PyTorch: <c>torch.cat(tensors, dim=1)</c>).
    /// </summary>
    /// <exception cref="ArgumentException">No tensors, a tensor is not two-dimensional, or the batch sizes differ.</exception>
    public static Tensor Cat(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0)
        {
            throw new ArgumentException("Cat needs at least one tensor.", nameof(tensors));
        }
        int rows = -1, width = 0;
        foreach (var t in tensors)
        {
            Check2D(t, "Cat");
            if (rows >= 0 && t.Size(0) != rows)
            {
                throw new ArgumentException(
                    $"Cat joins tensors along the features; their batch sizes must agree, got {string.Join(", ", tensors.Select(x => Tensor.ShapeString(x.Shape)))}.",
                    nameof(tensors));
            }
            rows = t.Size(0);
            width += t.Size(1);
        }
        var y = new Tensor(rows, width);
        int offset = 0;
        foreach (var t in tensors)
        {
            ArithmeticKernels.CatForward(t.AsSpan(), y.AsSpan(), rows, t.Size(1), width, offset);
            offset += t.Size(1);
        }
        return y;
    }

    private static Tensor Copy(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Clone();
    }

    private static void Check2D(Tensor t, string what)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.Rank != 2)
        {
            throw new ArgumentException($"{what} expects [batch, features] tensors; got {Tensor.ShapeString(t.Shape)}.");
        }
    }
}
