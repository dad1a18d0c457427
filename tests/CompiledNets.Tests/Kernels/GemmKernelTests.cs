using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// The packed GEMM behind the large <see cref="LinearKernels"/> calls, in its three layouts, against float64
/// references at sizes that cross its register tile (8×32 or 6×16), its depth block (256) and its column block
/// (512), and through <see cref="LinearKernels"/> at sizes on both sides of the switch to it.
/// Tolerance: 1e-6 relative to <c>Σ|terms|</c> plus 1e-7, as for the row kernels.
/// </summary>
public sealed class GemmKernelTests
{
    /// <summary>batch, in, out: edges of MR (1, 7, 8, 9, 15, 17), NR (15, 16, 17, 31, 33, 63, 65), KC (255, 257, 520, 784), NC (513, 784), the 8×8 transposes (7, 8, 9).</summary>
    public static TheoryData<int, int, int> Sizes() => new()
    {
        { 1, 1, 1 }, { 1, 15, 17 }, { 7, 33, 9 }, { 8, 32, 32 }, { 9, 65, 31 }, { 15, 16, 63 }, { 16, 17, 64 },
        { 17, 63, 65 }, { 63, 64, 15 }, { 64, 65, 16 }, { 65, 255, 17 }, { 33, 257, 63 }, { 17, 784, 65 },
        { 255, 64, 33 }, { 257, 33, 64 }, { 40, 513, 40 }, { 24, 40, 513 }, { 9, 16, 784 }, { 256, 784, 10 },
        // 8×8 transposes in the packing (x, wᵀ, dy, dyᵀ) at 8 ± 1, and depths split into equal blocks (520 = 3 × 174, 784 = 4 × 196).
        { 8, 8, 8 }, { 9, 7, 9 }, { 16, 9, 17 }, { 8, 520, 40 }, { 23, 784, 41 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_matches_a_float64_reference(int batch, int n, int m)
    {
        ulong seed = (ulong)(batch * 1_000_000 + n * 1000 + m);
        float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), b = Normal(m, seed + 2);
        foreach (bool bias in new[] { true, false })
        {
            foreach (bool relu in new[] { false, true })
            {
                var y = Normal(batch * m, seed + 3); // garbage: must be overwritten
                Gemm.Forward(x, w, bias ? b : default, y, batch, n, m, relu);
                var (expected, bound) = LinearForwardReference(x, w, b, bias, relu, batch, n, m);
                AssertClose($"Gemm.Forward batch {batch}, in {n}, out {m}, bias {bias}, relu {relu}", y, expected, i => bound[i]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Backward_layouts_match_float64_references(int batch, int n, int m)
    {
        ulong seed = (ulong)(batch * 1_000_000 + n * 1000 + m) + 11;
        float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), dy = Normal(batch * m, seed + 2);
        float[] dx = Normal(batch * n, seed + 3);                               // overwritten
        float[] dw0 = Normal(m * n, seed + 4), dw = (float[])dw0.Clone();      // accumulated into
        Gemm.BackwardInput(dy, w, dx, batch, n, m);
        Gemm.BackwardWeight(dy, x, dw, batch, n, m);

        var edx = new double[batch * n];
        var tdx = new double[batch * n];
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < m; o++)
            {
                double g = dy[r * m + o];
                for (int k = 0; k < n; k++)
                {
                    double t = g * w[o * n + k];
                    edx[r * n + k] += t;
                    tdx[r * n + k] += Math.Abs(t);
                }
            }
        }
        var edw = dw0.Select(v => (double)v).ToArray();
        var tdw = dw0.Select(v => Math.Abs((double)v)).ToArray();
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < m; o++)
            {
                double g = dy[r * m + o];
                for (int k = 0; k < n; k++)
                {
                    double t = g * x[r * n + k];
                    edw[o * n + k] += t;
                    tdw[o * n + k] += Math.Abs(t);
                }
            }
        }
        string where = $"batch {batch}, in {n}, out {m}";
        AssertClose("Gemm.BackwardInput " + where, dx, edx, i => 1e-6 * tdx[i] + 1e-7);
        AssertClose("Gemm.BackwardWeight " + where, dw, edw, i => 1e-6 * tdw[i] + 1e-7);
    }

