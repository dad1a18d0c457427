// The per-step overheads of issue 11: iris-step (batch 32 and 112) and infer-1 as compare.py times them, a phase
// breakdown (forward, loss, backward, step, zero_grad: the 10th percentile of each over 100,000 steps) and the generated
// ForwardBatch/BackwardBatch alone; "loss" times the cross-entropy against the previous per-row implementation in this
// process. Times are the 2nd percentile of ≈ 50 µs blocks, so that blocks a loaded machine preempted drop out.
using System.Diagnostics;
using CompiledNets;

[Model]
public partial class IrisNet
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear @out = new(10, 3);
}

public static class OldCe
{
    // The previous CrossEntropyLoss host path (forward + ComputeGrad, no weights/smoothing), for an in-process A/B.
    public static double Run(ReadOnlySpan<float> x, ReadOnlySpan<int> y, int batch, int classes, float[] probs, float[] elements, float[] grad)
    {
        for (int i = 0; i < x.Length; i++) if (!float.IsFinite(x[i])) throw new ArgumentException();
        double divisor = 0;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> row = x.Slice(r * classes, classes);
            Span<float> p = probs.AsSpan(r * classes, classes);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            System.Numerics.Tensors.TensorPrimitives.Subtract(row, max, p);
            System.Numerics.Tensors.TensorPrimitives.Exp(p, p);
            float sum = System.Numerics.Tensors.TensorPrimitives.Sum(p);
            float logSumExp = max + MathF.Log(sum);
            System.Numerics.Tensors.TensorPrimitives.Divide(p, sum, p);
            int label = y[r];
            divisor += 1f;
            elements[r] = (float)(logSumExp - row[label]);
        }
        float u = (float)(1 / divisor);
        for (int r = 0; r < batch; r++)
        {
            Span<float> g = grad.AsSpan(r * classes, classes);
            ReadOnlySpan<float> p = probs.AsSpan(r * classes, classes);
            System.Numerics.Tensors.TensorPrimitives.Multiply(p, u, g);
            g[y[r]] -= u;
        }
        return divisor;
    }
}

public static class Program
{
    static (Tensor, IntTensor) Data(int batch)
    {
        var rng = new Random(1234);
        var x = new float[batch * 4];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new int[batch];
        for (int i = 0; i < y.Length; i++) y[i] = rng.Next(3);
        return (Tensor.FromArray(x, batch, 4), IntTensor.FromArray(y));
    }

