using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// The narrow-layer kernel (<see cref="SmallGemm"/>) in its three layouts against float64 references, at every edge
/// of its 4-row tile (rows 0…9), of its 16- and 8-column vector tiles and masked tail (columns 1…33), and of the depth
/// (0, 1, vector width ± 1). Tolerance: 1e-6 relative to <c>Σ|terms|</c> plus 1e-7.
/// </summary>
public sealed class SmallGemmTests
{
    private static readonly int[] Rows = [0, 1, 2, 3, 4, 5, 7, 8, 9];
    private static readonly int[] Columns = [1, 2, 3, 4, 7, 8, 9, 10, 15, 16, 17, 24, 31, 32, 33];
    private static readonly int[] Depths = [0, 1, 3, 4, 7, 8, 9, 16, 17];

    [Fact]
    public void Forward_matches_a_float64_reference_at_every_tile_edge()
    {
        if (!SmallGemm.IsSupported)
        {
            return; // no AVX/FMA: LinearKernels keeps the row kernels
        }
        foreach (int batch in Rows)
        {
            foreach (int m in Columns)
            {
                foreach (int n in Depths)
                {
                    ulong seed = (ulong)(batch * 10000 + m * 100 + n) + 3;
                    float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), b = Normal(m, seed + 2);
                    foreach (bool bias in new[] { true, false })
                    {
                        foreach (bool relu in new[] { false, true })
                        {
                            var y = Normal(batch * m + 9, seed + 3); // garbage to overwrite, and a guard after the end
                            float guard = y[^1];
                            SmallGemm.Forward(x, w, bias ? b : default, y.AsSpan(0, batch * m), batch, n, m, relu);
                            var (expected, bound) = LinearForwardReference(x, w, b, bias, relu, batch, n, m);
                            AssertClose($"SmallGemm.Forward batch {batch}, in {n}, out {m}, bias {bias}, relu {relu}",
                                y.AsSpan(0, batch * m), expected, i => bound[i]);
                            Assert.Equal(guard, y[^1]);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Backward_layouts_match_float64_references_at_every_tile_edge()
    {
        if (!SmallGemm.IsSupported)
        {
            return; // no AVX/FMA: LinearKernels keeps the row kernels
        }
        foreach (int batch in Rows.Concat([16, 17, 33]))
        {
            foreach (int n in Columns)
            {
                foreach (int m in Depths.Where(d => d > 0).Concat([10, 33]))
                {
                    ulong seed = (ulong)(batch * 10000 + n * 100 + m) + 5;
                    float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), dy = Normal(batch * m, seed + 2);
                    float[] dx = Normal(batch * n + 1, seed + 3);                          // overwritten, guard at the end
                    float[] dw0 = Normal(m * n + 1, seed + 4), dw = (float[])dw0.Clone();  // accumulated into, guard
                    SmallGemm.BackwardInput(dy, w, dx.AsSpan(0, batch * n), batch, n, m);
                    SmallGemm.BackwardWeight(dy, x, dw.AsSpan(0, m * n), batch, n, m);
                    var edx = new double[batch * n];
                    var tdx = new double[batch * n];
                    var edw = dw0.Take(m * n).Select(v => (double)v).ToArray();
                    var tdw = dw0.Take(m * n).Select(v => Math.Abs((double)v)).ToArray();
                    for (int r = 0; r < batch; r++)
                    {
                        for (int o = 0; o < m; o++)
                        {
                            double g = dy[r * m + o];
                            for (int k = 0; k < n; k++)
                            {
                                edx[r * n + k] += g * w[o * n + k];
                                tdx[r * n + k] += Math.Abs(g * w[o * n + k]);
                                edw[o * n + k] += g * x[r * n + k];
                                tdw[o * n + k] += Math.Abs(g * x[r * n + k]);
                            }
                        }
                    }
                    string where = $"batch {batch}, in {n}, out {m}";
                    AssertClose("SmallGemm.BackwardInput " + where, dx.AsSpan(0, batch * n), edx, i => 1e-6 * tdx[i] + 1e-7);
                    AssertClose("SmallGemm.BackwardWeight " + where, dw.AsSpan(0, m * n), edw, i => 1e-6 * tdw[i] + 1e-7);
                    Assert.Equal(dw0[^1], dw[^1]);
                }
            }
        }
    }

    [Theory]
    [InlineData(32, 4, 10)]    // Iris hidden
    [InlineData(112, 10, 3)]   // Iris output
    [InlineData(1, 4, 10)]     // one row, narrow
    public void LinearKernels_send_narrow_layers_to_it(int batch, int n, int m)
    {
        if (!SmallGemm.IsSupported)
        {
            return; // no AVX/FMA: LinearKernels keeps the row kernels
        }
        Assert.False(LinearKernels.ForwardUsesGemm(batch, n, m));
        Assert.True(LinearKernels.ForwardUsesSmall(batch, n, m));
        Assert.True(LinearKernels.BackwardInputUsesSmall(batch, n, m));
        Assert.True(LinearKernels.BackwardWeightUsesSmall(batch, n, m));
        Assert.False(LinearKernels.ForwardUsesSmall(1, 1024, 1024));
    }

    [Fact]
    public void Repeated_calls_do_not_allocate()
    {
        const int batch = 32, n = 4, m = 10;
        float[] x = Normal(batch * n, 5), w = Normal(m * n, 6), b = Normal(m, 7), y = new float[batch * m];
        float[] dy = Normal(batch * m, 8), dx = new float[batch * n], dw = new float[m * n];
        void Step()
        {
            LinearKernels.Forward(x, w, b, y, batch, n, m, relu: true);
            LinearKernels.BackwardInput(dy, w, dx, batch, n, m);
            LinearKernels.BackwardWeight(dy, x, dw, batch, n, m);
        }
        Assert.Equal(0, Allocations.PerCall(Step, calls: 10));
    }
}