    [Theory]
    [InlineData(256, 784, 1024)]
    [InlineData(32, 64, 128)]
    [InlineData(16, 32, 32)]
    public void LinearKernels_take_the_gemm_path_at_large_sizes_and_agree_with_the_row_kernels(int batch, int n, int m)
    {
        if (Gemm.IsSupported)
        {
            Assert.True(LinearKernels.ForwardUsesGemm(batch, n, m));
            Assert.True(LinearKernels.BackwardInputUsesGemm(batch, n, m));
            Assert.True(LinearKernels.BackwardWeightUsesGemm(batch, n, m));
        }
        float[] x = Normal(batch * n, 1, 0.5), w = Normal(m * n, 2, 0.05), b = Normal(m, 3), dy = Normal(batch * m, 4);
        float[] y = new float[batch * m], yRows = new float[batch * m];
        LinearKernels.Forward(x, w, b, y, batch, n, m, relu: true);
        LinearKernels.ForwardRows(x, w, b, yRows, batch, n, m, relu: true);
        float[] dx = new float[batch * n], dxRows = new float[batch * n];
        LinearKernels.BackwardInput(dy, w, dx, batch, n, m);
        LinearKernels.BackwardInputRows(dy, w, dxRows, batch, n, m);
        float[] dw = new float[m * n], dwRows = new float[m * n];
        LinearKernels.BackwardWeight(dy, x, dw, batch, n, m);
        LinearKernels.BackwardWeightRows(dy, x, dwRows, batch, n, m);
        // Both paths are float32 sums of the same terms in different orders: within a few ulps of Σ|terms|.
        AssertClose("Forward", y, yRows.Select(v => (double)v).ToArray(), i => 1e-5 * Math.Max(1, Math.Abs(yRows[i])) * Math.Sqrt(n) / 8);
        AssertClose("BackwardInput", dx, dxRows.Select(v => (double)v).ToArray(), i => 1e-5 * Math.Sqrt(m));
        AssertClose("BackwardWeight", dw, dwRows.Select(v => (double)v).ToArray(), i => 1e-5 * Math.Sqrt(batch) * 4);
    }

    [Theory]
    [InlineData(112, 4, 10)]   // Iris
    [InlineData(32, 10, 3)]
    [InlineData(1, 1024, 1024)]
    [InlineData(32, 16, 16)]
    public void Small_or_thin_layers_keep_the_row_kernels(int batch, int n, int m)
    {
        Assert.False(LinearKernels.ForwardUsesGemm(batch, n, m));
        Assert.False(LinearKernels.BackwardInputUsesGemm(batch, n, m));
        Assert.False(LinearKernels.BackwardWeightUsesGemm(batch, n, m));
    }

    [Fact]
    public void Repeated_calls_do_not_allocate()
    {
        const int batch = 64, n = 300, m = 100;
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

    /// <summary>Sizes that split by rows (many slivers), by micro-panels (few rows), with a ragged last block.</summary>
    public static TheoryData<int, int, int, int> ThreadedSizes() => new()
    {
        { 256, 784, 1024, 2 }, { 9, 65, 600, 2 }, { 33, 300, 70, 3 }, { 1, 257, 513, 4 }, { 64, 40, 1030, 5 }, { 17, 513, 33, 2 },
        { 48, 200, 300, 8 }, { 40, 100, 90, 7 }, { 24, 520, 300, 2 }, { 257, 1030, 9, 3 },
    };

    [Theory]
    [MemberData(nameof(ThreadedSizes))]
    public void Results_are_bitwise_identical_on_one_and_on_several_threads(int batch, int n, int m, int threads)
    {
        ulong seed = (ulong)(batch * 1_000_000 + n * 1000 + m) + 29;
        float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), b = Normal(m, seed + 2), dy = Normal(batch * m, seed + 3);
        float[] dw0 = Normal(m * n, seed + 4);
        (float[] Y, float[] Dx, float[] Dw, int Used) Run(int t)
        {
            float[] y = new float[batch * m], dx = new float[batch * n], dw = (float[])dw0.Clone();
            int used = Gemm.Forward(x, w, b, y, batch, n, m, relu: true, threads: t);
            used = Math.Min(used, Gemm.BackwardInput(dy, w, dx, batch, n, m, threads: t));
            used = Math.Min(used, Gemm.BackwardWeight(dy, x, dw, batch, n, m, threads: t));
            return (y, dx, dw, used);
        }
        var one = Run(1);
        Assert.Equal(1, one.Used);
        // Another test may hold the worker pool (then a call runs on its own thread): retry until all three ran threaded.
        var many = Run(threads);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (many.Used != threads && clock.Elapsed.TotalSeconds < 60)
        {
            Thread.Sleep(2);
            many = Run(threads);
        }
        Assert.Equal(threads, many.Used);
        Assert.Equal(one.Y, many.Y);
        Assert.Equal(one.Dx, many.Dx);
        Assert.Equal(one.Dw, many.Dw);
        var (expected, bound) = LinearForwardReference(x, w, b, bias: true, relu: true, batch, n, m);
        AssertClose($"threaded forward batch {batch}, in {n}, out {m}", many.Y, expected, i => bound[i]);
    }

