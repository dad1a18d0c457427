using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// <see cref="OptimizerKernels"/> (vector loop and scalar tail) against float64 transcriptions of
/// PyTorch 1.13's update rules, over three steps at every length edge. Tolerance 1e-6 relative to the
/// size of the terms (a parameter and its step, or the terms of a moving average, which may cancel).
/// </summary>
public sealed class OptimizerKernelTests
{
    public static TheoryData<int> AllLengths() => new(Lengths);

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Adam_and_AdamW_match_a_scalar_reference(int n)
    {
        foreach (bool decoupled in new[] { false, true })
        {
            const float lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.05f;
            float[] p = Normal(n, (ulong)n), m = new float[n], v = new float[n];
            double[] pr = p.Select(x => (double)x).ToArray(), mr = new double[n], vr = new double[n];
            double[] mAbs = new double[n]; // Σ|terms| of exp_avg: its float32 error scale (the terms may cancel)
            for (int step = 1; step <= 3; step++)
            {
                float[] grad = Normal(n, (ulong)(n * 10 + step));
                if (n > 1)
                {
                    grad[1] = 0f;
                }
                OptimizerKernels.Adam(p, grad, m, v, lr, b1, b2, eps, wd, step, decoupled);
                for (int i = 0; i < n; i++)
                {
                    double gi = grad[i];
                    if (decoupled)
                    {
                        pr[i] *= 1 - (double)lr * wd;
                    }
                    else
                    {
                        gi += wd * pr[i];
                    }
                    mAbs[i] = b1 * mAbs[i] + (1 - (double)b1) * Math.Abs(gi);
                    mr[i] = b1 * mr[i] + (1 - (double)b1) * gi;
                    vr[i] = b2 * vr[i] + (1 - (double)b2) * gi * gi;
                    double denom = Math.Sqrt(vr[i]) / Math.Sqrt(1 - Math.Pow(b2, step)) + eps;
                    pr[i] -= lr / (1 - Math.Pow(b1, step)) * mr[i] / denom;
                }
                AssertClose($"{(decoupled ? "AdamW" : "Adam")} n={n} step {step}", p, pr, i => 1e-6 * Math.Abs(pr[i]) + 1e-6 * lr);
                AssertClose($"exp_avg n={n} step {step}", m, mr, i => 1e-6 * mAbs[i] + 1e-12);
                AssertClose($"exp_avg_sq n={n} step {step}", v, vr, i => 1e-6 * Math.Abs(vr[i]) + 1e-12);
            }
        }
    }

    [Fact]
    public void BiasPower_is_Math_Pow_bit_for_bit_through_underflow_beta_changes_and_step_jumps()
    {
        var cache = default((float, long, double));
        var sequence = new List<(float Beta, long Step)>();
        for (long t = 1; t <= 8000; t++)
        {
            sequence.Add((0.9f, t)); // 0.9ᵗ underflows to 0 near t ≈ 7,070
        }
        sequence.AddRange([(0.9f, 20_000), (0.9f, 5), (0.5f, 6), (0.5f, 2000), (0.95f, 2001), (0f, 1), (0f, 2), (0.999f, 3)]);
        foreach (var (beta, step) in sequence)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(Math.Pow(beta, step)),
                BitConverter.DoubleToInt64Bits(OptimizerKernels.BiasPower(beta, step, ref cache)));
        }
        Assert.Equal(0.999f, cache.Item1);
    }

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void AdamCorrected_with_Math_Pow_corrections_is_Adam_bit_for_bit(int n)
    {
        float[] p = Normal(n, 5), m = Normal(n, 6), v = Normal(n, 7).Select(Math.Abs).ToArray(), grad = Normal(n, 8);
        float[] p2 = (float[])p.Clone(), m2 = (float[])m.Clone(), v2 = (float[])v.Clone();
        OptimizerKernels.Adam(p, grad, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 7, decoupled: true);
        OptimizerKernels.AdamCorrected(p2, grad, m2, v2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 1 - Math.Pow(0.9f, 7), 1 - Math.Pow(0.999f, 7), decoupled: true);
        Assert.Equal(p, p2);
        Assert.Equal(m, m2);
        Assert.Equal(v, v2);
    }

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Sgd_matches_a_scalar_reference(int n)
    {
        foreach (var (momentum, dampening, nesterov) in new[] { (0f, 0f, false), (0.9f, 0f, false), (0.9f, 0.1f, false), (0.8f, 0f, true) })
        {
            const float lr = 0.05f, wd = 1e-3f;
            float[] p = Normal(n, (ulong)n + 3), buf = new float[momentum != 0 ? n : 0];
            double[] pr = p.Select(x => (double)x).ToArray(), br = new double[n];
            for (int step = 1; step <= 3; step++)
            {
                float[] grad = Normal(n, (ulong)(n * 10 + step) + 3);
                OptimizerKernels.Sgd(p, grad, buf, lr, momentum, dampening, wd, nesterov, firstStep: step == 1);
                for (int i = 0; i < n; i++)
                {
                    double d = grad[i] + (double)wd * pr[i];
                    if (momentum != 0)
                    {
                        br[i] = step == 1 ? d : momentum * br[i] + (1 - (double)dampening) * d;
                        d = nesterov ? d + momentum * br[i] : br[i];
                    }
                    pr[i] -= lr * d;
                }
                AssertClose($"SGD(momentum {momentum}, dampening {dampening}, nesterov {nesterov}) n={n} step {step}", p, pr, i => 1e-6 * Math.Abs(pr[i]) + 1e-6 * lr);
            }
        }
    }
}
