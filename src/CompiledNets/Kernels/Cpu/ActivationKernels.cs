using System.Numerics.Tensors;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Element-wise activations and their gradients, in place. Each backward takes the forward
/// <em>output</em> <c>y</c>, so the forward may overwrite its input.
/// </summary>
public static class ActivationKernels
{
    /// <summary>ReLU in place: <c>x = max(x, 0)</c> (PyTorch: <c>torch.relu</c>).</summary>
    public static void Relu(Span<float> x) => TensorPrimitives.Max(x, 0f, x);

    /// <summary>ReLU gradient in place from the forward output: <c>g = y &gt; 0 ? g : 0</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void ReluBackward(Span<float> g, ReadOnlySpan<float> y)
    {
        CheckSameLength(g, y);
        for (int i = 0; i < g.Length; i++)
        {
            if (!(y[i] > 0f))
            {
                g[i] = 0f;
            }
        }
    }

    /// <summary>Logistic sigmoid in place: <c>x = 1 / (1 + e⁻ˣ)</c> (PyTorch: <c>torch.sigmoid</c>).</summary>
    public static void Sigmoid(Span<float> x) => TensorPrimitives.Sigmoid(x, x);

    /// <summary>Sigmoid gradient in place from the forward output: <c>g = g·y·(1 − y)</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void SigmoidBackward(Span<float> g, ReadOnlySpan<float> y)
    {
        CheckSameLength(g, y);
        for (int i = 0; i < g.Length; i++)
        {
            g[i] *= y[i] * (1f - y[i]);
        }
    }

    /// <summary>Hyperbolic tangent in place (PyTorch: <c>torch.tanh</c>).</summary>
    public static void Tanh(Span<float> x) => TensorPrimitives.Tanh(x, x);

    /// <summary>Tanh gradient in place from the forward output: <c>g = g·(1 − y²)</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void TanhBackward(Span<float> g, ReadOnlySpan<float> y)
    {
        CheckSameLength(g, y);
        for (int i = 0; i < g.Length; i++)
        {
            g[i] *= 1f - y[i] * y[i];
        }
    }

    internal static void CheckSameLength(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Spans of {a.Length} and {b.Length} values; expected equal lengths.");
        }
    }
}