    [Fact]
    public void Threads_are_used_only_for_products_worth_them()
    {
        int saved = Threads.Count;
        try
        {
            Threads.Count = 4;
            Assert.Equal(1, Gemm.ThreadsFor(32, 128, 128));
            Assert.Equal(4, Gemm.ThreadsFor(256, 1024, 1024));
            Threads.Count = 1;
            Assert.Equal(1, Gemm.ThreadsFor(256, 1024, 1024));
        }
        finally
        {
            Threads.Count = saved;
        }
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Threads.Count = 0);
        Assert.Contains("between 1 and", ex.Message);
        Assert.Equal(saved, Threads.Count);
    }

    [Fact]
    public void Threaded_calls_do_not_allocate()
    {
        const int batch = 128, n = 300, m = 200;
        float[] x = Normal(batch * n, 5), w = Normal(m * n, 6), b = Normal(m, 7), y = new float[batch * m];
        float[] dy = Normal(batch * m, 8), dx = new float[batch * n], dw = new float[m * n];
        void Step()
        {
            Gemm.Forward(x, w, b, y, batch, n, m, relu: true, threads: 2);
            Gemm.BackwardInput(dy, w, dx, batch, n, m, threads: 2);
            Gemm.BackwardWeight(dy, x, dw, batch, n, m, threads: 2);
        }
        Assert.Equal(0, Allocations.PerCall(Step, calls: 10));
    }

    [Theory]
    [InlineData(40, 600, 530, 3)]
    [InlineData(17, 257, 70, 2)]
    public unsafe void A_weight_packed_once_gives_bitwise_the_same_forward_on_any_thread_count(int batch, int n, int m, int threads)
    {
        ulong seed = (ulong)(batch * 1_000_000 + n * 1000 + m) + 41;
        float[] x = Normal(batch * n, seed), w = Normal(m * n, seed + 1), b = Normal(m, seed + 2);
        float[] packed = new float[Gemm.PackedSize(n, m) + 16];
        float[] y = new float[batch * m], yPacked1 = new float[batch * m], yPackedN = new float[batch * m];
        fixed (float* wp = w, pp = packed)
        {
            Gemm.PackAllB(wp, 1, n, n, m, pp);
            Gemm.Forward(x, w, b, y, batch, n, m, relu: true, threads: 1);
            Gemm.Forward(x, w, b, yPacked1, batch, n, m, relu: true, threads: 1, packedW: (nint)pp);
            // Another test may hold the worker pool (then the call runs on its own thread): retry until threaded.
            int used = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (used != threads && clock.Elapsed.TotalSeconds < 60)
            {
                used = Gemm.Forward(x, w, b, yPackedN, batch, n, m, relu: true, threads: threads, packedW: (nint)pp);
                if (used != threads)
                {
                    Thread.Sleep(2);
                }
            }
            Assert.Equal(threads, used);
        }
        Assert.Equal(y, yPacked1);
        Assert.Equal(y, yPackedN);
    }
}
