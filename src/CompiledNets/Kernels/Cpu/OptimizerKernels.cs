using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CompiledNets.Kernels.Cpu;

/// <summary>Element-wise optimizer updates over flat spans of parameters, gradients and state, Vector256 with a scalar tail
/// (the same float32 expression in both, so a value's update does not depend on where it falls).</summary>
public static class OptimizerKernels
{
    /// <summary>
    /// One Adam step (Kingma and Ba, 2015; PyTorch 1.13 <c>torch.optim.Adam</c>, and with
    /// <paramref name="decoupled"/> AdamW of Loshchilov and Hutter, 2019):
    /// <c>g ← grad + wd·p</c> (Adam) or <c>p ← p·(1 − lr·wd)</c> (AdamW);
    /// <c>m ← β₁m + (1 − β₁)g</c>; <c>v ← β₂v + (1 − β₂)g²</c>;
    /// <c>p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)</c>.
    /// </summary>
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
    public static void Adam(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, long step, bool decoupled)
    {
        AdamCorrected(p, grad, m, v, lr, beta1, beta2, eps, weightDecay, 1 - Math.Pow(beta1, step), 1 - Math.Pow(beta2, step), decoupled);
    }

    /// <summary>
    /// <see cref="Adam"/> with the bias corrections given: <paramref name="bc1"/> = <c>1 − β₁ᵗ</c>, <paramref name="bc2"/> = <c>1 − β₂ᵗ</c>
    /// (an optimizer computes them once per step, see <see cref="BiasPower"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void AdamCorrected(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, double bc1, double bc2, bool decoupled)
    {
        int n = p.Length;
        if (grad.Length != n || m.Length != n || v.Length != n)
        {
            throw new ArgumentException($"Adam spans differ in length: p {n}, grad {grad.Length}, m {m.Length}, v {v.Length}.");
        }
        float stepSize = (float)(lr / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float l2 = decoupled ? 0f : weightDecay;
        float shrink = decoupled ? 1f - lr * weightDecay : 1f;
        float c1 = 1f - beta1, c2 = 1f - beta2;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float gp = ref MemoryMarshal.GetReference(grad);
        ref float mp = ref MemoryMarshal.GetReference(m);
        ref float vp = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // The same float operations as the Vector256 and scalar loops below, sixteen at a time.
            var vb1 = Vector512.Create(beta1); var vb2 = Vector512.Create(beta2);
            var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var vl2 = Vector512.Create(l2); var vshrink = Vector512.Create(shrink);
            var vstep = Vector512.Create(stepSize); var vbc2 = Vector512.Create(bc2Sqrt); var veps = Vector512.Create(eps);
            for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
            {
                var pv = Vector512.LoadUnsafe(ref pp, (nuint)i);
                var g = Vector512.LoadUnsafe(ref gp, (nuint)i) + vl2 * pv;
                pv *= vshrink;
                var mv = Vector512.LoadUnsafe(ref mp, (nuint)i) * vb1 + g * vc1;
                var vv = Vector512.LoadUnsafe(ref vp, (nuint)i) * vb2 + g * g * vc2;
                var denom = Vector512.Sqrt(vv) / vbc2 + veps;
                pv -= vstep * (mv / denom);
                mv.StoreUnsafe(ref mp, (nuint)i);
                vv.StoreUnsafe(ref vp, (nuint)i);
                pv.StoreUnsafe(ref pp, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var vb1 = Vector256.Create(beta1); var vb2 = Vector256.Create(beta2);
            var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
            var vl2 = Vector256.Create(l2); var vshrink = Vector256.Create(shrink);
            var vstep = Vector256.Create(stepSize); var vbc2 = Vector256.Create(bc2Sqrt); var veps = Vector256.Create(eps);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                var pv = Vector256.LoadUnsafe(ref pp, (nuint)i);
                var g = Vector256.LoadUnsafe(ref gp, (nuint)i) + vl2 * pv;
                pv *= vshrink;
                var mv = Vector256.LoadUnsafe(ref mp, (nuint)i) * vb1 + g * vc1;
                var vv = Vector256.LoadUnsafe(ref vp, (nuint)i) * vb2 + g * g * vc2;
                var denom = Vector256.Sqrt(vv) / vbc2 + veps;
                pv -= vstep * (mv / denom);
                mv.StoreUnsafe(ref mp, (nuint)i);
                vv.StoreUnsafe(ref vp, (nuint)i);
                pv.StoreUnsafe(ref pp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pp, i);
            float g = Unsafe.Add(ref gp, i) + l2 * pv;
            pv *= shrink;
            float mv = Unsafe.Add(ref mp, i) * beta1 + g * c1;
            float vv = Unsafe.Add(ref vp, i) * beta2 + g * g * c2;
            float denom = MathF.Sqrt(vv) / bc2Sqrt + eps;
            Unsafe.Add(ref mp, i) = mv;
            Unsafe.Add(ref vp, i) = vv;
            Unsafe.Add(ref pp, i) = pv - stepSize * (mv / denom);
        }
    }

    /// <summary>
    /// <c>βᵗ</c> as <see cref="Math.Pow"/> gives it, remembering the last result in <paramref name="cache"/>: once it has
    /// underflowed to 0 for some <c>t</c> it is 0 for every larger <c>t</c> (0 ≤ β &lt; 1), which skips the C library's slow
    /// underflow path (β₁ = 0.9 underflows after ≈ 7,000 steps, and every step after that paid it). Bit for bit
    /// <c>Math.Pow(beta, step)</c>.
    /// </summary>
    /// <param name="beta">β in [0, 1).</param>
    /// <param name="step">t ≥ 1.</param>
    /// <param name="cache">The last (β, t, βᵗ) computed; updated.</param>
    public static double BiasPower(float beta, long step, ref (float Beta, long Step, double Power) cache)
    {
        if (cache.Power == 0 && cache.Beta == beta && step >= cache.Step && cache.Step > 0 && beta >= 0f && beta < 1f)
        {
            return 0;
        }
        double power = Math.Pow(beta, step);
        cache = (beta, step, power);
        return power;
    }

    /// <summary>
    /// One SGD step (PyTorch: <c>torch.optim.SGD</c>): <c>d ← grad + wd·p</c>; with momentum μ,
    /// <c>buf ← d</c> on the first step, else <c>buf ← μ·buf + (1 − dampening)·d</c>, and
    /// <c>d ← nesterov ? d + μ·buf : buf</c>; then <c>p ← p − lr·d</c>.
    /// </summary>
    /// <param name="p">Parameters, updated in place.</param>
    /// <param name="grad">Gradients, same length.</param>
    /// <param name="buf">Momentum buffer (<c>momentum_buffer</c>), updated; ignored when <paramref name="momentum"/> is 0.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">μ.</param>
    /// <param name="dampening">Dampening.</param>
    /// <param name="weightDecay">L2 weight decay.</param>
    /// <param name="nesterov">Nesterov momentum.</param>
    /// <param name="firstStep">Whether the buffer is initialised by this step.</param>
    public static void Sgd(Span<float> p, ReadOnlySpan<float> grad, Span<float> buf,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep)
    {
        int n = p.Length;
        if (grad.Length != n || (momentum != 0f && buf.Length != n))
        {
            throw new ArgumentException($"SGD spans differ in length: p {n}, grad {grad.Length}, buf {buf.Length}.");
        }
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float gp = ref MemoryMarshal.GetReference(grad);
        ref float bp = ref MemoryMarshal.GetReference(buf);
        float keep = 1f - dampening;
        bool hasMomentum = momentum != 0f;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vwd = Vector256.Create(weightDecay); var vmom = Vector256.Create(momentum);
            var vkeep = Vector256.Create(keep); var vlr = Vector256.Create(lr);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                var pv = Vector256.LoadUnsafe(ref pp, (nuint)i);
                var d = Vector256.LoadUnsafe(ref gp, (nuint)i) + vwd * pv;
                if (hasMomentum)
                {
                    var b = firstStep ? d : vmom * Vector256.LoadUnsafe(ref bp, (nuint)i) + vkeep * d;
                    b.StoreUnsafe(ref bp, (nuint)i);
                    d = nesterov ? d + vmom * b : b;
                }
                (pv - vlr * d).StoreUnsafe(ref pp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref gp, i) + weightDecay * Unsafe.Add(ref pp, i);
            if (hasMomentum)
            {
                float b = firstStep ? d : momentum * Unsafe.Add(ref bp, i) + keep * d;
                Unsafe.Add(ref bp, i) = b;
                d = nesterov ? d + momentum * b : b;
            }
            Unsafe.Add(ref pp, i) -= lr * d;
        }
    }
}
