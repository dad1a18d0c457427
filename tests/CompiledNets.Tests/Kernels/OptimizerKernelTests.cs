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

    // Lengths around the chunk a thread claims and the vector widths inside it: one value, a vector ± 1, a chunk ± 1,
    // a few chunks with a ragged tail.
    private const int C = OptimizerKernels.ChunkLength;

    public static TheoryData<int> ThreadedLengths() => new([1, 15, 17, C - 1, C, C + 1, C + 8, 2 * C + 17, 3 * C - 9, 5 * C + 31]);

    [Theory]
    [MemberData(nameof(ThreadedLengths))]
    public void Adam_on_several_threads_is_bitwise_the_one_thread_result(int n)
    {
        foreach (bool decoupled in new[] { false, true })
        {
            float[] p1 = Normal(n, 11), m1 = Normal(n, 12), v1 = Normal(n, 13).Select(Math.Abs).ToArray();
            float[] before = (float[])p1.Clone();
            foreach (int threads in new[] { 2, 3, 4 })
            {
                float[] p = (float[])p1.Clone(), m = (float[])m1.Clone(), v = (float[])v1.Clone();
                float[] pRef = (float[])p1.Clone(), mRef = (float[])m1.Clone(), vRef = (float[])v1.Clone();
                for (int step = 1; step <= 2; step++)
                {
                    float[] grad = Normal(n, (ulong)(20 + step));
                    double bc1 = 1 - Math.Pow(0.9f, step), bc2 = 1 - Math.Pow(0.999f, step);
                    OptimizerKernels.AdamCorrectedOn(pRef, grad, mRef, vRef, 0.01f, 0.9f, 0.999f, 1e-8f, 0.05f, bc1, bc2, decoupled, threads: 1);
                    OptimizerKernels.AdamCorrectedOn(p, grad, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0.05f, bc1, bc2, decoupled, threads);
                }
                Assert.Equal(pRef, p);
                Assert.Equal(mRef, m);
                Assert.Equal(vRef, v);
                Assert.NotEqual(before[^1], p[^1]); // the last value (the tail of the last chunk) was updated
            }
        }
    }

    [Theory]
    [MemberData(nameof(ThreadedLengths))]
    public void Sgd_on_several_threads_is_bitwise_the_one_thread_result(int n)
    {
        foreach (var (momentum, dampening, nesterov) in new[] { (0f, 0f, false), (0.9f, 0.1f, false), (0.8f, 0f, true) })
        {
            foreach (int threads in new[] { 2, 3 })
            {
                float[] p = Normal(n, 31), pRef = (float[])p.Clone();
                float[] buf = new float[momentum != 0 ? n : 0], bufRef = new float[buf.Length];
                for (int step = 1; step <= 2; step++)
                {
                    float[] grad = Normal(n, (ulong)(40 + step));
                    OptimizerKernels.SgdOn(pRef, grad, bufRef, 0.05f, momentum, dampening, 1e-3f, nesterov, step == 1, threads: 1);
                    OptimizerKernels.SgdOn(p, grad, buf, 0.05f, momentum, dampening, 1e-3f, nesterov, step == 1, threads);
                }
                Assert.Equal(pRef, p);
                Assert.Equal(bufRef, buf);
                Assert.NotEqual(Normal(n, 31)[^1], p[^1]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ThreadedLengths))]
    public void Zero_on_several_threads_clears_every_value_and_nothing_else(int n)
    {
        float[] block = Normal(n + 2, 50);
        block[0] = block[^1] = 7f;
        OptimizerKernels.ZeroOn(block.AsSpan(1, n), threads: 3);
        Assert.Equal(7f, block[0]);
        Assert.Equal(7f, block[^1]);
        Assert.All(block[1..^1], x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Optimizer_steps_use_threads_only_for_blocks_worth_them()
    {
        int saved = Threads.Count;
        try
        {
            Threads.Count = 4;
            Assert.Equal(1, OptimizerKernels.ThreadsFor(17_226));                 // the digits net: one thread
            Assert.Equal(2, OptimizerKernels.ThreadsFor(2 * OptimizerKernels.MinElementsPerThread));
            Assert.Equal(4, OptimizerKernels.ThreadsFor(1_863_690));             // 784→1024→1024→10
            Assert.Equal(1, OptimizerKernels.ThreadsFor(64 * 1024, OptimizerKernels.MinZeroElementsPerThread));
            Assert.Equal(4, OptimizerKernels.ThreadsFor(1_863_690, OptimizerKernels.MinZeroElementsPerThread));
            Threads.Count = 1;
            Assert.Equal(1, OptimizerKernels.ThreadsFor(1_863_690));
        }
        finally
        {
            Threads.Count = saved;
        }
    }

    [Fact]
    public void Threaded_steps_and_clears_allocate_nothing()
    {
        int n = 4 * C + 5;
        float[] p = Normal(n, 60), g = Normal(n, 61), m = new float[n], v = new float[n];
        Assert.Equal(0, Allocations.PerCall(() =>
        {
            OptimizerKernels.AdamCorrectedOn(p, g, m, v, 0f, 0.9f, 0.999f, 1e-8f, 0f, 0.1, 0.001, false, threads: 2);
            OptimizerKernels.SgdOn(p, g, m, 0f, 0.9f, 0f, 0f, false, false, threads: 2);
            OptimizerKernels.ZeroOn(v, threads: 2);
        }, calls: 20));
    }
}
