using System.Diagnostics;
using CompiledNets.Kernels.Gpu;
using Cpu = CompiledNets.Kernels.Cpu;
using Gpu = CompiledNets.Kernels.Gpu;

namespace CompiledNets.Samples.DeviceCheck;

/// <summary>
/// Runs every GPU kernel on a device and its CPU twin on the host with the same seeded inputs, and reports the
/// largest relative error (to the value, or for sums to the sum of absolute terms) or the number of differing mask bits.
/// </summary>
internal sealed class ParityChecks(DeviceContext ctx, TextWriter output)
{
    /// <summary>The bound every relative error must meet (as in the unit tests).</summary>
    public const double Tolerance = 1e-5;

    public int Failures { get; private set; }

    public int Checks { get; private set; }

    public void RunAll(bool large)
    {
        var sizes = new List<(int Batch, int In, int Out)> { (1, 1, 1), (3, 5, 7), (17, 33, 9), (33, 16, 31), (2, 33, 1), (8, 4, 33) };
        if (large)
        {
            sizes.AddRange([(256, 784, 1024), (256, 1024, 1024), (256, 1024, 10), (100, 4, 10), (1000, 64, 3)]);
        }
        foreach (var (b, i, o) in sizes)
        {
            Linear(b, i, o);
        }
        foreach (int n in large ? [1, 33, 1000, 1 << 20] : new[] { 1, 33, 1000 })
        {
            Activations(n);
            Dropout(n, 0.3f);
            Optimizers(n);
        }
        foreach (var (b, c) in large ? [(7, 10), (33, 5), (256, 10), (4096, 100)] : new[] { (7, 10), (33, 5) })
        {
            CrossEntropy(b, c);
        }
    }

    private void Linear(int batch, int inF, int outF)
    {
        string size = $"{batch}x{inF}x{outF}";
        float[] x = Data(batch * inF, 1), w = Data(outF * inF, 2), b = Data(outF, 3);
        using var dx = ctx.Upload<float>(x);
        using var dw = ctx.Upload<float>(w);
        using var db = ctx.Upload<float>(b);
        using var dy = ctx.Allocate<float>(batch * outF);
        using var dmask = ctx.Allocate<float>(batch * outF);

        var y = new float[batch * outF];
        Cpu.LinearKernels.Forward(x, w, b, y, batch, inF, outF, relu: true);
        var key = new PhiloxKey(7, 1, 42);
        float[] yDrop = (float[])y.Clone(), mask = new float[y.Length];
        Cpu.PhiloxDropoutKernels.Forward(yDrop, mask, 0.2f, key);
        double[] mag = new double[batch * outF];
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
        Gpu.LinearKernels.Forward(ctx, dx, dw, db, dy, batch, inF, outF, relu: true);
        Report($"linear forward+bias+relu {size}", Rel(dy.ToArray(), y, mag));
        Gpu.LinearKernels.ForwardDropout(ctx, dx, dw, db, dy, dmask, batch, inF, outF, relu: true, 0.2f, key);
        ReportBits($"linear forward dropout mask {size}", dmask.ToArray(), mask);
        Report($"linear forward+dropout {size}", Rel(dy.ToArray(), yDrop, mag.Select((m, i) => m * mask[i]).ToArray()));

        float[] g = Data(batch * outF, 4);
        using var dg = ctx.Upload<float>(g);
        var gx = new float[batch * inF];
        Cpu.LinearKernels.BackwardInput(g, w, gx, batch, inF, outF);
        Gpu.LinearKernels.BackwardInput(ctx, dg, dw, dx, batch, inF, outF);
        Report($"linear backward input {size}", Rel(dx.ToArray(), gx, AbsProducts(g, w, batch, inF, outF, input: true)));

        float[] gw = new float[outF * inF], gb = new float[outF];
        Cpu.LinearKernels.BackwardWeight(g, x, gw, batch, inF, outF);
        Cpu.LinearKernels.BackwardBias(g, gb, batch, outF);
        using var dx2 = ctx.Upload<float>(x);
        using var dgw = ctx.Allocate<float>(outF * inF);
        using var dgb = ctx.Allocate<float>(outF);
        Gpu.LinearKernels.BackwardWeight(ctx, dg, dx2, dgw, dgb, batch, inF, outF);
        Report($"linear backward weight {size}", Rel(dgw.ToArray(), gw, AbsProducts(g, x, batch, inF, outF, input: false)));
        Report($"linear backward bias {size}", Rel(dgb.ToArray(), gb, Enumerable.Range(0, outF).Select(o => Enumerable.Range(0, batch).Sum(r => (double)Math.Abs(g[r * outF + o]))).ToArray()));
    }

    private void Activations(int n)
    {
        float[] x = Data(n, 5, 3);
        float[] g = Data(n, 6);
        Activation<ReluActivation>("relu", n, x, g, Cpu.ActivationKernels.Relu, Cpu.ActivationKernels.ReluBackward);
        Activation<SigmoidActivation>("sigmoid", n, x, g, Cpu.ActivationKernels.Sigmoid, Cpu.ActivationKernels.SigmoidBackward);
        Activation<TanhActivation>("tanh", n, x, g, Cpu.ActivationKernels.Tanh, Cpu.ActivationKernels.TanhBackward);
    }

