using System.Numerics.Tensors;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Element-wise arithmetic and feature-dimension concatenation for the operations of a custom forward
/// (<c>+ - *</c>, scaling by a constant, <c>F.Cat</c>) and their gradients. Spans are row-major; an output may be
/// the same span as an input (in place), never a partial overlap.
/// </summary>
public static class ArithmeticKernels
{
    /// <summary><c>y = a + b</c> element-wise.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckSame(a, b, y);
        TensorPrimitives.Add(a, b, y);
    }

    /// <summary><c>y = a − b</c> element-wise.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Subtract(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckSame(a, b, y);
        TensorPrimitives.Subtract(a, b, y);
    }

    /// <summary><c>y = a · b</c> element-wise.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckSame(a, b, y);
        TensorPrimitives.Multiply(a, b, y);
    }

    /// <summary><c>y = scale · x + shift</c> element-wise (<c>x * c</c>, <c>x + c</c>, <c>c − x</c>, <c>-x</c>).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Affine(ReadOnlySpan<float> x, float scale, float shift, Span<float> y)
    {
        ActivationKernels.CheckSameLength(x, y);
        if (scale == 1f)
        {
            TensorPrimitives.Add(x, shift, y);
        }
        else if (shift == 0f)
        {
            TensorPrimitives.Multiply(x, scale, y);
        }
        else
        {
            TensorPrimitives.Multiply(x, scale, y);
            TensorPrimitives.Add(y, shift, y);
        }
    }

    /// <summary>
    /// Delivers a gradient: <c>dx = scale · g</c> when <paramref name="accumulate"/> is false (the first writer of a
    /// fanned-out value's gradient), else <c>dx += scale · g</c> (llm.c's convention, so no buffer needs clearing).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Deliver(ReadOnlySpan<float> g, float scale, Span<float> dx, bool accumulate)
    {
        ActivationKernels.CheckSameLength(g, dx);
        if (accumulate)
        {
            if (scale == 1f)
            {
                TensorPrimitives.Add(dx, g, dx);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(g, scale, dx, dx);
            }
        }
        else if (scale == 1f)
        {
            g.CopyTo(dx);
        }
        else
        {
            TensorPrimitives.Multiply(g, scale, dx);
        }
    }

    /// <summary>Gradient of one factor of <c>a · b</c>: <c>da = g · b</c>, or <c>da += g · b</c> when <paramref name="accumulate"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void DeliverProduct(ReadOnlySpan<float> g, ReadOnlySpan<float> other, Span<float> dx, bool accumulate)
    {
        CheckSame(g, other, dx);
        if (accumulate)
        {
            TensorPrimitives.MultiplyAdd(g, other, dx, dx);
        }
        else
        {
            TensorPrimitives.Multiply(g, other, dx);
        }
    }

    /// <summary>
    /// Writes <paramref name="x"/> (<c>[rows, width]</c>) into columns <c>[offset, offset + width)</c> of
    /// <paramref name="y"/> (<c>[rows, yWidth]</c>): one input of a concatenation along the features (PyTorch: <c>torch.cat(dim=1)</c>).
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or the columns do not fit.</exception>
    public static void CatForward(ReadOnlySpan<float> x, Span<float> y, int rows, int width, int yWidth, int offset)
    {
        CheckColumns(x.Length, y.Length, rows, width, yWidth, offset);
        for (int r = 0; r < rows; r++)
        {
            x.Slice(r * width, width).CopyTo(y.Slice(r * yWidth + offset, width));
        }
    }

    /// <summary>
    /// The gradient of one input of a concatenation: columns <c>[offset, offset + width)</c> of <paramref name="g"/>
    /// (<c>[rows, gWidth]</c>) into <paramref name="dx"/> (<c>[rows, width]</c>), overwriting or, when
    /// <paramref name="accumulate"/>, adding.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or the columns do not fit.</exception>
    public static void CatBackward(ReadOnlySpan<float> g, Span<float> dx, int rows, int width, int gWidth, int offset, bool accumulate)
    {
        CheckColumns(dx.Length, g.Length, rows, width, gWidth, offset);
        for (int r = 0; r < rows; r++)
        {
            var src = g.Slice(r * gWidth + offset, width);
            var dst = dx.Slice(r * width, width);
            if (accumulate)
            {
                TensorPrimitives.Add(dst, src, dst);
            }
            else
            {
                src.CopyTo(dst);
            }
        }
    }

    private static void CheckColumns(int partLength, int wholeLength, int rows, int width, int wholeWidth, int offset)
    {
        if (offset < 0 || width < 0 || offset + width > wholeWidth || partLength < rows * width || wholeLength < rows * wholeWidth)
        {
            throw new ArgumentException(
                $"Columns [{offset}, {offset + width}) of [{rows}, {wholeWidth}] ({wholeLength} values) with a part of [{rows}, {width}] ({partLength} values) do not fit.");
        }
    }

    private static void CheckSame(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> y)
    {
        ActivationKernels.CheckSameLength(a, b);
        ActivationKernels.CheckSameLength(a, y);
    }
}
