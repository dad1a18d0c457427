using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// <see cref="LinearKernels"/> against float64 scalar references over every edge of the 4-row
/// blocking (out features 1…9) and of the vector loop over in features (0…65). Tolerance: 1e-6
/// relative to <c>Σ|terms|</c> (the float32 error bound of a sum), plus 1e-7.
/// </summary>
public sealed class LinearKernelTests
{
    private static readonly int[] OutSizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 17];
    private static readonly int[] Batches = [0, 1, 3, 5];

    [Fact]
    public void Forward_matches_a_scalar_reference_for_every_size_edge()
    {
        foreach (int n in Lengths.Where(l => l <= 65))
        {
            foreach (int m in OutSizes)
            {
                foreach (int batch in Batches)
                {
                    ulong seed = (ulong)(n * 10000 + m * 100 + batch);
                    float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), b = Normal(m, seed + 2);
                    foreach (bool bias in new[] { true, false })
                    {
                        foreach (bool relu in new[] { false, true })
                        {
                            var y = Normal(batch * m, seed + 3); // garbage: must be overwritten
                            LinearKernels.Forward(x, w, bias ? b : default, y, batch, n, m, relu);
                            var (expected, bound) = LinearForwardReference(x, w, b, bias, relu, batch, n, m);
                            AssertClose($"Forward batch {batch}, in {n}, out {m}, bias {bias}, relu {relu}", y, expected, i => bound[i]);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Backward_kernels_match_scalar_references_for_every_size_edge()
    {
        foreach (int n in Lengths.Where(l => l <= 65))
        {
            foreach (int m in OutSizes)
            {
                foreach (int batch in Batches)
                {
                    ulong seed = (ulong)(n * 10000 + m * 100 + batch) + 7;
                    float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), dy = Normal(batch * m, seed + 2);
                    if (dy.Length > 0)
                    {
                        dy[0] = 0f; // the kernels skip zero gradients: that path too
                    }
                    float[] dx = Normal(batch * n, seed + 3);       // overwritten
                    float[] dw0 = Normal(m * n, seed + 4), dw = (float[])dw0.Clone(); // accumulated into
                    float[] db0 = Normal(m, seed + 5), db = (float[])db0.Clone();
                    LinearKernels.BackwardInput(dy, w, dx, batch, n, m);
                    LinearKernels.BackwardWeight(dy, x, dw, batch, n, m);
                    LinearKernels.BackwardBias(dy, db, batch, m);

                    var edx = new double[batch * n];
                    var tdx = new double[batch * n];
                    for (int r = 0; r < batch; r++)
                    {
                        for (int k = 0; k < n; k++)
                        {
                            for (int o = 0; o < m; o++)
                            {
                                edx[r * n + k] += (double)dy[r * m + o] * w[o * n + k];
                                tdx[r * n + k] += Math.Abs((double)dy[r * m + o] * w[o * n + k]);
                            }
                        }
                    }
                    var edw = dw0.Select(v => (double)v).ToArray();
                    var tdw = dw0.Select(v => Math.Abs((double)v)).ToArray();
                    for (int o = 0; o < m; o++)
                    {
                        for (int k = 0; k < n; k++)
                        {
                            for (int r = 0; r < batch; r++)
                            {
                                edw[o * n + k] += (double)dy[r * m + o] * x[r * n + k];
                                tdw[o * n + k] += Math.Abs((double)dy[r * m + o] * x[r * n + k]);
                            }
                        }
                    }
                    var edb = db0.Select(v => (double)v).ToArray();
                    var tdb = db0.Select(v => Math.Abs((double)v)).ToArray();
                    for (int r = 0; r < batch; r++)
                    {
                        for (int o = 0; o < m; o++)
                        {
                            edb[o] += dy[r * m + o];
                            tdb[o] += Math.Abs(dy[r * m + o]);
                        }
                    }
                    string where = $"batch {batch}, in {n}, out {m}";
                    AssertClose("BackwardInput " + where, dx, edx, i => 1e-6 * tdx[i] + 1e-7);
                    AssertClose("BackwardWeight " + where, dw, edw, i => 1e-6 * tdw[i] + 1e-7);
                    AssertClose("BackwardBias " + where, db, edb, i => 1e-6 * tdb[i] + 1e-7);
                }
            }
        }
    }

    [Fact]
    public void Mismatched_lengths_throw()
    {
        Assert.Throws<ArgumentException>(() => LinearKernels.Forward(new float[6], new float[6], default, new float[3], 2, 3, 2));
        Assert.Throws<ArgumentException>(() => LinearKernels.Forward(new float[6], new float[6], new float[3], new float[4], 2, 3, 2));
        Assert.Throws<ArgumentException>(() => LinearKernels.BackwardInput(new float[4], new float[6], new float[5], 2, 3, 2));
        Assert.Throws<ArgumentException>(() => LinearKernels.BackwardWeight(new float[4], new float[6], new float[5], 2, 3, 2));
        Assert.Throws<ArgumentException>(() => LinearKernels.BackwardBias(new float[4], new float[3], 2, 2));
    }
}
