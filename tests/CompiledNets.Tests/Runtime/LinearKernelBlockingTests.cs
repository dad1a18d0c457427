using CompiledNets.Kernels.Cpu;
using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>The register-blocked Linear backward kernels against a float64 scalar reference, across block and vector tails.</summary>
public class LinearKernelBlockingTests
{
    public static TheoryData<int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int batch in new[] { 1, 3, 4, 5, 9 })
        {
            foreach (int inF in new[] { 1, 7, 8, 9, 17 })
            {
                foreach (int outF in new[] { 1, 3, 4, 6, 8 })
                {
                    data.Add(batch, inF, outF);
                }
            }
        }
        return data;
    }

    private static float[] Random(int n, ulong seed)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, n).Select(_ => g.NextFloat() * 2 - 1).ToArray();
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void BackwardInputAndWeightMatchTheReference(int batch, int inF, int outF)
    {
        float[] x = Random(batch * inF, 1), w = Random(outF * inF, 2), dy = Random(batch * outF, 3);
        float[] dw0 = Random(outF * inF, 4);
        var dx = new float[batch * inF];
        var dw = (float[])dw0.Clone();
        LinearKernels.BackwardInput(dy, w, dx, batch, inF, outF);
        LinearKernels.BackwardWeight(dy, x, dw, batch, inF, outF);
        for (int r = 0; r < batch; r++)
        {
            for (int k = 0; k < inF; k++)
            {
                double s = 0;
                for (int o = 0; o < outF; o++)
                {
                    s += (double)dy[r * outF + o] * w[o * inF + k];
                }
                Assert.Equal(s, dx[r * inF + k], 1e-5);
            }
        }
        for (int o = 0; o < outF; o++)
        {
            for (int k = 0; k < inF; k++)
            {
                double s = dw0[o * inF + k];
                for (int r = 0; r < batch; r++)
                {
                    s += (double)dy[r * outF + o] * x[r * inF + k];
                }
                Assert.Equal(s, dw[o * inF + k], 1e-5);
            }
        }
    }
}
