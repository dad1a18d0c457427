using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;

namespace CompiledNets.Benchmarks.Compare;

/// <summary>
/// One workload of the three-way comparison (<c>compare.py</c>): the same names, sizes and step in every
/// framework's runner (this one, <c>TorchSharpWorkloads</c>, <c>pytorch_workloads.py</c>).
/// </summary>
/// <param name="Name">The row name, e.g. <c>iris-step</c>.</param>
/// <param name="Widths">Layer widths, input first.</param>
/// <param name="Dropout">Dropout(0.2) after the first ReLU.</param>
/// <param name="Batch">Rows per step.</param>
/// <param name="Train">A training step (forward, cross-entropy, backward, Adam, zero_grad) or an eval forward.</param>
/// <param name="AllThreads">All threads (else one).</param>
public sealed record Workload(string Name, int[] Widths, bool Dropout, int Batch, bool Train, bool AllThreads)
{
    /// <summary>Every workload of the issue's table, in its order.</summary>
    public static readonly Workload[] All =
    [
        new("iris-step", [4, 10, 3], true, 32, true, false),
        new("iris-step-112", [4, 10, 3], true, 112, true, false),
        new("digits-step", [64, 128, 64, 10], false, 64, true, false),
        new("mlp-large-1t", [784, 1024, 1024, 10], false, 256, true, false),
        new("mlp-large", [784, 1024, 1024, 10], false, 256, true, true),
        new("infer-large", [784, 1024, 1024, 10], false, 256, false, true),
        new("infer-1", [4, 10, 3], true, 1, false, false),
    ];

    /// <summary>Multiply-adds × 2 of one step: forward 1×, backward 2× (input and weight gradients; none into the input).</summary>
    public double Flops
    {
        get
        {
            double forward = 0, backward = 0;
            for (int i = 0; i + 1 < Widths.Length; i++)
            {
                double macs = (double)Batch * Widths[i] * Widths[i + 1];
                forward += macs;
                backward += i == 0 ? macs : 2 * macs;
            }
            return 2 * (Train ? forward + backward : forward);
        }
    }

    /// <summary>The same inputs in every framework: uniform in [-1, 1) and uniform labels from <c>Random(1234)</c>.</summary>
    public (float[] X, int[] Y) Data()
    {
        var rng = new Random(1234);
        var x = new float[Batch * Widths[0]];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        var y = new int[Batch];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = rng.Next(Widths[^1]);
        }
        return (x, y);
    }
}

/// <summary>The CompiledNets side of the three-way comparison, and the peak it is compared with.</summary>
public static class CompiledNetsWorkloads
{
    /// <summary>
    /// Builds the step of <paramref name="w"/>: the generated model, <see cref="CrossEntropyLoss"/>, <see cref="Adam"/>
    /// at learning rate 0 (the weights stay put, so every step costs the same; see the README).
    /// </summary>
    public static Action Build(Workload w)
    {
        Generator.Default.ManualSeed(42);
        var (xs, ys) = w.Data();
        var x = Tensor.FromArray(xs, w.Batch, w.Widths[0]);
        var y = IntTensor.FromArray(ys);
        var lossFn = new CrossEntropyLoss();
        return w.Widths[1] switch
        {
            10 => Make(new IrisNet(), n => n.Forward),
            128 => Make(new DigitsNet(), n => n.Forward),
            _ => Make(new LargeMlp(), n => n.Forward),
        };

        Action Make<T>(T net, Func<T, Func<Tensor, Tensor>> bind) where T : Module
        {
            var forward = bind(net);
            if (!w.Train)
            {
                net.Eval();
                net.ReuseOutputView = true; // an inference loop that uses each output before the next forward
                return () => forward(x);
            }
            var opt = new Adam(net.Parameters(), lr: 0f);
            net.Train();
            return () =>
            {
                var loss = lossFn.Forward(forward(x), y);
                loss.Backward();
                opt.Step();
                opt.ZeroGrad();
            };
        }
    }

