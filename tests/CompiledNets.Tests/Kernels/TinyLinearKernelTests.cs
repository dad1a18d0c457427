using System.Reflection;
using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// The width-specialised narrow-layer kernels (<see cref="TinyLinearKernels"/>) against float64 references: every
/// width 1…32 on one side against the edges (1, 3, 4, 10, vector width 16 ± 1, 32) on the other, batches 0, 1, 2, 3,
/// 7, 8, 9, 15, 16, 17, 32, 33 (the staged last rows), with and without bias and ReLU, frozen weight or bias, guards
/// after every output; width 33 is refused. Tolerance: 1e-6 relative to <c>Σ|terms|</c> plus 1e-7.
/// </summary>
public sealed class TinyLinearKernelTests
{
    private static readonly int[] Batches = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 32, 33];
    private static readonly int[] Edges = [1, 3, 4, 10, 15, 16, 17, 32];

    /// <summary>The (in, out) pairs: all widths against the edges, both ways.</summary>
    public static IEnumerable<object[]> Pairs()
    {
        var pairs = new HashSet<(int, int)>();
        for (int n = 1; n <= TinyLinearKernels.MaxWidth; n++)
        {
            foreach (int e in Edges)
            {
                pairs.Add((n, e));
                pairs.Add((e, n));
            }
        }
        return pairs.OrderBy(p => p).Select(p => new object[] { p.Item1, p.Item2 });
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Kernels_match_float64_references(int n, int m)
    {
        var method = typeof(TinyLinearKernelTests).GetMethod(nameof(Check), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(Size(n), Size(m));
        try
        {
            method.Invoke(null, [n, m]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }

    private static Type Size(int n) => typeof(TinyLinearKernelTests).GetNestedType("W" + n)!;

    private static void Check<TIn, TOut>(int n, int m)
        where TIn : struct, ISize
        where TOut : struct, ISize
    {
        foreach (int batch in Batches)
        {
            ulong seed = (ulong)(batch * 10000 + n * 100 + m) + 11;
            float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), b = Normal(m, seed + 2), dy = Normal(batch * m, seed + 3);
            string where = $"batch {batch}, in {n}, out {m}";
            foreach (bool bias in new[] { true, false })
            {
                foreach (bool relu in new[] { false, true })
                {
                    var y = Normal(batch * m + 1, seed + 4); // garbage to overwrite, and a guard after the end
                    TinyLinearKernels.Forward<TIn, TOut>(x, w, bias ? b : default, y.AsSpan(0, batch * m), batch, relu);
                    var (expected, bound) = LinearForwardReference(x, w, b, bias, relu, batch, n, m);
                    AssertClose($"Forward {where}, bias {bias}, relu {relu}", y.AsSpan(0, batch * m), expected, i => bound[i]);
                    Assert.Equal(Normal(batch * m + 1, seed + 4)[^1], y[^1]);
                }
            }

            var dx = Normal(batch * n + 1, seed + 5);
            float dxGuard = dx[^1];
            TinyLinearKernels.BackwardInput<TIn, TOut>(dy, w, dx.AsSpan(0, batch * n), batch);
            float[] dw0 = Normal(m * n + 1, seed + 6), db0 = Normal(m + 1, seed + 7);
            foreach (var (weights, biases) in new[] { (true, true), (true, false), (false, true) })
            {
                float[] dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
                TinyLinearKernels.BackwardParameters<TIn, TOut>(dy, x, weights ? dw.AsSpan(0, m * n) : default, biases ? db.AsSpan(0, m) : default, batch);
                var edx = new double[batch * n];
                var tdx = new double[batch * n];
                var edw = dw0.Take(m * n).Select(v => (double)v).ToArray();
                var tdw = dw0.Take(m * n).Select(v => Math.Abs((double)v)).ToArray();
                var edb = db0.Take(m).Select(v => (double)v).ToArray();
                var tdb = db0.Take(m).Select(v => Math.Abs((double)v)).ToArray();
                for (int r = 0; r < batch; r++)
                {
                    for (int o = 0; o < m; o++)
                    {
                        double g = dy[r * m + o];
                        edb[o] += g;
                        tdb[o] += Math.Abs(g);
                        for (int k = 0; k < n; k++)
                        {
                            edx[r * n + k] += g * w[o * n + k];
                            tdx[r * n + k] += Math.Abs(g * w[o * n + k]);
                            edw[o * n + k] += g * x[r * n + k];
                            tdw[o * n + k] += Math.Abs(g * x[r * n + k]);
                        }
                    }
                }
                AssertClose("BackwardInput " + where, dx.AsSpan(0, batch * n), edx, i => 1e-6 * tdx[i] + 1e-7);
                if (weights)
                {
                    AssertClose("BackwardParameters dW " + where, dw.AsSpan(0, m * n), edw, i => 1e-6 * tdw[i] + 1e-7);
                }
                else
                {
                    Assert.Equal(dw0, dw); // frozen: untouched
                }
                if (biases)
                {
                    AssertClose("BackwardParameters db " + where, db.AsSpan(0, m), edb, i => 1e-6 * tdb[i] + 1e-7);
                }
                else
                {
                    Assert.Equal(db0, db);
                }
                Assert.Equal(dw0[^1], dw[^1]);
                Assert.Equal(db0[^1], db[^1]);
            }
            Assert.Equal(dxGuard, dx[^1]);
        }
    }

    [Fact]
    public void Widths_past_the_maximum_and_wrong_lengths_are_refused()
    {
        float[] x = new float[33], w = new float[33], y = new float[1];
        var e = Assert.Throws<ArgumentException>(() => TinyLinearKernels.Forward<W33, W1>(x, w, default, y, 1));
        Assert.Contains("1 … 32", e.Message);
        Assert.Throws<ArgumentException>(() => TinyLinearKernels.Forward<W4, W1>(new float[3], new float[4], default, new float[1], 1));
        Assert.Throws<ArgumentException>(() => TinyLinearKernels.Forward<W4, W2>(new float[4], new float[8], new float[3], new float[2], 1));
        Assert.Throws<ArgumentException>(() => TinyLinearKernels.BackwardInput<W4, W2>(new float[2], new float[8], new float[3], 1));
        var db = new float[3];
        Assert.Throws<ArgumentException>(() => TinyLinearKernels.BackwardParameters<W4, W2>(new float[2], new float[4], default, db, 1));
        Assert.Throws<ArgumentException>(() => TinyLinearKernels.BackwardParameters<W4, W2>(new float[2], new float[4], new float[7], default, 1));
        Assert.Equal(new float[3], db); // nothing written
    }

    [Fact]
    public void Repeated_calls_do_not_allocate()
    {
        const int batch = 32;
        float[] x = Normal(batch * 4, 5), w = Normal(40, 6), b = Normal(10, 7), y = new float[batch * 10];
        float[] dy = Normal(batch * 10, 8), dx = new float[batch * 4], dw = new float[40], db = new float[10];
        void Step()
        {
            TinyLinearKernels.Forward<W4, W10>(x, w, b, y, batch, relu: true);
            TinyLinearKernels.BackwardInput<W4, W10>(dy, w, dx, batch);
            TinyLinearKernels.BackwardParameters<W4, W10>(dy, x, dw, db, batch);
        }
        Assert.Equal(0, Allocations.PerCall(Step, calls: 10));
    }

    public struct W1 : ISize { public static int Value => 1; }

    public struct W2 : ISize { public static int Value => 2; }

    public struct W3 : ISize { public static int Value => 3; }

    public struct W4 : ISize { public static int Value => 4; }

    public struct W5 : ISize { public static int Value => 5; }

    public struct W6 : ISize { public static int Value => 6; }

    public struct W7 : ISize { public static int Value => 7; }

    public struct W8 : ISize { public static int Value => 8; }

    public struct W9 : ISize { public static int Value => 9; }

    public struct W10 : ISize { public static int Value => 10; }

    public struct W11 : ISize { public static int Value => 11; }

    public struct W12 : ISize { public static int Value => 12; }

    public struct W13 : ISize { public static int Value => 13; }

    public struct W14 : ISize { public static int Value => 14; }

    public struct W15 : ISize { public static int Value => 15; }

    public struct W16 : ISize { public static int Value => 16; }

    public struct W17 : ISize { public static int Value => 17; }

    public struct W18 : ISize { public static int Value => 18; }

    public struct W19 : ISize { public static int Value => 19; }

    public struct W20 : ISize { public static int Value => 20; }

    public struct W21 : ISize { public static int Value => 21; }

    public struct W22 : ISize { public static int Value => 22; }

    public struct W23 : ISize { public static int Value => 23; }

    public struct W24 : ISize { public static int Value => 24; }

    public struct W25 : ISize { public static int Value => 25; }

    public struct W26 : ISize { public static int Value => 26; }

    public struct W27 : ISize { public static int Value => 27; }

    public struct W28 : ISize { public static int Value => 28; }

    public struct W29 : ISize { public static int Value => 29; }

    public struct W30 : ISize { public static int Value => 30; }

    public struct W31 : ISize { public static int Value => 31; }

    public struct W32 : ISize { public static int Value => 32; }

    public struct W33 : ISize { public static int Value => 33; }
}
