using CompiledNets.Tests.Kernels;
using Xunit;
using Cpu = CompiledNets.Kernels.Cpu;
using Gpu = CompiledNets.Kernels.Gpu;

namespace CompiledNets.Tests.Devices;

/// <summary>
/// Every GPU kernel (<c>Kernels.Gpu</c>) on ILGPU's CPU accelerator against its CPU twin (<c>Kernels.Cpu</c>) at odd sizes
/// 1…33: equal to 1e-5 relative (to the value, or for sums to the sum of the absolute terms, which bounds the
/// rounding of any summation order), and dropout masks bit for bit.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed partial class GpuKernelParityTests(IlgpuCpuFixture fixture)
{
    private const double Rel = 1e-5;
    private readonly DeviceContext _ctx = fixture.Context;

    /// <summary>(batch, inFeatures, outFeatures): ones, primes, tile edges ± 1 and 33.</summary>
    public static TheoryData<int, int, int> LinearSizes => new()
    {
        { 1, 1, 1 }, { 3, 5, 7 }, { 17, 33, 9 }, { 33, 16, 31 }, { 2, 33, 1 }, { 8, 4, 33 }, { 5, 1, 12 },
    };

    [Theory]
    [MemberData(nameof(LinearSizes))]
    public void Linear_forward_with_bias_and_relu_matches_the_CPU(int batch, int inF, int outF)
    {
        float[] x = KernelTestData.Normal(batch * inF, 1), w = KernelTestData.Normal(outF * inF, 2), b = KernelTestData.Normal(outF, 3);
        using var dx = _ctx.Upload<float>(x);
        using var dw = _ctx.Upload<float>(w);
        using var db = _ctx.Upload<float>(b);
        using var dy = _ctx.Allocate<float>(batch * outF);
        double[] mag = ForwardMagnitude(x, w, b, batch, inF, outF);
        foreach (bool relu in new[] { false, true })
        {
            foreach (bool bias in new[] { false, true })
            {
                var y = new float[batch * outF];
                Cpu.LinearKernels.Forward(x, w, bias ? b : default, y, batch, inF, outF, relu);
                Gpu.LinearKernels.Forward(_ctx, dx, dw, bias ? db : default, dy, batch, inF, outF, relu);
                AssertClose($"forward relu={relu} bias={bias}", dy.ToArray(), y, mag);
            }
        }
    }

    [Theory]
    [MemberData(nameof(LinearSizes))]
    public void Linear_forward_with_fused_dropout_draws_the_CPUs_mask_bit_for_bit(int batch, int inF, int outF)
    {
        float[] x = KernelTestData.Normal(batch * inF, 4), w = KernelTestData.Normal(outF * inF, 5), b = KernelTestData.Normal(outF, 6);
        var key = new PhiloxKey(Seed: 1234, Stream: 2, Step: (ulong)(batch * 100 + outF));
        var y = new float[batch * outF];
        var mask = new float[batch * outF];
        Cpu.LinearKernels.Forward(x, w, b, y, batch, inF, outF, relu: true);
        Cpu.PhiloxDropoutKernels.Forward(y, mask, 0.3f, key);

        using var dx = _ctx.Upload<float>(x);
        using var dw = _ctx.Upload<float>(w);
        using var db = _ctx.Upload<float>(b);
        using var dy = _ctx.Allocate<float>(batch * outF);
        using var dmask = _ctx.Allocate<float>(batch * outF);
        Gpu.LinearKernels.ForwardDropout(_ctx, dx, dw, db, dy, dmask, batch, inF, outF, relu: true, 0.3f, key);
        Assert.Equal(mask.Select(BitConverter.SingleToInt32Bits), dmask.ToArray().Select(BitConverter.SingleToInt32Bits));
        double[] mag = ForwardMagnitude(x, w, b, batch, inF, outF);
        AssertClose("forward+dropout", dy.ToArray(), y, mag.Select((m, i) => m * mask[i]).ToArray());
    }

    [Theory]
    [MemberData(nameof(LinearSizes))]
    public void Linear_input_gradient_matches_the_CPU(int batch, int inF, int outF)
    {
        float[] g = KernelTestData.Normal(batch * outF, 7), w = KernelTestData.Normal(outF * inF, 8);
        var dx = new float[batch * inF];
        Cpu.LinearKernels.BackwardInput(g, w, dx, batch, inF, outF);
        using var dg = _ctx.Upload<float>(g);
        using var dw = _ctx.Upload<float>(w);
        using var ddx = _ctx.Upload<float>(KernelTestData.Normal(batch * inF, 9)); // overwritten, not added to
        Gpu.LinearKernels.BackwardInput(_ctx, dg, dw, ddx, batch, inF, outF);
        var mag = new double[batch * inF];
        for (int r = 0; r < batch; r++)
        {
            for (int k = 0; k < inF; k++)
            {
                for (int o = 0; o < outF; o++)
                {
                    mag[r * inF + k] += Math.Abs((double)g[r * outF + o] * w[o * inF + k]);
                }
            }
        }
        AssertClose("backward input", ddx.ToArray(), dx, mag);
    }

    [Theory]
    [MemberData(nameof(LinearSizes))]
    public void Linear_weight_and_bias_gradients_accumulate_as_on_the_CPU(int batch, int inF, int outF)
    {
        float[] g = KernelTestData.Normal(batch * outF, 10), x = KernelTestData.Normal(batch * inF, 11);
        float[] w0 = KernelTestData.Normal(outF * inF, 12), b0 = KernelTestData.Normal(outF, 13);
        float[] dwCpu = (float[])w0.Clone(), dbCpu = (float[])b0.Clone();
        Cpu.LinearKernels.BackwardWeight(g, x, dwCpu, batch, inF, outF);
        Cpu.LinearKernels.BackwardBias(g, dbCpu, batch, outF);

        using var dg = _ctx.Upload<float>(g);
        using var dx = _ctx.Upload<float>(x);
        using var dw = _ctx.Upload<float>(w0);
        using var db = _ctx.Upload<float>(b0);
        Gpu.LinearKernels.BackwardWeight(_ctx, dg, dx, dw, db, batch, inF, outF);
        var magW = new double[outF * inF];
        var magB = new double[outF];
        for (int o = 0; o < outF; o++)
        {
            magB[o] = Math.Abs(b0[o]);
            for (int r = 0; r < batch; r++)
            {
                magB[o] += Math.Abs(g[r * outF + o]);
            }
            for (int k = 0; k < inF; k++)
            {
                magW[o * inF + k] = Math.Abs(w0[o * inF + k]);
                for (int r = 0; r < batch; r++)
                {
                    magW[o * inF + k] += Math.Abs((double)g[r * outF + o] * x[r * inF + k]);
                }
            }
        }
        AssertClose("backward weight", dw.ToArray(), dwCpu, magW);
        AssertClose("backward bias", db.ToArray(), dbCpu, magB);

        // Without a bias the weight gradient is the same and nothing else is touched.
        using var dw2 = _ctx.Upload<float>(w0);
        Gpu.LinearKernels.BackwardWeight(_ctx, dg, dx, dw2, default, batch, inF, outF);
        AssertClose("backward weight, no bias", dw2.ToArray(), dwCpu, magW);
    }

    [Theory]
    [InlineData(64, 8)]
    [InlineData(256, 64)]
    public void Linear_kernels_match_the_CPU_with_GPU_sized_groups_and_tiles(int threads, int tile)
    {
        // The default CPU accelerator allows 16 threads per group (4×4 tiles); GPUs run the register-blocked 64×64
        // kernel with 256 threads. Simulate GPU-sized groups so that the kernel a GPU runs is tested here too.
        using var ctx = DeviceContext.CreateIlgpuCpu(threadsPerWarp: 8, warpsPerGroup: threads / 8);
        Assert.Equal(tile, Gpu.LinearKernels.TileSize(ctx));
        // 70×40→130 spans several 64×64 tiles and 16-deep steps; the simulator is too slow to run it with 8×8 tiles.
        var sizes = tile == 64 ? new[] { (17, 33, 9), (3, 5, 20), (70, 40, 130) } : new[] { (17, 33, 9), (3, 5, 20) };
        foreach (var (batch, inF, outF) in sizes)
        {
            float[] x = KernelTestData.Normal(batch * inF, 70), w = KernelTestData.Normal(outF * inF, 71), b = KernelTestData.Normal(outF, 72);
            float[] g = KernelTestData.Normal(batch * outF, 73);
            var y = new float[batch * outF];
            var gx = new float[batch * inF];
            var gw = new float[outF * inF];
            var gb = new float[outF];
            Cpu.LinearKernels.Forward(x, w, b, y, batch, inF, outF, relu: true);
            Cpu.LinearKernels.BackwardInput(g, w, gx, batch, inF, outF);
            Cpu.LinearKernels.BackwardWeight(g, x, gw, batch, inF, outF);
            Cpu.LinearKernels.BackwardBias(g, gb, batch, outF);
            using var dx = ctx.Upload<float>(x);
            using var dw = ctx.Upload<float>(w);
            using var db = ctx.Upload<float>(b);
            using var dg = ctx.Upload<float>(g);
            using var dy = ctx.Allocate<float>(batch * outF);
            using var dgx = ctx.Allocate<float>(batch * inF);
            using var dgw = ctx.Allocate<float>(outF * inF);
            using var dgb = ctx.Allocate<float>(outF);
            Gpu.LinearKernels.Forward(ctx, dx, dw, db, dy, batch, inF, outF, relu: true);
            Gpu.LinearKernels.BackwardInput(ctx, dg, dw, dgx, batch, inF, outF);
            Gpu.LinearKernels.BackwardWeight(ctx, dg, dx, dgw, dgb, batch, inF, outF);
            // Bounds: 1e-5 of the largest value of each result (its terms are of that order at these sizes).
            AssertClose($"forward tile {tile}", dy.ToArray(), y, Enumerable.Repeat(y.Max(Math.Abs) + 1.0, y.Length).ToArray());
            AssertClose($"input gradient tile {tile}", dgx.ToArray(), gx, Enumerable.Repeat(gx.Max(Math.Abs) + 1.0, gx.Length).ToArray());
            AssertClose($"weight gradient tile {tile}", dgw.ToArray(), gw, Enumerable.Repeat(gw.Max(Math.Abs) + 1.0, gw.Length).ToArray());
            AssertClose($"bias gradient tile {tile}", dgb.ToArray(), gb, Enumerable.Repeat(gb.Max(Math.Abs) + 1.0, gb.Length).ToArray());
        }
    }

    [Fact]
    public void Linear_kernels_reject_wrong_lengths_before_launching()
    {
        using var x = _ctx.Allocate<float>(6);
        using var w = _ctx.Allocate<float>(6);
        using var y = _ctx.Upload<float>([1f, 2f, 3f]);
        var e = Assert.Throws<ArgumentException>(() => Gpu.LinearKernels.Forward(_ctx, x, w, default, y, 2, 3, 2));
        Assert.Contains("y has 3 elements; expected 4", e.Message);
        Assert.Throws<ArgumentException>(() => Gpu.LinearKernels.Forward(_ctx, x, w, x, y.Slice(0, 2), 1, 3, 2));
        Assert.Throws<ArgumentException>(() => Gpu.LinearKernels.BackwardInput(_ctx, y, w, x, 2, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.LinearKernels.ForwardDropout(_ctx, x, w, default, x.Slice(0, 4), x.Slice(0, 4), 2, 3, 2, false, -0.1f, default));
        Assert.Equal([1f, 2f, 3f], y.ToArray());
    }

    public static TheoryData<int> Lengths => new() { 0, 1, 3, 4, 5, 17, 33 };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Activations_and_their_gradients_match_the_CPU(int n)
    {
        float[] x = KernelTestData.Normal(n, 20, scale: 3);
        if (n > 2)
        {
            x[0] = 0f;
            x[1] = -0f;
            x[2] = 0.3f; // the polynomial branch of tanh
        }
        float[] g = KernelTestData.Normal(n, 21);
        Check("relu", Cpu.ActivationKernels.Relu, Cpu.ActivationKernels.ReluBackward, Gpu.ActivationKernels.Relu, Gpu.ActivationKernels.ReluBackward);
        Check("sigmoid", Cpu.ActivationKernels.Sigmoid, Cpu.ActivationKernels.SigmoidBackward, Gpu.ActivationKernels.Sigmoid, Gpu.ActivationKernels.SigmoidBackward);
        Check("tanh", Cpu.ActivationKernels.Tanh, Cpu.ActivationKernels.TanhBackward, Gpu.ActivationKernels.Tanh, Gpu.ActivationKernels.TanhBackward);

        void Check(string name, SpanAction cpuF, SpanAction2 cpuB, Action<DeviceContext, DeviceSpan<float>> gpuF, Action<DeviceContext, DeviceSpan<float>, DeviceSpan<float>> gpuB)
        {
            float[] y = (float[])x.Clone();
            cpuF(y);
            float[] gy = (float[])g.Clone();
            cpuB(gy, y);
            using var dy = _ctx.Upload<float>(x);
            gpuF(_ctx, dy);
            float[] yGpu = dy.ToArray();
            AssertClose(name, yGpu, y, null);
            using var dg = _ctx.Upload<float>(g);
            using var dyCpu = _ctx.Upload<float>(y); // the same y on both sides isolates the backward
            gpuB(_ctx, dg, dyCpu);
            AssertClose(name + " backward", dg.ToArray(), gy, null);
        }
    }

    private delegate void SpanAction(Span<float> x);

    private delegate void SpanAction2(Span<float> g, ReadOnlySpan<float> y);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(7, 10)]
    [InlineData(33, 5)]
    public void Softmax_cross_entropy_gives_the_CPU_losss_value_and_input_gradient(int batch, int classes)
    {
        float[] logits = KernelTestData.Normal(batch * classes, 30, scale: 4);
        if (logits.Length > 1)
        {
            logits[0] = 80f; // large logits stay finite
        }
        int[] labels = Enumerable.Range(0, batch).Select(r => (r * 7 + 3) % classes).ToArray();
        var lossFn = new CrossEntropyLoss();
        float loss = lossFn.Forward(Tensor.FromArray(logits, batch, classes), IntTensor.FromArray(labels)).Item();
        float[] grad = lossFn.InputGrad.ToArray();

        using var dl = _ctx.Upload<float>(logits);
        using var dlab = _ctx.Upload<int>(labels);
        using var dg = _ctx.Allocate<float>(batch * classes);
        using var drow = _ctx.Allocate<float>(batch);
        Gpu.LossKernels.CrossEntropy(_ctx, dl, dlab, default, dg, drow, batch, classes, ignoreIndex: -100, labelSmoothing: 0f, totalWeight: classes);
        float gpuLoss = (float)(drow.ToArray().Sum(v => (double)v) / batch);
        Assert.True(Math.Abs(gpuLoss - loss) <= Rel * Math.Abs(loss) + 1e-6, $"loss {gpuLoss} vs {loss}");
        // The device kernel gives the gradient at upstream 1; the mean's 1/batch is applied at backward.
        AssertClose("cross-entropy gradient", dg.ToArray().Select(v => v / batch).ToArray(), grad, Enumerable.Repeat(1.0 / batch, grad.Length).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(100)]
    public void Adam_AdamW_and_SGD_take_20_steps_like_the_CPU(int n)
    {
        foreach (var (name, decoupled, wd) in new[] { ("Adam", false, 0f), ("Adam+L2", false, 0.1f), ("AdamW", true, 0.1f) })
        {
            float[] p = KernelTestData.Normal(n, 40), m = new float[n], v = new float[n];
            using var dp = _ctx.Upload<float>(p);
            using var dgr = _ctx.Allocate<float>(n);
            using var dm = _ctx.Allocate<float>(n);
            using var dv = _ctx.Allocate<float>(n);
            for (int step = 1; step <= 20; step++)
            {
                float[] grad = KernelTestData.Normal(n, (ulong)(100 + step));
                Cpu.OptimizerKernels.Adam(p, grad, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, wd, step, decoupled);
                dgr.CopyFromHost(grad);
                Gpu.OptimizerKernels.Adam(_ctx, dp, dgr, dm, dv, 0.01f, 0.9f, 0.999f, 1e-8f, wd, step, decoupled);
            }
            AssertClose(name + " p", dp.ToArray(), p, null);
            AssertClose(name + " m", dm.ToArray(), m, null);
            AssertClose(name + " v", dv.ToArray(), v, null);
        }
        foreach (var (name, momentum, dampening, nesterov) in new[] { ("SGD", 0f, 0f, false), ("momentum", 0.9f, 0.1f, false), ("nesterov", 0.9f, 0f, true) })
        {
            float[] p = KernelTestData.Normal(n, 50), buf = new float[n];
            using var dp = _ctx.Upload<float>(p);
            using var dgr = _ctx.Allocate<float>(n);
            using var dbuf = _ctx.Allocate<float>(momentum != 0f ? n : 0);
            for (int step = 1; step <= 20; step++)
            {
                float[] grad = KernelTestData.Normal(n, (ulong)(200 + step));
                Cpu.OptimizerKernels.Sgd(p, grad, buf, 0.05f, momentum, dampening, 0.01f, nesterov, step == 1);
                dgr.CopyFromHost(grad);
                Gpu.OptimizerKernels.Sgd(_ctx, dp, dgr, dbuf, 0.05f, momentum, dampening, 0.01f, nesterov, step == 1);
            }
            AssertClose(name + " p", dp.ToArray(), p, null);
        }
    }

    [Theory]
    [InlineData(0, 0.5f)]
    [InlineData(1, 0.5f)]
    [InlineData(5, 0.2f)]
    [InlineData(33, 0.7f)]
    [InlineData(1000, 0.1f)]
    [InlineData(17, 0f)]
    [InlineData(17, 1f)]
    public void Dropout_masks_are_bit_identical_on_CPU_and_accelerator(int n, float p)
    {
        var key = new PhiloxKey(Seed: 0xDEADBEEFCAFEUL, Stream: 3, Step: 12345678901UL);
        float[] x = KernelTestData.Normal(n, 60);
        float[] y = (float[])x.Clone(), mask = new float[n];
        Cpu.PhiloxDropoutKernels.Forward(y, mask, p, key);
        using var dx = _ctx.Upload<float>(x);
        using var dmask = _ctx.Allocate<float>(n);
        Gpu.DropoutKernels.Forward(_ctx, dx, dmask, p, key);
        Assert.Equal(mask.Select(BitConverter.SingleToInt32Bits), dmask.ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), dx.ToArray().Select(BitConverter.SingleToInt32Bits));

        // The gradients: g·mask, and the fused ReLU+dropout gradient.
        float[] g = KernelTestData.Normal(n, 61);
        float[] gd = (float[])g.Clone(), gr = (float[])g.Clone();
        Cpu.DropoutKernels.Backward(gd, mask);
        Cpu.DropoutKernels.ReluBackward(gr, mask, y);
        using var dg = _ctx.Upload<float>(g);
        Gpu.DropoutKernels.Backward(_ctx, dg, dmask);
        Assert.Equal(gd, dg.ToArray());
        dg.CopyFromHost(g);
        Gpu.DropoutKernels.ReluBackward(_ctx, dg, dmask, dx);
        Assert.Equal(gr, dg.ToArray());
    }

    /// <summary>Σ|x·w| + |b| per output: the scale of a forward value's rounding error.</summary>
    private static double[] ForwardMagnitude(float[] x, float[] w, float[] b, int batch, int inF, int outF)
    {
        var mag = new double[batch * outF];
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                double s = Math.Abs(b[o]);
                for (int k = 0; k < inF; k++)
                {
                    s += Math.Abs((double)x[r * inF + k] * w[o * inF + k]);
                }
                mag[r * outF + o] = s;
            }
        }
        return mag;
    }

    /// <summary><c>|gpu − cpu| ≤ 1e-5·max(|cpu|, magnitude) + 1e-30</c> element-wise, naming the first failure.</summary>
    private static void AssertClose(string what, float[] gpu, float[] cpu, double[]? magnitude)
    {
        Assert.Equal(cpu.Length, gpu.Length);
        for (int i = 0; i < cpu.Length; i++)
        {
            double err = Math.Abs((double)gpu[i] - cpu[i]);
            double bound = Rel * Math.Max(Math.Abs(cpu[i]), magnitude?[i] ?? 0) + 1e-30;
            if (!(err <= bound) && !(float.IsNaN(gpu[i]) && float.IsNaN(cpu[i])))
            {
                throw new Xunit.Sdk.XunitException($"{what}: [{i}] accelerator {gpu[i]:R}, CPU {cpu[i]:R}, error {err:E2} > {bound:E2}");
            }
        }
    }
}