    /// <summary>
    /// Times <paramref name="step"/>: warm-up, then blocks of calls for about <paramref name="seconds"/>; returns the
    /// median block's time per call (µs) and the managed bytes allocated per call. The warm-up (≥ 0.25 s, ≥ 3 calls)
    /// lets the JIT's tiering finish (run with <c>DOTNET_TC_CallCountingDelayMs=0</c>).
    /// </summary>
    public static (double Microseconds, double Bytes) Measure(Action step, double seconds)
    {
        long w0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3 || Stopwatch.GetElapsedTime(w0).TotalSeconds < Math.Min(0.25, seconds); i++)
        {
            step();
        }
        // Size a block to ≈ 1/20 of the budget.
        long t0 = Stopwatch.GetTimestamp();
        int calls = 0;
        while (Stopwatch.GetElapsedTime(t0).TotalSeconds < seconds / 20 || calls < 1)
        {
            step();
            calls++;
        }
        // Room for every block's time up front: the list's growth is the benchmark's allocation, not the step's, and
        // GetAllocatedBytesForCurrentThread would count it (it showed as 1–8 bytes per step on the large workloads).
        var times = new List<double>(4096);
        long bytes = 0, total = 0;
        long start = Stopwatch.GetTimestamp();
        while (times.Count < 5 || Stopwatch.GetElapsedTime(start).TotalSeconds < seconds)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            long s = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
            {
                step();
            }
            double perCall = Stopwatch.GetElapsedTime(s).TotalMicroseconds / calls;
            bytes += GC.GetAllocatedBytesForCurrentThread() - b0;
            times.Add(perCall); // outside the counted span, should it ever grow
            total += calls;
        }
        times.Sort();
        return (times[times.Count / 2], (double)bytes / total);
    }

    /// <summary>
    /// One core's single-precision FMA peak (GFLOP/s): 12 independent chains of Vector512 (or Vector256) FMAs, the
    /// best of five runs of ≈ 30 ms. The loop is a method of its own with no call inside, so that its accumulators
    /// stay in registers (around a call the JIT keeps vector locals on the stack).
    /// </summary>
    public static unsafe double PeakGflops()
    {
        float* buf = stackalloc float[16 * 12];
        for (int i = 0; i < 16 * 12; i++)
        {
            buf[i] = 1f + i * 1e-3f;
        }
        const int n = 16_000_000 / 12;
        double best = 0;
        for (int run = 0; run < 6; run++)
        {
            long t = Stopwatch.GetTimestamp();
            int lanes = Vector512.IsHardwareAccelerated ? FmaChains512(n, buf) : FmaChains256(n, buf);
            double seconds = Stopwatch.GetElapsedTime(t).TotalSeconds;
            best = Math.Max(best, (double)n * 12 * lanes * 2 / seconds / 1e9);
        }
        return best;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization
        | System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static unsafe int FmaChains512(int n, float* buf)
    {
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Load(buf), c1 = Vector512.Load(buf + 16), c2 = Vector512.Load(buf + 32),
            c3 = Vector512.Load(buf + 48), c4 = Vector512.Load(buf + 64), c5 = Vector512.Load(buf + 80),
            c6 = Vector512.Load(buf + 96), c7 = Vector512.Load(buf + 112), c8 = Vector512.Load(buf + 128),
            c9 = Vector512.Load(buf + 144), c10 = Vector512.Load(buf + 160), c11 = Vector512.Load(buf + 176);
        do
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }
        while (--n != 0);
        c0.Store(buf); c1.Store(buf + 16); c2.Store(buf + 32); c3.Store(buf + 48); c4.Store(buf + 64); c5.Store(buf + 80);
        c6.Store(buf + 96); c7.Store(buf + 112); c8.Store(buf + 128); c9.Store(buf + 144); c10.Store(buf + 160); c11.Store(buf + 176);
        return 16;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization
        | System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static unsafe int FmaChains256(int n, float* buf)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Load(buf), c1 = Vector256.Load(buf + 8), c2 = Vector256.Load(buf + 16),
            c3 = Vector256.Load(buf + 24), c4 = Vector256.Load(buf + 32), c5 = Vector256.Load(buf + 40),
            c6 = Vector256.Load(buf + 48), c7 = Vector256.Load(buf + 56), c8 = Vector256.Load(buf + 64),
            c9 = Vector256.Load(buf + 72), c10 = Vector256.Load(buf + 80), c11 = Vector256.Load(buf + 88);
        do
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        while (--n != 0);
        c0.Store(buf); c1.Store(buf + 8); c2.Store(buf + 16); c3.Store(buf + 24); c4.Store(buf + 32); c5.Store(buf + 40);
        c6.Store(buf + 48); c7.Store(buf + 56); c8.Store(buf + 64); c9.Store(buf + 72); c10.Store(buf + 80); c11.Store(buf + 88);
        return 8;
    }

    /// <summary>
    /// Runs the named workloads (all when empty) for <paramref name="seconds"/> each and prints one JSON line per
    /// workload (and one for the peak): what <c>compare.py</c> reads.
    /// </summary>
    public static void Run(IReadOnlyList<string> names, double seconds, int threads, bool peak, TextWriter output)
    {
        if (peak)
        {
            output.WriteLine(Json("peak", 1, PeakGflops(), 0, "gflops"));
        }
        foreach (var w in Workload.All)
        {
            if (names.Count > 0 && !names.Contains(w.Name))
            {
                continue;
            }
            Threads.Count = w.AllThreads ? threads : 1;
            var (us, bytes) = Measure(Build(w), seconds);
            output.WriteLine(Json(w.Name, Threads.Count, us, bytes, "us"));
        }
    }

    private static string Json(string workload, int threads, double value, double bytes, string unit) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{{\"fw\": \"CompiledNets\", \"workload\": \"{workload}\", \"threads\": {threads}, \"{unit}\": {value:R}, \"bytes\": {bytes:R}}}");
}
