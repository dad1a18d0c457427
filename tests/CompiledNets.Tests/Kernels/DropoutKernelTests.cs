using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary><see cref="PhiloxDropoutKernels"/> and <see cref="DropoutKernels"/>: the statistics of the mask, its scale, the edge probabilities, and the gradients.</summary>
public sealed class DropoutKernelTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.2f)]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    public void Keeps_about_1_minus_p_of_the_values_scaled_by_1_over_1_minus_p(float p)
    {
        const int n = 200_000;
        float[] x = Normal(n, 3, scale: 2);
        float[] y = (float[])x.Clone();
        float[] mask = new float[n];
        PhiloxDropoutKernels.Forward(y, mask, p, new PhiloxKey(42, 0, 0));
        float scale = 1f / (1f - p);
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.True(mask[i] == 0f || mask[i] == scale, $"mask[{i}] = {mask[i]}");
            Assert.Equal(x[i] * mask[i], y[i]);
            kept += mask[i] != 0f ? 1 : 0;
        }
        // The kept count is Binomial(n, 1 − p): 5 standard deviations is a bound a fixed seed never nears.
        double sd = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(kept, n * (1 - p) - 5 * sd, n * (1 - p) + 5 * sd);
        // The mean is preserved in expectation: mean(mask) ≈ 1.
        Assert.InRange(mask.Average(v => (double)v), 1 - 5 * sd / n * scale, 1 + 5 * sd / n * scale);
    }

    [Theory]
    [MemberData(nameof(ElementwiseKernelTests.AllLengths), MemberType = typeof(ElementwiseKernelTests))]
    public void P_zero_is_the_identity_and_p_one_gives_zeros(int n)
    {
        float[] x = Normal(n, (ulong)n);
        float[] y = (float[])x.Clone();
        float[] mask = Normal(n, 9);
        PhiloxDropoutKernels.Forward(y, mask, 0f, new PhiloxKey(1, 0, 0));
        Assert.Equal(x, y);
        Assert.All(mask, m => Assert.Equal(1f, m));

        PhiloxDropoutKernels.Forward(y, mask, 1f, new PhiloxKey(1, 0, 0));
        Assert.All(y, v => Assert.Equal(0f, Math.Abs(v)));
        Assert.All(mask, m => Assert.Equal(0f, m));
    }

    [Theory]
    [MemberData(nameof(ElementwiseKernelTests.AllLengths), MemberType = typeof(ElementwiseKernelTests))]
    public void The_same_seed_draws_the_same_mask_and_the_gradients_apply_it(int n)
    {
        float[] x = Normal(n, (ulong)n + 100);
        float[] y1 = (float[])x.Clone(), m1 = new float[n];
        float[] y2 = (float[])x.Clone(), m2 = new float[n];
        PhiloxDropoutKernels.Forward(y1, m1, 0.3f, new PhiloxKey(7, 0, 0));
        PhiloxDropoutKernels.Forward(y2, m2, 0.3f, new PhiloxKey(7, 0, 0));
        Assert.Equal(m1, m2);
        Assert.Equal(y1, y2);

        float[] g = Normal(n, (ulong)n + 200);
        float[] gd = (float[])g.Clone();
        DropoutKernels.Backward(gd, m1);
        Assert.Equal(g.Select((v, i) => v * m1[i]).ToArray(), gd);

        // ReLU then dropout: y = relu(x)·mask; the fused gradient is g·mask where y > 0, else 0.
        float[] yr = x.Select(v => Math.Max(v, 0f)).ToArray();
        float[] mr = new float[n];
        PhiloxDropoutKernels.Forward(yr, mr, 0.3f, new PhiloxKey(8, 0, 0));
        float[] gf = (float[])g.Clone();
        DropoutKernels.ReluBackward(gf, mr, yr);
        Assert.Equal(g.Select((v, i) => x[i] > 0 ? v * mr[i] : 0f).ToArray(), gf);
    }

    [Fact]
    public void Mismatched_lengths_throw()
    {
        Assert.Throws<ArgumentException>(() => PhiloxDropoutKernels.Forward(new float[3], new float[2], 0.5f, new PhiloxKey(1, 0, 0)));
        Assert.Throws<ArgumentException>(() => DropoutKernels.Backward(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => DropoutKernels.ReluBackward(new float[3], new float[3], new float[2]));
    }
}
