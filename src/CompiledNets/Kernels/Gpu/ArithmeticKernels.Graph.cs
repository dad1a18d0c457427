using ILGPU;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>A binary element-wise operation for <see cref="ArithmeticKernels"/>' generic kernel (one variant per struct).</summary>
public interface IGpuBinary
{
    /// <summary>The result for the elements <paramref name="a"/> and <paramref name="b"/>.</summary>
    float Invoke(float a, float b);
}

/// <summary><c>a + b</c>.</summary>
public readonly struct AddOperator : IGpuBinary
{
    /// <inheritdoc/>
    public float Invoke(float a, float b) => a + b;
}

/// <summary><c>a − b</c>.</summary>
public readonly struct SubtractOperator : IGpuBinary
{
    /// <inheritdoc/>
    public float Invoke(float a, float b) => a - b;
}

/// <summary><c>a · b</c>.</summary>
public readonly struct MultiplyOperator : IGpuBinary
{
    /// <inheritdoc/>
    public float Invoke(float a, float b) => a * b;
}

// The operations of custom forwards ([Forward] methods): the GPU twins of Cpu.ArithmeticKernels' Add, Subtract, Multiply,
// Affine, DeliverProduct, CatForward and CatBackward, with the same formulas. Outputs may be one of the inputs (in place).
public static partial class ArithmeticKernels
{
    /// <summary><c>y[i] = a[i] + b[i]</c>; <paramref name="y"/> may be <paramref name="a"/> or <paramref name="b"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Add(DeviceContext context, DeviceSpan<float> a, DeviceSpan<float> b, DeviceSpan<float> y) =>
        Binary<AddOperator>(context, a, b, y);

    /// <summary><c>y[i] = a[i] − b[i]</c>; <paramref name="y"/> may be <paramref name="a"/> or <paramref name="b"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Subtract(DeviceContext context, DeviceSpan<float> a, DeviceSpan<float> b, DeviceSpan<float> y) =>
        Binary<SubtractOperator>(context, a, b, y);

    /// <summary><c>y[i] = a[i]·b[i]</c>; <paramref name="y"/> may be <paramref name="a"/> or <paramref name="b"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Multiply(DeviceContext context, DeviceSpan<float> a, DeviceSpan<float> b, DeviceSpan<float> y) =>
        Binary<MultiplyOperator>(context, a, b, y);

    /// <summary><c>y[i] = TOp.Invoke(a[i], b[i])</c> for every element.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Binary<TOp>(DeviceContext context, DeviceSpan<float> a, DeviceSpan<float> b, DeviceSpan<float> y) where TOp : struct, IGpuBinary
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(a, nameof(a));
        context.Check(b, nameof(b));
        context.Check(y, nameof(y));
        LinearKernels.CheckLength(b.Length, a.Length, nameof(b));
        LinearKernels.CheckLength(y.Length, a.Length, nameof(y));
        if (a.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.Binary." + typeof(TOp).FullName, static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BinaryKernel<TOp>));
        kernel(checked((int)a.Length), a.View(context.NoFloats), b.View(context.NoFloats), y.View(context.NoFloats));
    }

    /// <summary>
    /// <c>y[i] = scale·x[i] + shift</c> (a tensor with float constants: <c>x * 0.5f</c>, <c>h - 0.1f</c>, <c>-h</c>), with
    /// <paramref name="y"/> may be <paramref name="x"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Affine(DeviceContext context, DeviceSpan<float> x, float scale, float shift, DeviceSpan<float> y)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(x, nameof(x));
        context.Check(y, nameof(y));
        LinearKernels.CheckLength(y.Length, x.Length, nameof(y));
        if (x.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.Affine", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float, float, ArrayView<float>>(AffineKernel));
        kernel(checked((int)x.Length), x.View(context.NoFloats), scale, shift, y.View(context.NoFloats));
    }

