using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>An element-wise activation for the generic kernels of <see cref="ActivationKernels"/>: its value and its gradient from the output.</summary>
public interface IGpuActivation
{
    /// <summary>The activation of <paramref name="x"/>.</summary>
    float Forward(float x);

    /// <summary>The input gradient from the output gradient <paramref name="g"/> and the forward output <paramref name="y"/>.</summary>
    float Backward(float g, float y);
}

/// <summary>ReLU: <c>max(x, 0)</c>; gradient <c>y &gt; 0 ? g : 0</c>.</summary>
public readonly struct ReluActivation : IGpuActivation
{
    /// <inheritdoc/>
    public float Forward(float x) => x > 0f || XMath.IsNaN(x) ? x : 0f; // NaN propagates, as TensorPrimitives.Max does

    /// <inheritdoc/>
    public float Backward(float g, float y) => y > 0f ? g : 0f;
}

/// <summary>Logistic sigmoid: <c>1 / (1 + e⁻ˣ)</c>; gradient <c>g·y·(1 − y)</c>.</summary>
public readonly struct SigmoidActivation : IGpuActivation
{
    /// <inheritdoc/>
    public float Forward(float x) => 1f / (1f + GpuMath.Exp(-x));

    /// <inheritdoc/>
    public float Backward(float g, float y) => g * (y * (1f - y));
}

/// <summary>
/// Hyperbolic tangent; gradient <c>g·(1 − y²)</c>. Below |x| = 0.625 the odd polynomial of Cephes' <c>tanhf</c>
/// (as in <see cref="Cpu.ActivationKernels.Tanh"/>), above <c>sign(x)·(1 − t)/(1 + t)</c> with <c>t = e^(−2|x|)</c>.
/// </summary>
public readonly struct TanhActivation : IGpuActivation
{
    /// <inheritdoc/>
    public float Forward(float x)
    {
        float ax = XMath.Abs(x);
        if (ax < 0.625f)
        {
            float z = x * x;
            float p = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z
                + 1.33314422036E-1f) * z - 3.33332819422E-1f) * z;
            return x == 0f ? x : x + x * p;
        }
        float t = GpuMath.Exp(-2f * ax);
        float r = (1f - t) / (1f + t);
        return x < 0f ? -r : r;
    }

    /// <inheritdoc/>
    public float Backward(float g, float y) => g * (1f - y * y);
}

/// <summary>
/// Element-wise activations and their gradients as ILGPU kernels, in place; the GPU twin of
/// <see cref="Cpu.ActivationKernels"/>. Each backward takes the forward <em>output</em> <c>y</c>. One generic kernel per
/// direction, specialised per <see cref="IGpuActivation"/> struct (ILGPU compiles one variant per type argument).
/// </summary>
public static class ActivationKernels
{
    /// <summary>ReLU in place: <c>x = max(x, 0)</c>.</summary>
    public static void Relu(DeviceContext context, DeviceSpan<float> x) => Forward<ReluActivation>(context, x);

    /// <summary>ReLU gradient in place from the forward output: <c>g = y &gt; 0 ? g : 0</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void ReluBackward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> y) => Backward<ReluActivation>(context, g, y);

    /// <summary>Sigmoid in place: <c>x = 1 / (1 + e⁻ˣ)</c>.</summary>
    public static void Sigmoid(DeviceContext context, DeviceSpan<float> x) => Forward<SigmoidActivation>(context, x);

    /// <summary>Sigmoid gradient in place from the forward output: <c>g = g·y·(1 − y)</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void SigmoidBackward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> y) => Backward<SigmoidActivation>(context, g, y);

    /// <summary>Tanh in place.</summary>
    public static void Tanh(DeviceContext context, DeviceSpan<float> x) => Forward<TanhActivation>(context, x);

    /// <summary>Tanh gradient in place from the forward output: <c>g = g·(1 − y²)</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void TanhBackward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> y) => Backward<TanhActivation>(context, g, y);

    /// <summary><c>x = TAct.Forward(x)</c> for every element.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> lives on another context.</exception>
    public static void Forward<TAct>(DeviceContext context, DeviceSpan<float> x) where TAct : struct, IGpuActivation
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(x, nameof(x));
        if (x.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Activation.Forward." + typeof(TAct).FullName, static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>>(ForwardKernel<TAct>));
        kernel(checked((int)x.Length), x.View(context.NoFloats));
    }

    /// <summary><c>g = TAct.Backward(g, y)</c> for every element.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Backward<TAct>(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> y) where TAct : struct, IGpuActivation
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(g, nameof(g));
        context.Check(y, nameof(y));
        LinearKernels.CheckLength(y.Length, g.Length, nameof(y));
        if (g.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Activation.Backward." + typeof(TAct).FullName, static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(BackwardKernel<TAct>));
        kernel(checked((int)g.Length), g.View(context.NoFloats), y.View(context.NoFloats));
    }

    internal static void ForwardKernel<TAct>(Index1D i, ArrayView<float> x) where TAct : struct, IGpuActivation =>
        x[i] = default(TAct).Forward(x[i]);

    internal static void BackwardKernel<TAct>(Index1D i, ArrayView<float> g, ArrayView<float> y) where TAct : struct, IGpuActivation =>
        g[i] = default(TAct).Backward(g[i], y[i]);
}