    private delegate void Forward(Span<float> x);

    private delegate void Backward(Span<float> g, ReadOnlySpan<float> y);

    private void Activation<TAct>(string name, int n, float[] x, float[] g, Forward cpuF, Backward cpuB) where TAct : struct, IGpuActivation
    {
        float[] y = (float[])x.Clone();
        cpuF(y);
        float[] gy = (float[])g.Clone();
        cpuB(gy, y);
        using var dx = ctx.Upload<float>(x);
        Gpu.ActivationKernels.Forward<TAct>(ctx, dx);
        Report($"{name} n={n}", Rel(dx.ToArray(), y, null));
        using var dg = ctx.Upload<float>(g);
        using var dy = ctx.Upload<float>(y);
        Gpu.ActivationKernels.Backward<TAct>(ctx, dg, dy);
        Report($"{name} backward n={n}", Rel(dg.ToArray(), gy, null));
    }

    private void Dropout(int n, float p)
    {
        var key = new PhiloxKey(0xC0FFEE, 2, 99);
        float[] x = Data(n, 7), y = (float[])x.Clone(), mask = new float[n];
        Cpu.PhiloxDropoutKernels.Forward(y, mask, p, key);
        using var dx = ctx.Upload<float>(x);
        using var dmask = ctx.Allocate<float>(n);
        Gpu.DropoutKernels.Forward(ctx, dx, dmask, p, key);
        ReportBits($"dropout mask n={n}", dmask.ToArray(), mask);
        ReportBits($"dropout output n={n}", dx.ToArray(), y);
    }

    private void Optimizers(int n)
    {
        foreach (var (name, decoupled) in new[] { ("adam", false), ("adamw", true) })
        {
            float[] p = Data(n, 8), m = new float[n], v = new float[n];
            using var dp = ctx.Upload<float>(p);
            using var dgr = ctx.Allocate<float>(n);
            using var dm = ctx.Allocate<float>(n);
            using var dv = ctx.Allocate<float>(n);
            for (int step = 1; step <= 20; step++)
            {
                float[] grad = Data(n, (ulong)(100 + step));
                Cpu.OptimizerKernels.Adam(p, grad, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, step, decoupled);
                dgr.CopyFromHost(grad);
                Gpu.OptimizerKernels.Adam(ctx, dp, dgr, dm, dv, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, step, decoupled);
            }
            Report($"{name} 20 steps n={n}", Rel(dp.ToArray(), p, null));
        }
        {
            float[] p = Data(n, 9), buf = new float[n];
            using var dp = ctx.Upload<float>(p);
            using var dgr = ctx.Allocate<float>(n);
            using var dbuf = ctx.Allocate<float>(n);
            for (int step = 1; step <= 20; step++)
            {
                float[] grad = Data(n, (ulong)(200 + step));
                Cpu.OptimizerKernels.Sgd(p, grad, buf, 0.05f, 0.9f, 0f, 0.01f, true, step == 1);
                dgr.CopyFromHost(grad);
                Gpu.OptimizerKernels.Sgd(ctx, dp, dgr, dbuf, 0.05f, 0.9f, 0f, 0.01f, true, step == 1);
            }
            Report($"sgd nesterov 20 steps n={n}", Rel(dp.ToArray(), p, null));
        }
    }

    private void CrossEntropy(int batch, int classes)
    {
        float[] logits = Data(batch * classes, 10, 4);
        int[] labels = Enumerable.Range(0, batch).Select(r => (r * 7 + 3) % classes).ToArray();
        // The CPU reference: softmax by the CPU kernel, then (p − onehot)/batch, as CrossEntropyLoss does.
        float[] probs = (float[])logits.Clone();
        Cpu.SoftmaxKernels.Forward(probs, batch, classes);
        float[] grad = (float[])probs.Clone(); // at upstream 1, as the device kernel gives it
        double loss = 0;
        for (int r = 0; r < batch; r++)
        {
            grad[r * classes + labels[r]] -= 1f;
            loss -= Math.Log(probs[r * classes + labels[r]]);
        }
        loss /= batch;
        using var dl = ctx.Upload<float>(logits);
        using var dlab = ctx.Upload<int>(labels);
        using var dg = ctx.Allocate<float>(batch * classes);
        using var drow = ctx.Allocate<float>(batch);
        Gpu.LossKernels.CrossEntropy(ctx, dl, dlab, default, dg, drow, batch, classes, ignoreIndex: -100, labelSmoothing: 0f, totalWeight: classes);
        double gpuLoss = drow.ToArray().Sum(v => (double)v) / batch;
        Report($"cross-entropy loss {batch}x{classes}", Math.Abs(gpuLoss - loss) / Math.Max(Math.Abs(loss), 1e-30));
        Report($"cross-entropy gradient {batch}x{classes}", Rel(dg.ToArray(), grad, Enumerable.Repeat(1.0, grad.Length).ToArray()));
    }

