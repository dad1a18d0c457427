using CompiledNets.Tests.Kernels;
using Xunit;
using Cpu = CompiledNets.Kernels.Cpu;
using Gpu = CompiledNets.Kernels.Gpu;

namespace CompiledNets.Tests.Devices;

// The kernels of custom forwards (Kernels/Gpu/ArithmeticKernels.Graph.cs, SoftmaxKernels.Rows.cs) against their CPU twins.
public sealed partial class GpuKernelParityTests
{
    /// <summary>(rows, features): empty, ones, odd widths up to 33, large logits.</summary>
    public static TheoryData<int, int, float> SoftmaxSizes => new()
    {
        { 0, 4, 1f }, { 1, 1, 1f }, { 3, 5, 1f }, { 7, 33, 3f }, { 2, 17, 40f }, { 33, 2, 1f },
    };

    [Theory]
    [MemberData(nameof(SoftmaxSizes))]
    public void Softmax_and_log_softmax_forward_and_backward_match_the_CPU(int rows, int features, float scale)
    {
        int n = rows * features;
        float[] x = KernelTestData.Normal(n, 11, scale), g = KernelTestData.Normal(n, 12);
        foreach (bool log in new[] { false, true })
        {
            var y = (float[])x.Clone();
            if (log)
            {
                Cpu.SoftmaxKernels.LogForward(y, rows, features);
            }
            else
            {
                Cpu.SoftmaxKernels.Forward(y, rows, features);
            }
            using var dy = _ctx.Upload<float>(x);
            if (log)
            {
                Gpu.SoftmaxKernels.LogForward(_ctx, dy, rows, features);
            }
            else
            {
                Gpu.SoftmaxKernels.Forward(_ctx, dy, rows, features);
            }
            // log-softmax sums |x − max| and log Σ: scale its bound by the row's largest magnitude
            var mag = Enumerable.Range(0, n).Select(i => log ? x.Skip(i / features * features).Take(features).Max(v => Math.Abs(v)) + 1.0 : 0.0).ToArray();
            AssertClose(log ? "log-softmax" : "softmax", dy.ToArray(), y, mag);

            var gc = (float[])g.Clone();
            if (log)
            {
                Cpu.SoftmaxKernels.LogBackward(gc, y, rows, features);
            }
            else
            {
                Cpu.SoftmaxKernels.Backward(gc, y, rows, features);
            }
            using var dg = _ctx.Upload<float>(g);
            using var dyc = _ctx.Upload<float>(y); // the CPU's output, so only the backward differs
            if (log)
            {
                Gpu.SoftmaxKernels.LogBackward(_ctx, dg, dyc, rows, features);
            }
            else
            {
                Gpu.SoftmaxKernels.Backward(_ctx, dg, dyc, rows, features);
            }
            var gmag = new double[n];
            for (int i = 0; i < n; i++)
            {
                int r0 = i / features * features;
                double sum = 0;
                for (int k = 0; k < features; k++)
                {
                    sum += log ? Math.Abs(g[r0 + k]) : Math.Abs(g[r0 + k] * y[r0 + k]);
                }
                gmag[i] = log ? Math.Abs(g[i]) + Math.Exp(y[i]) * sum : (Math.Abs(g[i]) + sum) * Math.Abs(y[i]);
            }
            AssertClose(log ? "log-softmax backward" : "softmax backward", dg.ToArray(), gc, gmag);
        }
    }

