using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>Rectified linear unit, <c>max(x, 0)</c> element-wise (PyTorch: <c>nn.ReLU</c>). Any shape in, same shape out.</summary>
/// <remarks>PyTorch's <c>inplace</c> flag has no counterpart: the generated code works in place wherever the backward pass allows.</remarks>
public sealed class ReLU : Module
{
    /// <summary>Applies ReLU to a copy of <paramref name="input"/>.</summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = input.Clone();
        ActivationKernels.Relu(output.AsSpan());
        return output;
    }
}

/// <summary>Logistic sigmoid, <c>1 / (1 + e⁻ˣ)</c> element-wise (PyTorch: <c>nn.Sigmoid</c>).</summary>
public sealed class Sigmoid : Module
{
    /// <summary>Applies the sigmoid to a copy of <paramref name="input"/>.</summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = input.Clone();
        ActivationKernels.Sigmoid(output.AsSpan());
        return output;
    }
}

/// <summary>Hyperbolic tangent element-wise (PyTorch: <c>nn.Tanh</c>).</summary>
public sealed class Tanh : Module
{
    /// <summary>Applies tanh to a copy of <paramref name="input"/>.</summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = input.Clone();
        ActivationKernels.Tanh(output.AsSpan());
        return output;
    }
}

/// <summary>
/// Softmax over the features of each row, <c>exp(xᵢ) / Σⱼ exp(xⱼ)</c> (PyTorch: <c>nn.Softmax(dim=1)</c>).
/// Input and output <c>[batch, features]</c>.
/// </summary>
/// <remarks>
/// Do not put it before <see cref="CrossEntropyLoss"/>, which applies log-softmax itself (as in PyTorch).
/// </remarks>
public sealed class Softmax : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dim">The dimension to normalise: 1 or -1 (the features of a <c>[batch, features]</c> input).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is not 1 or -1.</exception>
    public Softmax(int dim = 1)
    {
        if (dim is not (1 or -1))
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "Softmax works over the features of [batch, features] inputs: dim must be 1 or -1.");
        }
        Dim = dim;
    }

    /// <summary>The dimension normalised (PyTorch: <c>dim</c>).</summary>
    public int Dim { get; }

    /// <summary>Applies softmax to each row of a copy of <paramref name="input"/>, shape <c>[batch, features]</c>.</summary>
    /// <exception cref="ArgumentException">The input is not two-dimensional.</exception>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2)
        {
            throw new ArgumentException($"Softmax expects [batch, features]; got {Tensor.ShapeString(input.Shape)}.", nameof(input));
        }
        var output = input.Clone();
        SoftmaxKernels.Forward(output.AsSpan(), input.Size(0), input.Size(1));
        return output;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>
/// Log-softmax over the features of each row, <c>xᵢ − log Σⱼ exp(xⱼ)</c> (PyTorch: <c>nn.LogSoftmax(dim=1)</c>).
/// Input and output <c>[batch, features]</c>. Put it last and train with <see cref="NLLLoss"/>: together they are
/// <see cref="CrossEntropyLoss"/> on the logits.
/// </summary>
/// <remarks>Stable for large values (the row maximum is subtracted first); gradient <c>gᵢ − exp(yᵢ)·Σⱼ gⱼ</c> from the output <c>y</c>.</remarks>
public sealed class LogSoftmax : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dim">The dimension to normalise: 1 or -1 (the features of a <c>[batch, features]</c> input).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is not 1 or -1.</exception>
    public LogSoftmax(int dim = 1)
    {
        if (dim is not (1 or -1))
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "LogSoftmax works over the features of [batch, features] inputs: dim must be 1 or -1.");
        }
        Dim = dim;
    }

    /// <summary>The dimension normalised (PyTorch: <c>dim</c>).</summary>
    public int Dim { get; }

    /// <summary>Applies log-softmax to each row of a copy of <paramref name="input"/>, shape <c>[batch, features]</c>.</summary>
    /// <exception cref="ArgumentException">The input is not two-dimensional.</exception>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2)
        {
            throw new ArgumentException($"LogSoftmax expects [batch, features]; got {Tensor.ShapeString(input.Shape)}.", nameof(input));
        }
        var output = input.Clone();
        SoftmaxKernels.LogForward(output.AsSpan(), input.Size(0), input.Size(1));
        return output;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}
