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
        source.View(context.NoFloats).CopyTo(destination.View(context.NoFloats));
    }

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
