using ILGPU;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// Copies, gradient delivery and the element-wise operations of custom forwards on a device (sums, differences,
/// products, affine maps with constants, concatenation along the features), as <see cref="Cpu.ArithmeticKernels"/>
/// does on the CPU. The kernels of the custom-forward operations are in <c>ArithmeticKernels.Graph.cs</c>.
/// </summary>
public static partial class ArithmeticKernels
{
    /// <summary><c>destination[i] = source[i]</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Copy(DeviceContext context, DeviceSpan<float> source, DeviceSpan<float> destination)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(source, nameof(source));
        context.Check(destination, nameof(destination));
        LinearKernels.CheckLength(destination.Length, source.Length, nameof(destination));
        if (source.IsEmpty)
        {
            return;
        }
        // A kernel rather than ILGPU's view copy, so it is ordered with the kernels around it on every backend (the
        // CPU accelerator's fills were seen landing late; see DeviceContext.Allocate).
        var kernel = context.Kernel("Arithmetic.Copy", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(CopyKernel));
        kernel(checked((int)source.Length), source.View(context.NoFloats), destination.View(context.NoFloats));
    }

    /// <summary><c>x[i] = value</c> for every element (zeroing gradients and optimizer state).</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> lives on another context.</exception>
    public static void Fill(DeviceContext context, DeviceSpan<float> x, float value)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(x, nameof(x));
        if (x.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.Fill", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(FillKernel));
        kernel(checked((int)x.Length), x.View(context.NoFloats), value);
    }

    internal static void CopyKernel(Index1D i, ArrayView<float> source, ArrayView<float> destination) => destination[i] = source[i];

    internal static void FillKernel(Index1D i, ArrayView<float> x, float value) => x[i] = value;

    /// <summary>
    /// Delivers a gradient: <c>dx[i] = scale·g[i]</c>, or <c>dx[i] += scale·g[i]</c> when <paramref name="accumulate"/>
    /// (the second and later consumers of a value add to its gradient, llm.c's <c>dinp += …</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Deliver(DeviceContext context, DeviceSpan<float> g, float scale, DeviceSpan<float> dx, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(g, nameof(g));
        context.Check(dx, nameof(dx));
        LinearKernels.CheckLength(dx.Length, g.Length, nameof(dx));
        if (g.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Arithmetic.Deliver", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, int>(DeliverKernel));
        kernel(checked((int)g.Length), g.View(context.NoFloats), dx.View(context.NoFloats), scale, accumulate ? 1 : 0);
    }

    internal static void DeliverKernel(Index1D i, ArrayView<float> g, ArrayView<float> dx, float scale, int accumulate) =>
        dx[i] = accumulate != 0 ? dx[i] + scale * g[i] : scale * g[i];
}