    /// <summary>
    /// The gradient of one factor of a product: <c>dx[i] = g[i]·other[i]</c>, or <c>dx[i] += g[i]·other[i]</c> when
    /// <paramref name="accumulate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void DeliverProduct(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> other, DeviceSpan<float> dx, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(g, nameof(g));
        context.Check(other, nameof(other));
        context.Check(dx, nameof(dx));
        LinearKernels.CheckLength(other.Length, g.Length, nameof(other));
        LinearKernels.CheckLength(dx.Length, g.Length, nameof(dx));
        if (g.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.DeliverProduct", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(DeliverProductKernel));
        kernel(checked((int)g.Length), g.View(context.NoFloats), other.View(context.NoFloats), dx.View(context.NoFloats), accumulate ? 1 : 0);
    }

    /// <summary>
    /// Concatenation along the features, one part: <c>y[r, offset + c] = x[r, c]</c> for <paramref name="x"/>
    /// <c>[rows, width]</c> into <paramref name="y"/> <c>[rows, yWidth]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length, lives on another context, or the band <c>[offset, offset + width)</c> is outside <c>[0, yWidth)</c>.</exception>
    public static void CatForward(DeviceContext context, DeviceSpan<float> x, DeviceSpan<float> y, int rows, int width, int yWidth, int offset)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(x, nameof(x));
        context.Check(y, nameof(y));
        CheckBand(x.Length, y.Length, rows, width, yWidth, offset);
        if (x.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.CatForward", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(CatForwardKernel));
        kernel(checked((int)x.Length), x.View(context.NoFloats), y.View(context.NoFloats), width, yWidth, offset);
    }

    /// <summary>
    /// The gradient of one part of a concatenation: <c>dx[r, c] = g[r, offset + c]</c> (or <c>+=</c> when
    /// <paramref name="accumulate"/>) for <paramref name="g"/> <c>[rows, gWidth]</c> and <paramref name="dx"/> <c>[rows, width]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length, lives on another context, or the band is outside <c>[0, gWidth)</c>.</exception>
    public static void CatBackward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> dx, int rows, int width, int gWidth, int offset, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(g, nameof(g));
        context.Check(dx, nameof(dx));
        CheckBand(dx.Length, g.Length, rows, width, gWidth, offset);
        if (dx.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.CatBackward", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, int>(CatBackwardKernel));
        kernel(checked((int)dx.Length), g.View(context.NoFloats), dx.View(context.NoFloats), width, gWidth, offset, accumulate ? 1 : 0);
    }

    private static void CheckBand(long partLength, long wholeLength, int rows, int width, int wholeWidth, int offset)
    {
        if (rows < 0 || width < 0 || offset < 0 || offset + width > wholeWidth)
        {
            throw new ArgumentException($"A band of {width} columns at offset {offset} does not fit in rows of {wholeWidth} (rows {rows}).");
        }
        LinearKernels.CheckLength(partLength, (long)rows * width, "part");
        LinearKernels.CheckLength(wholeLength, (long)rows * wholeWidth, "whole");
    }

    internal static void BinaryKernel<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) where TOp : struct, IGpuBinary =>
        y[i] = default(TOp).Invoke(a[i], b[i]);

    internal static void AffineKernel(Index1D i, ArrayView<float> x, float scale, float shift, ArrayView<float> y)
    {
        // As the CPU: scale 1 adds, shift 0 multiplies (both exact twins); otherwise a backend may contract the two into
        // one fused multiply-add, which differs from the CPU's two roundings by at most one ulp.
        float v = x[i];
        y[i] = scale == 1f ? v + shift : shift == 0f ? v * scale : v * scale + shift;
    }

    internal static void DeliverProductKernel(Index1D i, ArrayView<float> g, ArrayView<float> other, ArrayView<float> dx, int accumulate) =>
        dx[i] = accumulate != 0 ? dx[i] + g[i] * other[i] : g[i] * other[i];

    internal static void CatForwardKernel(Index1D i, ArrayView<float> x, ArrayView<float> y, int width, int yWidth, int offset)
    {
        int r = i / width, c = i - r * width;
        y[(long)r * yWidth + offset + c] = x[i];
    }

    internal static void CatBackwardKernel(Index1D i, ArrayView<float> g, ArrayView<float> dx, int width, int gWidth, int offset, int accumulate)
    {
        int r = i / width, c = i - r * width;
        float v = g[(long)r * gWidth + offset + c];
        dx[i] = accumulate != 0 ? dx[i] + v : v;
    }
}