    /// <summary>Times the three GEMMs of a Linear layer's training step at <paramref name="batch"/>×<paramref name="inF"/>→<paramref name="outF"/>, device vs CPU kernels.</summary>
    public void Time(int batch, int inF, int outF, int repeats)
    {
        float[] x = Data(batch * inF, 11), w = Data(outF * inF, 12), b = Data(outF, 13), y = new float[batch * outF];
        float[] gx = new float[batch * inF], gw = new float[outF * inF], gb = new float[outF];
        using var dx = ctx.Upload<float>(x);
        using var dw = ctx.Upload<float>(w);
        using var db = ctx.Upload<float>(b);
        using var dy = ctx.Allocate<float>(batch * outF);
        using var dgx = ctx.Allocate<float>(batch * inF);
        using var dgw = ctx.Allocate<float>(outF * inF);
        using var dgb = ctx.Allocate<float>(outF);
        void Device()
        {
            Gpu.LinearKernels.Forward(ctx, dx, dw, db, dy, batch, inF, outF, relu: true);
            Gpu.LinearKernels.BackwardInput(ctx, dy, dw, dgx, batch, inF, outF);
            Gpu.LinearKernels.BackwardWeight(ctx, dy, dx, dgw, dgb, batch, inF, outF);
        }
        void Host()
        {
            Cpu.LinearKernels.Forward(x, w, b, y, batch, inF, outF, relu: true);
            Cpu.LinearKernels.BackwardInput(y, w, gx, batch, inF, outF);
            Cpu.LinearKernels.BackwardWeight(y, x, gw, batch, inF, outF);
            Cpu.LinearKernels.BackwardBias(y, gb, batch, outF);
        }
        Device();
        ctx.Synchronize();
        Host();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++)
        {
            Device();
        }
        ctx.Synchronize();
        double deviceMs = sw.Elapsed.TotalMilliseconds / repeats;
        sw.Restart();
        for (int i = 0; i < Math.Max(1, repeats / 10); i++)
        {
            Host();
        }
        double hostMs = sw.Elapsed.TotalMilliseconds / Math.Max(1, repeats / 10);
        double gflop = 3.0 * 2 * batch * inF * outF / 1e9;
        output.WriteLine($"  time linear fwd+bwd {batch}x{inF}x{outF}: {ctx.Device} {deviceMs:F3} ms ({gflop / deviceMs * 1e3:F0} GFLOP/s), CPU kernels {hostMs:F3} ms ({gflop / hostMs * 1e3:F1} GFLOP/s)");
    }

    private static double[] AbsProducts(float[] g, float[] other, int batch, int inF, int outF, bool input)
    {
        // input: Σₒ |g[r,o]·w[o,k]| per (r,k); weight: Σᵣ |g[r,o]·x[r,k]| per (o,k).
        var mag = new double[input ? batch * inF : outF * inF];
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                double go = Math.Abs(g[r * outF + o]);
                for (int k = 0; k < inF; k++)
                {
                    if (input)
                    {
                        mag[r * inF + k] += go * Math.Abs(other[o * inF + k]);
                    }
                    else
                    {
                        mag[o * inF + k] += go * Math.Abs(other[r * inF + k]);
                    }
                }
            }
        }
        return mag;
    }

    private static double Rel(float[] device, float[] host, double[]? magnitude)
    {
        double worst = 0;
        for (int i = 0; i < host.Length; i++)
        {
            if (float.IsNaN(device[i]) != float.IsNaN(host[i]))
            {
                return double.PositiveInfinity;
            }
            double err = Math.Abs((double)device[i] - host[i]);
            double scale = Math.Max(Math.Abs(host[i]), magnitude?[i] ?? 0);
            worst = Math.Max(worst, err == 0 ? 0 : err / Math.Max(scale, 1e-30));
        }
        return worst;
    }

    private void Report(string name, double relError)
    {
        Checks++;
        bool ok = relError <= Tolerance;
        Failures += ok ? 0 : 1;
        output.WriteLine($"  {(ok ? "ok  " : "FAIL")} {name,-44} max rel err {relError:E2}");
    }

    private void ReportBits(string name, float[] device, float[] host)
    {
        Checks++;
        int differ = 0;
        for (int i = 0; i < host.Length; i++)
        {
            differ += BitConverter.SingleToInt32Bits(device[i]) != BitConverter.SingleToInt32Bits(host[i]) ? 1 : 0;
        }
        Failures += differ == 0 ? 0 : 1;
        output.WriteLine($"  {(differ == 0 ? "ok  " : "FAIL")} {name,-44} {differ} of {host.Length} values differ in bits");
    }

    private static float[] Data(int n, ulong seed, double scale = 1)
    {
        var g = new Generator(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(scale * g.NextNormal());
        }
        return a;
    }
}
