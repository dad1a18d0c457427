using ILGPU;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// Inverted dropout (Srivastava et al., 2014; PyTorch: <c>torch.nn.functional.dropout</c>) as ILGPU kernels, with the
/// mask drawn from the counter-based <see cref="Philox"/> generator: the same <see cref="PhiloxKey"/> gives the
/// bit-identical mask as <see cref="Cpu.PhiloxDropoutKernels.Forward"/> on the CPU.
/// </summary>
public static class DropoutKernels
{
    internal struct DropoutArgs
    {
        public float P, Scale;
        public PhiloxKey Key;
    }

    /// <summary>
    /// For each <c>i</c>: <c>mask[i] = Philox.Uniform(key, i) &lt; p ? 0 : 1/(1 − p)</c> and <c>x[i] *= mask[i]</c>; one
    /// thread per Philox block of four elements.
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="x">Values, multiplied in place.</param>
    /// <param name="mask">Receives the mask, same length.</param>
    /// <param name="p">Probability of zeroing, in [0, 1].</param>
    /// <param name="key">The random stream (seed, layer, step).</param>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static void Forward(DeviceContext context, DeviceSpan<float> x, DeviceSpan<float> mask, float p, PhiloxKey key)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(x, nameof(x));
        context.Check(mask, nameof(mask));
        LinearKernels.CheckLength(mask.Length, x.Length, nameof(mask));
        Cpu.PhiloxDropoutKernels.CheckProbability(p);
        if (x.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Dropout.Forward", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, DropoutArgs>(ForwardKernel));
        var args = new DropoutArgs { P = p, Scale = Philox.DropoutScale(p), Key = key };
        kernel(checked((int)((x.Length + 3) / 4)), x.View(context.NoFloats), mask.View(context.NoFloats), args);
    }

    /// <summary>Dropout gradient in place: <c>g = g·mask</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Backward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> mask) =>
        ActivationKernels.Backward<MaskGradient>(context, g, mask);

    /// <summary>
    /// The gradient of ReLU followed by dropout in one pass, from the dropout output <paramref name="y"/>:
    /// <c>g = y &gt; 0 ? g·mask : 0</c>, as <see cref="Cpu.DropoutKernels.ReluBackward"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void ReluBackward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> mask, DeviceSpan<float> y)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(g, nameof(g));
        context.Check(mask, nameof(mask));
        context.Check(y, nameof(y));
        LinearKernels.CheckLength(mask.Length, g.Length, nameof(mask));
        LinearKernels.CheckLength(y.Length, g.Length, nameof(y));
        if (g.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Dropout.ReluBackward", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ReluBackwardKernel));
        var none = context.NoFloats;
        kernel(checked((int)g.Length), g.View(none), mask.View(none), y.View(none));
    }

    /// <summary><c>g·mask</c> as an activation gradient, so that <see cref="Backward"/> reuses the generic kernel.</summary>
    private readonly struct MaskGradient : IGpuActivation
    {
        public float Forward(float x) => x;

        public float Backward(float g, float y) => g * y;
    }

    internal static void ForwardKernel(Index1D t, ArrayView<float> x, ArrayView<float> mask, DropoutArgs a)
    {
        long start = (long)t.X * 4;
        PhiloxBlock block = Philox.Generate(a.Key, t.X);
        long end = start + 4 < x.Length ? start + 4 : x.Length;
        for (long i = start; i < end; i++)
        {
            float m = Philox.DropoutMask(block[(int)(i - start)], a.P, a.Scale);
            mask[i] = m;
            x[i] *= m;
        }
    }

    internal static void ReluBackwardKernel(Index1D i, ArrayView<float> g, ArrayView<float> mask, ArrayView<float> y) =>
        g[i] = y[i] > 0f ? g[i] * mask[i] : 0f;
}
