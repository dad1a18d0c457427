using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary><see cref="ActivationKernels"/> and <see cref="SoftmaxKernels"/> against float64 scalar references at every length edge.</summary>
public sealed class ElementwiseKernelTests
{
    public static TheoryData<int> AllLengths() => new(Lengths);

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Activations_and_their_gradients_match_scalar_references(int n)
    {
        float[] x = Normal(n, (ulong)n + 1, scale: 4);
        if (n > 2)
        {
            x[1] = 0f;
            x[2] = -0f;
        }
        float[] g = Normal(n, (ulong)n + 2);

        float[] relu = (float[])x.Clone();
        ActivationKernels.Relu(relu);
        Assert.Equal(x.Select(v => v > 0 ? v : 0f).ToArray(), relu);
        float[] gr = (float[])g.Clone();
        ActivationKernels.ReluBackward(gr, relu);
        Assert.Equal(g.Select((v, i) => x[i] > 0 ? v : 0f).ToArray(), gr);

        float[] sig = (float[])x.Clone();
        ActivationKernels.Sigmoid(sig);
        double[] sigRef = x.Select(v => 1 / (1 + Math.Exp(-(double)v))).ToArray();
        AssertClose($"Sigmoid n={n}", sig, sigRef, i => 2e-7 * sigRef[i] + 1e-30);
        float[] gs = (float[])g.Clone();
        ActivationKernels.SigmoidBackward(gs, sig);
        AssertClose($"SigmoidBackward n={n}", gs, g.Select((v, i) => v * sigRef[i] * (1 - sigRef[i])).ToArray(), i => 1e-6 * Math.Abs(g[i]) * 0.25 + 1e-30);

        float[] tanh = (float[])x.Clone();
        ActivationKernels.Tanh(tanh);
        double[] tanhRef = x.Select(v => Math.Tanh(v)).ToArray();
        AssertClose($"Tanh n={n}", tanh, tanhRef, i => 3e-7 * Math.Abs(tanhRef[i]));
        float[] gt = (float[])g.Clone();
        ActivationKernels.TanhBackward(gt, tanh);
        AssertClose($"TanhBackward n={n}", gt, g.Select((v, i) => v * (1 - tanhRef[i] * tanhRef[i])).ToArray(), i => 1e-6 * Math.Abs(g[i]) + 1e-30);
    }

    [Fact]
    public void Tanh_keeps_its_relative_accuracy_near_zero_and_its_sign()
    {
        var x = new List<float> { 0f, -0f, float.Epsilon, 1e-30f, 1e-8f, -1e-8f, 1e-5f, 0.6249999f, 0.625f, -0.625f, 20f, -20f, 100f };
        var g = new Generator(5);
        for (int i = 0; i < 20_000; i++)
        {
            x.Add((float)((g.NextDouble() * 2 - 1) * Math.Pow(10, g.NextDouble() * 9 - 8))); // |x| in [1e-8, 10)
        }
        float[] y = x.ToArray();
        ActivationKernels.Tanh(y);
        AssertClose("Tanh", y, x.Select(v => Math.Tanh(v)).ToArray(), i => 3e-7 * Math.Abs(Math.Tanh(x[i])));
        Assert.True(float.IsNegative(y[1]) && y[1] == 0f, "tanh(-0) = -0");
        Assert.True(float.IsPositive(y[0]) && y[0] == 0f, "tanh(+0) = +0");
    }

    [Fact]
    public void Activation_gradients_reject_mismatched_lengths()
    {
        Assert.Throws<ArgumentException>(() => ActivationKernels.ReluBackward(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => ActivationKernels.SigmoidBackward(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => ActivationKernels.TanhBackward(new float[0], new float[1]));
    }

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Softmax_and_its_gradient_match_scalar_references(int features)
    {
        foreach (int rows in new[] { 0, 1, 3 })
        {
            float[] x = Normal(rows * features, (ulong)(features * 10 + rows), scale: 5);
            if (x.Length > 0)
            {
                x[0] = 80f; // exp(80) overflows float32: the kernel must subtract the row max
            }
            float[] y = (float[])x.Clone();
            SoftmaxKernels.Forward(y, rows, features);
            double[] yRef = Gradients.ReferenceModel.Softmax(x.Select(v => (double)v).ToArray(), rows, features);
            AssertClose($"Softmax rows {rows}, features {features}", y, yRef, i => 1e-6 * yRef[i] + 1e-12);
            for (int r = 0; r < rows && features > 0; r++)
            {
                Assert.Equal(1.0, y.Skip(r * features).Take(features).Sum(v => (double)v), 1e-5);
            }

            float[] g = Normal(rows * features, (ulong)(features * 10 + rows) + 5);
            float[] gx = (float[])g.Clone();
            SoftmaxKernels.Backward(gx, y, rows, features);
            var expected = new double[g.Length];
            var bound = new double[g.Length];
            for (int r = 0; r < rows; r++)
            {
                double dot = 0, dotAbs = 0;
                for (int j = 0; j < features; j++)
                {
                    dot += (double)g[r * features + j] * yRef[r * features + j];
                    dotAbs += Math.Abs((double)g[r * features + j] * yRef[r * features + j]);
                }
                for (int j = 0; j < features; j++)
                {
                    int i = r * features + j;
                    expected[i] = yRef[i] * (g[i] - dot);
                    bound[i] = 2e-6 * yRef[i] * (Math.Abs(g[i]) + dotAbs) + 1e-12;
                }
            }
            AssertClose($"SoftmaxBackward rows {rows}, features {features}", gx, expected, i => bound[i]);
        }
    }
}
