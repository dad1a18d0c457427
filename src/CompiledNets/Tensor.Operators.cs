using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

// Element-wise arithmetic (PyTorch: torch.add, sub, mul and their operators). Eager: each returns a new tensor and
// computes no gradient; inside a [Forward] method the generator compiles them into the forward and backward passes.
public sealed partial class Tensor
{
    /// <summary><c>a + b</c> element-wise; both of the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor operator +(Tensor a, Tensor b) => Binary(a, b, "+", ArithmeticKernels.Add);

    /// <summary><c>a − b</c> element-wise; both of the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor operator -(Tensor a, Tensor b) => Binary(a, b, "-", ArithmeticKernels.Subtract);

    /// <summary><c>a · b</c> element-wise (Hadamard product); both of the same shape.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor operator *(Tensor a, Tensor b) => Binary(a, b, "*", ArithmeticKernels.Multiply);

    /// <summary><c>a + c</c> element-wise.</summary>
    public static Tensor operator +(Tensor a, float c) => Affine(a, 1f, c);

    /// <summary><c>c + a</c> element-wise.</summary>
    public static Tensor operator +(float c, Tensor a) => Affine(a, 1f, c);

    /// <summary><c>a − c</c> element-wise.</summary>
    public static Tensor operator -(Tensor a, float c) => Affine(a, 1f, -c);

    /// <summary><c>c − a</c> element-wise.</summary>
    public static Tensor operator -(float c, Tensor a) => Affine(a, -1f, c);

    /// <summary><c>a · c</c> element-wise.</summary>
    public static Tensor operator *(Tensor a, float c) => Affine(a, c, 0f);

    /// <summary><c>c · a</c> element-wise.</summary>
    public static Tensor operator *(float c, Tensor a) => Affine(a, c, 0f);

    /// <summary><c>a / c</c> element-wise (computed as <c>a · (1/c)</c>, as the compiled pass does).</summary>
    public static Tensor operator /(Tensor a, float c) => Affine(a, 1f / c, 0f);

    /// <summary><c>−a</c> element-wise.</summary>
    public static Tensor operator -(Tensor a) => Affine(a, -1f, 0f);

    private static Tensor Binary(Tensor a, Tensor b, string op, Action<ReadOnlySpan<float>, ReadOnlySpan<float>, Span<float>> kernel)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!a.Shape.SequenceEqual(b.Shape))
        {
            throw new ArgumentException($"'{op}' needs tensors of the same shape; got {ShapeString(a.Shape)} and {ShapeString(b.Shape)}.");
        }
        var y = new Tensor(a._shape);
        kernel(a.AsSpan(), b.AsSpan(), y.AsSpan());
        return y;
    }

    private static Tensor Affine(Tensor a, float scale, float shift)
    {
        ArgumentNullException.ThrowIfNull(a);
        var y = new Tensor(a._shape);
        ArithmeticKernels.Affine(a.AsSpan(), scale, shift, y.AsSpan());
        return y;
    }
}
