using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// Optimizer updates as one ILGPU kernel pass over flat spans of parameters, gradients and state; the GPU twin of
/// <see cref="Cpu.OptimizerKernels"/>, with the same formulas and the same per-step constants computed on the host.
/// </summary>
public static class OptimizerKernels
{
    internal struct AdamArgs
    {
        public float Beta1, Beta2, C1, C2, L2, Shrink, StepSize, Bc2Sqrt, Eps;
    }

    internal struct SgdArgs
    {
        public float Lr, Momentum, Dampening, WeightDecay;
        public int Nesterov, FirstStep, HasMomentum;
    }

    /// <summary>
    /// One Adam or AdamW step, as <see cref="Cpu.OptimizerKernels.Adam"/>:
    /// <c>g ← grad + wd·p</c> (Adam) or <c>p ← p·(1 − lr·wd)</c> (AdamW); <c>m ← β₁m + (1 − β₁)g</c>;
    /// <c>v ← β₂v + (1 − β₂)g²</c>; <c>p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)</c>
    /// (Kingma and Ba, 2015; Loshchilov and Hutter, 2019; PyTorch 1.13 <c>torch.optim.Adam</c>/<c>AdamW</c>).
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="p">Parameters, updated in place.</param>
    /// <param name="grad">Gradients, same length.</param>
    /// <param name="m">First moment (<c>exp_avg</c>), updated.</param>
    /// <param name="v">Second moment (<c>exp_avg_sq</c>), updated.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="eps">ε.</param>
    /// <param name="weightDecay">Weight decay.</param>
    /// <param name="step">The step number t, starting at 1.</param>
    /// <param name="decoupled">AdamW's decoupled weight decay instead of L2 added to the gradient.</param>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> &lt; 1.</exception>
    public static void Adam(DeviceContext context, DeviceSpan<float> p, DeviceSpan<float> grad, DeviceSpan<float> m, DeviceSpan<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, long step, bool decoupled)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        context.Check(p, nameof(p));
        context.Check(grad, nameof(grad));
        context.Check(m, nameof(m));
        context.Check(v, nameof(v));
        if (grad.Length != p.Length || m.Length != p.Length || v.Length != p.Length)
        {
            throw new ArgumentException($"Adam spans differ in length: p {p.Length}, grad {grad.Length}, m {m.Length}, v {v.Length}.");
        }
        if (p.IsEmpty)
        {
            return;
        }
        // The same constants, computed the same way, as the CPU kernel.
        double bc1 = 1 - Math.Pow(beta1, step);
        double bc2 = 1 - Math.Pow(beta2, step);
        var args = new AdamArgs
        {
            Beta1 = beta1, Beta2 = beta2, C1 = 1f - beta1, C2 = 1f - beta2,
            L2 = decoupled ? 0f : weightDecay, Shrink = decoupled ? 1f - lr * weightDecay : 1f,
            StepSize = (float)(lr / bc1), Bc2Sqrt = (float)Math.Sqrt(bc2), Eps = eps,
        };
        var kernel = context.Kernel("Optimizer.Adam", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamArgs>(AdamKernel));
        var none = context.NoFloats;
        kernel(checked((int)p.Length), p.View(none), grad.View(none), m.View(none), v.View(none), args);
    }

    /// <summary>
    /// One SGD step, as <see cref="Cpu.OptimizerKernels.Sgd"/> (PyTorch: <c>torch.optim.SGD</c>): <c>d ← grad + wd·p</c>;
    /// with momentum μ, <c>buf ← d</c> on the first step, else <c>buf ← μ·buf + (1 − dampening)·d</c>, and
    /// <c>d ← nesterov ? d + μ·buf : buf</c>; then <c>p ← p − lr·d</c>.
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="p">Parameters, updated in place.</param>
    /// <param name="grad">Gradients, same length.</param>
    /// <param name="buf">Momentum buffer, updated; may be empty when <paramref name="momentum"/> is 0.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">μ.</param>
    /// <param name="dampening">Dampening.</param>
    /// <param name="weightDecay">L2 weight decay.</param>
    /// <param name="nesterov">Nesterov momentum.</param>
    /// <param name="firstStep">Whether the buffer is initialised by this step.</param>
    /// <exception cref="ArgumentException">The spans differ in length or live on another context.</exception>
    public static void Sgd(DeviceContext context, DeviceSpan<float> p, DeviceSpan<float> grad, DeviceSpan<float> buf,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(p, nameof(p));
        context.Check(grad, nameof(grad));
        context.Check(buf, nameof(buf));
        if (grad.Length != p.Length || (momentum != 0f && buf.Length != p.Length))
        {
            throw new ArgumentException($"SGD spans differ in length: p {p.Length}, grad {grad.Length}, buf {buf.Length}.");
        }
        if (p.IsEmpty)
        {
            return;
        }
        var args = new SgdArgs
        {
            Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay,
            Nesterov = nesterov ? 1 : 0, FirstStep = firstStep ? 1 : 0, HasMomentum = momentum != 0f ? 1 : 0,
        };
        var kernel = context.Kernel("Optimizer.Sgd", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdArgs>(SgdKernel));
        var none = context.NoFloats;
        kernel(checked((int)p.Length), p.View(none), grad.View(none), momentum != 0f ? buf.View(none) : none, args);
    }

    internal static void AdamKernel(Index1D i, ArrayView<float> p, ArrayView<float> grad, ArrayView<float> m, ArrayView<float> v, AdamArgs a)
    {
        float pv = p[i];
        float g = grad[i] + a.L2 * pv;
        pv *= a.Shrink;
        float mv = m[i] * a.Beta1 + g * a.C1;
        float vv = v[i] * a.Beta2 + g * g * a.C2;
        float denom = XMath.Sqrt(vv) / a.Bc2Sqrt + a.Eps;
        m[i] = mv;
        v[i] = vv;
        p[i] = pv - a.StepSize * (mv / denom);
    }

    internal static void SgdKernel(Index1D i, ArrayView<float> p, ArrayView<float> grad, ArrayView<float> buf, SgdArgs a)
    {
        float d = grad[i] + a.WeightDecay * p[i];
        if (a.HasMomentum != 0)
        {
            float b = a.FirstStep != 0 ? d : a.Momentum * buf[i] + (1f - a.Dampening) * d;
            buf[i] = b;
            d = a.Nesterov != 0 ? d + a.Momentum * b : b;
        }
        p[i] -= a.Lr * d;
    }
}
