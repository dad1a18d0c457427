namespace CompiledNets.Tests.Kernels;

/// <summary>Lengths and seeded values for kernel tests.</summary>
internal static class KernelTestData
{
    /// <summary>Every edge of a Vector256 (8 floats) or Vector512 (16 floats) loop and its scalar tail.</summary>
    public static readonly int[] Lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 63, 64, 65, 100, 257];

    public static float[] Normal(int n, ulong seed, double scale = 1.0)
    {
        var g = new Generator(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(scale * g.NextNormal());
        }
        return a;
    }

    /// <summary>Asserts <c>|actual − expected| ≤ tol[i]</c> element-wise, naming the first failure.</summary>
    public static void AssertClose(string what, ReadOnlySpan<float> actual, double[] expected, Func<int, double> tol)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= tol(i)))
            {
                throw new Xunit.Sdk.XunitException($"{what}: [{i}] actual {actual[i]:R}, expected {expected[i]:R}, error {err:E2} > {tol(i):E2}");
            }
        }
    }

    /// <summary>
    /// The float64 reference of <c>y = x·Wᵀ + b</c> (then ReLU) and, per element, an error bound for a float32
    /// kernel: 1e-6 × the sum of the absolute terms, plus 1e-7.
    /// </summary>
    public static (double[] Expected, double[] Bound) LinearForwardReference(
        float[] x, float[] w, float[] b, bool bias, bool relu, int batch, int n, int m)
    {
        var expected = new double[batch * m];
        var bound = new double[batch * m];
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < m; o++)
            {
                double s = bias ? b[o] : 0, abs = bias ? Math.Abs(b[o]) : 0;
                for (int k = 0; k < n; k++)
                {
                    double t = (double)x[r * n + k] * w[o * n + k];
                    s += t;
                    abs += Math.Abs(t);
                }
                expected[r * m + o] = relu ? Math.Max(s, 0) : s;
                bound[r * m + o] = 1e-6 * abs + 1e-7;
            }
        }
        return (expected, bound);
    }
}
