using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// <see cref="SoftmaxKernels.CrossEntropy"/> (row losses and gradient in one pass) against a float64 transcription of
/// PyTorch 1.13's <c>cross_entropy</c> with weights, <c>ignore_index</c> and label smoothing, for every class count
/// 1…33 (both sides of the scalar-row threshold of 16) and batches at the vector edges of the one <c>exp</c> over the batch.
/// </summary>
public sealed class CrossEntropyKernelTests
{
    public static TheoryData<int> ClassCounts() => new(Enumerable.Range(1, 33));

    [Theory]
    [MemberData(nameof(ClassCounts))]
    public void Row_losses_and_gradient_match_a_float64_reference(int classes)
    {
        foreach (int batch in new[] { 1, 2, 5, 15, 16, 17, 33 })
        {
            foreach (bool weighted in new[] { false, true })
            {
                foreach (float eps in new[] { 0f, 0.1f })
                {
                    Check(batch, classes, weighted, eps, ignore: batch > 2);
                }
            }
        }
    }

    [Fact]
    public void Large_logits_stay_finite()
    {
        float[] x = [1000f, -1000f, 999f, 88.8f, 88.7f, -88.9f];
        var rowLoss = new float[2];
        var grad = new float[6];
        SoftmaxKernels.CrossEntropy(x, [1, 0], 2, 3, default, -100, 0f, rowLoss, grad, new float[4]);
        Assert.Equal(2000 + Math.Log(1 + Math.Exp(-1)), rowLoss[0], 1e-3); // lse − x₁ = 1000 + log(1 + e⁻¹) + 1000
        Assert.All(grad, g => Assert.True(float.IsFinite(g)));
        Assert.Equal(-1.0, grad[1], 1e-6);
    }

    [Fact]
    public void Short_spans_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            SoftmaxKernels.CrossEntropy(new float[6], new int[2], 2, 3, default, -100, 0f, new float[2], new float[6], new float[3]));
        Assert.Contains("scratch 3 (≥ 4)", e.Message);
    }

    private static void Check(int batch, int classes, bool weighted, float eps, bool ignore)
    {
        ulong seed = (ulong)(batch * 1000 + classes * 10 + (weighted ? 1 : 0));
        float[] x = Normal(batch * classes, seed, scale: 3.0);
        float[] w = weighted ? Normal(classes, seed + 7).Select(v => 0.5f + Math.Abs(v)).ToArray() : [];
        int[] y = new int[batch];
        var g = new Generator(seed + 3);
        for (int r = 0; r < batch; r++)
        {
            y[r] = (int)(g.NextUInt64() % (ulong)classes);
        }
        if (ignore)
        {
            y[1] = -100;
        }
        var rowLoss = new float[batch];
        var grad = new float[batch * classes];
        double divisor = SoftmaxKernels.CrossEntropy(x, y, batch, classes, w, -100, eps, rowLoss, grad, new float[2 * batch]);

        double expectedDivisor = 0;
        var lossRef = new double[batch];
        var gradRef = new double[batch * classes];
        double totalW = weighted ? w.Sum(v => (double)v) : classes;
        for (int r = 0; r < batch; r++)
        {
            if (y[r] == -100)
            {
                continue;
            }
            double max = double.NegativeInfinity;
            for (int j = 0; j < classes; j++)
            {
                max = Math.Max(max, x[r * classes + j]);
            }
            double sum = 0;
            for (int j = 0; j < classes; j++)
            {
                sum += Math.Exp(x[r * classes + j] - max);
            }
            double lse = max + Math.Log(sum);
            double wy = weighted ? w[y[r]] : 1;
            expectedDivisor += wy;
            double smooth = 0;
            for (int j = 0; j < classes; j++)
            {
                double wj = weighted ? w[j] : 1;
                double p = Math.Exp(x[r * classes + j] - lse);
                smooth += wj * (lse - x[r * classes + j]);
                gradRef[r * classes + j] = (1 - (double)eps) * wy * (p - (j == y[r] ? 1 : 0)) + eps / (double)classes * (totalW * p - wj);
            }
            lossRef[r] = (1 - (double)eps) * wy * (lse - x[r * classes + y[r]]) + eps / (double)classes * smooth;
        }
        string what = $"batch {batch}, classes {classes}, weighted {weighted}, ε {eps}";
        Assert.Equal(expectedDivisor, divisor, 1e-6);
        // float32 log-sum-exp of logits up to ≈ 10: errors of a few ulp of the logits' size.
        AssertClose($"row loss, {what}", rowLoss, lossRef, i => 1e-5 * (1 + Math.Abs(lossRef[i])) * (1 + (weighted ? totalW : 1)));
        AssertClose($"gradient, {what}", grad, gradRef, i => 2e-6 * (1 + totalW));
    }
}