    [Fact]
    public void Elementwise_sums_products_affine_and_deliveries_match_the_CPU_at_every_length_to_33()
    {
        for (int n = 0; n <= 33; n++)
        {
            float[] a = KernelTestData.Normal(n, (ulong)(100 + n)), b = KernelTestData.Normal(n, (ulong)(200 + n)), d = KernelTestData.Normal(n, (ulong)(300 + n));
            using var da = _ctx.Upload<float>(a);
            using var db = _ctx.Upload<float>(b);
            using var dy = _ctx.Allocate<float>(n);
            var y = new float[n];
            var mag = a.Zip(b, (p, q) => (double)Math.Abs(p) + Math.Abs(q)).ToArray();
            Cpu.ArithmeticKernels.Add(a, b, y);
            Gpu.ArithmeticKernels.Add(_ctx, da, db, dy);
            AssertClose($"add n={n}", dy.ToArray(), y, mag);
            Cpu.ArithmeticKernels.Subtract(a, b, y);
            Gpu.ArithmeticKernels.Subtract(_ctx, da, db, dy);
            AssertClose($"subtract n={n}", dy.ToArray(), y, mag);
            Cpu.ArithmeticKernels.Multiply(a, b, y);
            Gpu.ArithmeticKernels.Multiply(_ctx, da, db, dy);
            AssertClose($"multiply n={n}", dy.ToArray(), y, null);
            foreach (var (scale, shift) in new[] { (1f, -0.1f), (0.5f, 0f), (-1f, 0f), (2f, -1f) })
            {
                Cpu.ArithmeticKernels.Affine(a, scale, shift, y);
                Gpu.ArithmeticKernels.Affine(_ctx, da, scale, shift, dy);
                AssertClose($"affine {scale}·x + {shift} n={n}", dy.ToArray(), y, a.Select(v => (double)Math.Abs(v * scale) + Math.Abs(shift)).ToArray());
            }
            Gpu.ArithmeticKernels.Add(_ctx, da, db, da); // in place: the output is the first input
            Cpu.ArithmeticKernels.Add(a, b, y);
            AssertClose($"add in place n={n}", da.ToArray(), y, mag);
            da.CopyFromHost(a);
            foreach (bool accumulate in new[] { false, true })
            {
                var dx = (float[])d.Clone();
                Cpu.ArithmeticKernels.DeliverProduct(a, b, dx, accumulate);
                using var ddx = _ctx.Upload<float>(d);
                Gpu.ArithmeticKernels.DeliverProduct(_ctx, da, db, ddx, accumulate);
                AssertClose($"deliver product accumulate={accumulate} n={n}", ddx.ToArray(), dx, a.Select((v, i) => (double)Math.Abs(v * b[i]) + Math.Abs(d[i])).ToArray());
            }
        }
    }

    [Theory]
    [InlineData(0, 3, 7, 2)]
    [InlineData(1, 1, 1, 0)]
    [InlineData(5, 3, 10, 7)]
    [InlineData(7, 33, 34, 1)]
    [InlineData(4, 6, 18, 6)]
    public void Cat_forward_and_backward_bands_match_the_CPU_bit_for_bit(int rows, int width, int wholeWidth, int offset)
    {
        float[] x = KernelTestData.Normal(rows * width, 21), whole = KernelTestData.Normal(rows * wholeWidth, 22), dx0 = KernelTestData.Normal(rows * width, 23);
        var y = (float[])whole.Clone();
        Cpu.ArithmeticKernels.CatForward(x, y, rows, width, wholeWidth, offset);
        using var dxs = _ctx.Upload<float>(x);
        using var dys = _ctx.Upload<float>(whole);
        Gpu.ArithmeticKernels.CatForward(_ctx, dxs, dys, rows, width, wholeWidth, offset);
        Assert.Equal(y, dys.ToArray()); // the other columns untouched
        foreach (bool accumulate in new[] { false, true })
        {
            var dx = (float[])dx0.Clone();
            Cpu.ArithmeticKernels.CatBackward(whole, dx, rows, width, wholeWidth, offset, accumulate);
            using var dg = _ctx.Upload<float>(whole);
            using var ddx = _ctx.Upload<float>(dx0);
            Gpu.ArithmeticKernels.CatBackward(_ctx, dg, ddx, rows, width, wholeWidth, offset, accumulate);
            Assert.Equal(dx, ddx.ToArray());
        }
        var e = Assert.Throws<ArgumentException>(() => Gpu.ArithmeticKernels.CatForward(_ctx, dxs, dys, rows, width, wholeWidth, wholeWidth - width + 1));
        Assert.Contains("does not fit", e.Message);
    }
}
