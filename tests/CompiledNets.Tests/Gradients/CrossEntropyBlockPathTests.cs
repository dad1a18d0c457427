using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>
/// <see cref="CrossEntropyLoss"/> at batches that take the 16-row vectorised path of <c>SoftmaxKernels.CrossEntropy</c>
/// (and its scalar tail), with ignored rows, every reduction and an upstream gradient, against a float64 reference.
/// The PyTorch fixtures use 7 rows, which stay on the scalar path.
/// </summary>
public sealed class CrossEntropyBlockPathTests
{
    public static TheoryData<int, int, Reduction> Cases()
    {
        var data = new TheoryData<int, int, Reduction>();
        foreach (int batch in new[] { 16, 33 })
        {
            foreach (int classes in new[] { 1, 3, 16, 17 })
            {
                foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
                {
                    data.Add(batch, classes, reduction);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_and_gradient_with_ignored_rows_match_a_float64_reference(int batch, int classes, Reduction reduction)
    {
        var g = new Generator((ulong)(batch * 100 + classes));
        float[] x = Enumerable.Range(0, batch * classes).Select(_ => (float)(4 * g.NextNormal())).ToArray();
        int[] y = Enumerable.Range(0, batch).Select(_ => g.NextInt(classes)).ToArray();
        y[1] = -100;
        y[batch - 2] = -100;
        float[] upstream = Enumerable.Range(0, batch).Select(_ => (float)g.NextNormal()).ToArray();
        var loss = new CrossEntropyLoss(reduction);
        var value = loss.Forward(Tensor.FromArray(x, batch, classes), IntTensor.FromArray(y));

        var rowLoss = new double[batch];
        var rowGrad = new double[batch * classes];
        int counted = 0;
        for (int r = 0; r < batch; r++)
        {
            if (y[r] == -100)
            {
                continue;
            }
            counted++;
            double max = Enumerable.Range(0, classes).Max(j => (double)x[r * classes + j]);
            double lse = max + Math.Log(Enumerable.Range(0, classes).Sum(j => Math.Exp(x[r * classes + j] - max)));
            rowLoss[r] = lse - x[r * classes + y[r]];
            for (int j = 0; j < classes; j++)
            {
                rowGrad[r * classes + j] = Math.Exp(x[r * classes + j] - lse) - (j == y[r] ? 1 : 0);
            }
        }
        Tensor gradient;
        double[] u = new double[batch];
        if (reduction == Reduction.None)
        {
            Assert.Equal(rowLoss.Select(v => (float)v).ToArray(), value.ToTensor().ToArray(), new Close(1e-5));
            gradient = Tensor.FromArray(upstream, batch);
            for (int r = 0; r < batch; r++)
            {
                u[r] = upstream[r];
            }
        }
        else
        {
            double expected = reduction == Reduction.Mean ? rowLoss.Sum() / counted : rowLoss.Sum();
            Assert.Equal(expected, value.Item(), 1e-5 * Math.Max(1, Math.Abs(expected)));
            gradient = Tensor.FromArray([2.5f]).Reshape();
            Array.Fill(u, reduction == Reduction.Mean ? 2.5 / counted : 2.5);
        }
        var grad = loss.InputGradFor(gradient).ToArray();
        for (int i = 0; i < grad.Length; i++)
        {
            double e = u[i / classes] * rowGrad[i];
            Assert.True(Math.Abs(grad[i] - e) <= 1e-6 * (1 + Math.Abs(u[i / classes])), $"[{i / classes}, {i % classes}]: {grad[i]} vs {e}");
        }
        Assert.All(grad.Skip(classes).Take(classes), v => Assert.Equal(0f, v)); // row 1 is ignored
    }

    [Fact]
    public void All_rows_ignored_give_a_NaN_mean_and_a_zero_gradient()
    {
        const int batch = 32, classes = 3;
        var loss = new CrossEntropyLoss();
        var value = loss.Forward(Tensor.FromArray(new float[batch * classes], batch, classes), IntTensor.FromArray(Enumerable.Repeat(-100, batch).ToArray()));
        Assert.True(float.IsNaN(value.Item()));
        Assert.All(loss.InputGrad.ToArray(), v => Assert.Equal(0f, v));
    }

    private sealed class Close(double tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(b));

        public int GetHashCode(float v) => 0;
    }
}