    static double Median(Action step, double seconds)
    {
        long w0 = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(w0).TotalSeconds < 0.3) step();
        int calls = 0; long t0 = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(t0).TotalSeconds < 50e-6) { step(); calls++; }
        var times = new List<double>();
        long start = Stopwatch.GetTimestamp();
        while (times.Count < 200 || Stopwatch.GetElapsedTime(start).TotalSeconds < seconds)
        {
            long s = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++) step();
            times.Add(Stopwatch.GetElapsedTime(s).TotalNanoseconds / calls);
        }
        times.Sort();
        return times[times.Count / 50];
    }

    public static void Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "all";
        double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1.0;
        Generator.Default.ManualSeed(42);
        var lossFn = new CrossEntropyLoss();
        { var (wx, wy) = Data(8); var wn = new IrisNet(); var wo = new Adam(wn.Parameters()); for (int i = 0; i < 20000; i++) { var l = lossFn.Forward(wn.Forward(wx), wy); l.Backward(); wo.Step(); wo.ZeroGrad(); } }
        if (mode == "step32" || mode == "infer")
        {
            var (x, y) = Data(mode == "infer" ? 1 : 32);
            var net = new IrisNet();
            var opt = new Adam(net.Parameters(), lr: 0f);
            if (mode == "infer") { net.Eval(); net.ReuseOutputView = true; }
            long t0 = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(t0).TotalSeconds < seconds)
            {
                for (int i = 0; i < 1000; i++)
                {
                    if (mode == "infer") { net.Forward(x); continue; }
                    var loss = lossFn.Forward(net.Forward(x), y); loss.Backward(); opt.Step(); opt.ZeroGrad();
                }
            }
            return;
        }
        if (mode == "loss")
        {
            foreach (int batch in new[] { 32, 112 })
            {
                var (x, y) = Data(batch);
                var net = new IrisNet();
                net.Train();
                var o = net.Forward(x);
                double lf = Median(() => lossFn.Forward(o, y), seconds);
                var logits = o.ToArray();
                var labels = y.ToArray();
                var rl = new float[batch]; var g = new float[batch * 3]; var sc = new float[2 * batch];
#if CE_KERNEL
                double k = Median(() => CompiledNets.Kernels.Cpu.SoftmaxKernels.CrossEntropy(logits, labels, batch, 3, default, -100, 0f, rl, g, sc), seconds);
#else
                double k = 0;
#endif
#if CE_KERNEL
                var probs = new float[batch * 3]; var grad2 = new float[batch * 3];
                for (int rep = 0; rep < 3; rep++)
                {
                    double oldT = Median(() => OldCe.Run(logits, labels, batch, 3, probs, rl, grad2), seconds);
                    double newT = Median(() => { double d = CompiledNets.Kernels.Cpu.SoftmaxKernels.CrossEntropy(logits, labels, batch, 3, default, -100, 0f, rl, g, sc); System.Numerics.Tensors.TensorPrimitives.Multiply(g, (float)(1 / d), grad2); }, seconds);
                    Console.WriteLine($"  A/B CE fwd+grad b{batch}: old {oldT:F0} ns, new {newT:F0} ns, ratio {oldT / newT:F2}");
                }
#endif
                double fin = Median(() => System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(logits), seconds);
                double exp = Median(() => System.Numerics.Tensors.TensorPrimitives.Exp(logits, g), seconds);
                Console.WriteLine($"b{batch}: loss.Forward {lf:F0} ns, kernel {k:F0}, IsFiniteAll {fin:F0}, Exp {exp:F0}");
            }
            return;
        }
        foreach (int batch in new[] { 32, 112 })
        {
            var (x, y) = Data(batch);
            var net = new IrisNet();
            var opt = new Adam(net.Parameters(), lr: 0f);
            net.Train();
            Action step = () => { var loss = lossFn.Forward(net.Forward(x), y); loss.Backward(); opt.Step(); opt.ZeroGrad(); };
            double total = Median(step, seconds);
            Console.WriteLine($"iris-step-{batch} total {total:F0} ns");
            if (mode == "all")
            {
                // Phase breakdown: timestamps between phases; the 10th percentile of each phase over many steps.
                int n = 100_000;
                var ph = new long[5][];
                for (int k = 0; k < 5; k++) ph[k] = new long[n];
                for (int rep = 0; rep < 2; rep++)
                {
                    for (int i = 0; i < n; i++)
                    {
                        long a = Stopwatch.GetTimestamp();
                        var o = net.Forward(x);
                        long b = Stopwatch.GetTimestamp();
                        var loss = lossFn.Forward(o, y);
                        long c = Stopwatch.GetTimestamp();
                        loss.Backward();
                        long d = Stopwatch.GetTimestamp();
                        opt.Step();
                        long e = Stopwatch.GetTimestamp();
                        opt.ZeroGrad();
                        long f = Stopwatch.GetTimestamp();
                        ph[0][i] = b - a; ph[1][i] = c - b; ph[2][i] = d - c; ph[3][i] = e - d; ph[4][i] = f - e;
                    }
                }
                double P(long[] t) { var c = (long[])t.Clone(); Array.Sort(c); return c[c.Length / 10] * 1e9 / Stopwatch.Frequency; }
                var empty = new long[n];
                for (int i = 0; i < n; i++) { long a = Stopwatch.GetTimestamp(); long b = Stopwatch.GetTimestamp(); empty[i] = b - a; }
                Console.WriteLine($"  phases ns (p10): forward {P(ph[0]):F0} loss {P(ph[1]):F0} backward {P(ph[2]):F0} step {P(ph[3]):F0} zero_grad {P(ph[4]):F0} (timestamp pair {P(empty):F0})");
                // Generated kernels alone.
                var seg = new ArraySegment<float>(x.ToArray());
                var gout = new ArraySegment<float>(new float[batch * 3]);
                double fb = Median(() => net.ForwardBatch(seg, batch), seconds / 2);
                double bb = Median(() => net.BackwardBatch(gout, default, batch), seconds / 2);
                Console.WriteLine($"  ForwardBatch {fb:F0} ns, BackwardBatch {bb:F0} ns");
                net.Forward(x); // restore state
            }
        }
        {
            var (x, _) = Data(1);
            var net = new IrisNet();
            net.Eval();
            net.ReuseOutputView = true;
            double t = Median(() => net.Forward(x), seconds);
            Console.WriteLine($"infer-1 total {t:F1} ns");
            if (mode == "all")
            {
                var seg = new ArraySegment<float>(x.ToArray());
                double fb = Median(() => net.ForwardBatch(seg, 1), seconds / 2);
                Console.WriteLine($"  ForwardBatch {fb:F1} ns");
            }
        }
    }
}
